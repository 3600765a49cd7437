// Declarations of the per-ISA kernels. Each ISA's functions live in files compiled with that
// ISA's flags (avx2_*.cpp, avx512_*.cpp) and are only called after kernels/dispatch.cpp has
// checked the CPU supports them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qforge {

// The weight formats with integer SIMD kernels, one list for every place that names them:
// X(T) is expanded for each (declarations below, definitions in int_dot_kernels.inc, the
// dispatch switch in kernels/dispatch.cpp).
#define QF_INTEGER_FORMATS(X) \
  X(Q8_0) X(Q4_0) X(Q4_1) X(Q5_0) X(Q5_1) X(IQ4_NL) X(Q2_K) X(Q3_K) X(Q4_K) X(Q5_K) X(Q6_K) X(IQ4_XS)

// Per integer format T: VecDotT (one weight row with one activation row) and VecDot4T (with
// four activation rows `stride` bytes apart).
#define QF_DECLARE_INTEGER_KERNELS(T)                           \
  float VecDot##T(int64_t n, const void* w, const void* a); \
  void VecDot4##T(int64_t n, const void* w, const void* a, size_t stride, float* out);

#define QF_DECLARE_ISA_KERNELS(ns)                                                   \
  namespace ns {                                                                      \
  float VecDotF32(int64_t n, const void* w, const void* a);                           \
  float VecDotF16(int64_t n, const void* w, const void* a);                           \
  float VecDotBF16(int64_t n, const void* w, const void* a);                          \
  QF_INTEGER_FORMATS(QF_DECLARE_INTEGER_KERNELS)                                      \
  }

QF_DECLARE_ISA_KERNELS(avx2)

// The formats with interleaved-group kernels (kernels/interleaved.h), AVX2 and AVX-512 VNNI.
#define QF_INTERLEAVED_FORMATS(X) X(Q4_0) X(Q4_1) X(Q5_0) X(Q5_1) X(Q8_0)

// F16 weight row with four F16 activation rows, or the same widened to float, per ISA, and
// the widening of float activations (rounded through half precision).
#define QF_DECLARE_F16_ROWS_KERNELS                                                       \
  void VecDot4F16(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  float VecDotF16Widened(int64_t n, const void* w, const void* a);                      \
  void VecDot4F16Widened(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  void WidenThroughF16(const float* x, float* out, int64_t n);
namespace avx2 {
QF_DECLARE_F16_ROWS_KERNELS
}  // namespace avx2
namespace avx512 {
QF_DECLARE_F16_ROWS_KERNELS
// kF16TileRows weight rows with four widened activation rows (dispatch.h's F16TileFn): 24
// accumulators of AVX-512's 32 registers. AVX2's 16 registers hold one weight row's eight.
inline constexpr int kF16TileRows = 3;
void TileF16Widened(int64_t n, const void* w, size_t w_stride, const void* a, size_t a_stride, float* out);
}  // namespace avx512
#undef QF_DECLARE_F16_ROWS_KERNELS

// Interleaved groups of eight weight rows with one or four activation rows, per ISA.
#define QF_DECLARE_INTERLEAVED_KERNELS(T)                                                                        \
  void Interleaved##T##x1(int64_t n, const uint8_t* g, const uint8_t* a, size_t as, const int16_t* bs, size_t ss, \
                          float* y, int64_t ldy);                                                                \
  void Interleaved##T##x4(int64_t n, const uint8_t* g, const uint8_t* a, size_t as, const int16_t* bs, size_t ss, \
                          float* y, int64_t ldy);
namespace avx2 {
QF_INTERLEAVED_FORMATS(QF_DECLARE_INTERLEAVED_KERNELS)
}  // namespace avx2
namespace avx512 {
QF_INTERLEAVED_FORMATS(QF_DECLARE_INTERLEAVED_KERNELS)
}  // namespace avx512
#undef QF_DECLARE_INTERLEAVED_KERNELS

namespace avx2 {  // activation rows to Q8_0, Q8_1, Q8_K, bytes identical to formats/ (dispatch.h)
void QuantizeRowQ8_0(const float* x, void* dst, int64_t n, const float* unused);
void QuantizeRowQ8_0WithSums(const float* x, void* dst, int64_t n, int16_t* sums);
void QuantizeRowQ8_1(const float* x, void* dst, int64_t n, const float* unused);
void QuantizeRowQ8_K(const float* x, void* dst, int64_t n, const float* unused);
}  // namespace avx2

namespace avx2 {  // element-wise operations (kernels/ops.h)
void SwiGlu(float* gate, const float* up, int64_t n);
}  // namespace avx2

// Attention loops (kernels/attention.h); ExpSum and ConvertF32ToF16 serve AVX-512 too.
#define QF_DECLARE_ATTENTION_KERNELS                                                                         \
  void AttentionScores(const float* q, int n_q, int hd, const uint16_t* kt, size_t kt_stride, int n_keys, \
                       float scale, float* scores);                                                         \
  float RowMax(const float* p, int n);                                                                      \
  void WeightedValues(const float* p, int n_q, int n_keys, const uint16_t* v, size_t v_stride, int hdv, float* out);
namespace avx2 {
QF_DECLARE_ATTENTION_KERNELS
void ConvertF32ToF16(const float* x, uint16_t* out, int64_t n);
float ExpSum(float* p, int n, float max);
}  // namespace avx2
namespace avx512 {
QF_DECLARE_ATTENTION_KERNELS
}  // namespace avx512
#undef QF_DECLARE_ATTENTION_KERNELS
QF_DECLARE_ISA_KERNELS(avx512)

#undef QF_DECLARE_ISA_KERNELS
#undef QF_DECLARE_INTEGER_KERNELS

}  // namespace qforge
