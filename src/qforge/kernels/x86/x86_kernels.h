// Declarations of the per-ISA kernels. Each ISA's functions live in files compiled with that
// ISA's flags (avx2_*.cpp, avx512_*.cpp) and are only called after kernels/dispatch.cpp has
// checked the CPU supports them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qforge {

#define QF_DECLARE_ISA_KERNELS(ns)                                                   \
  namespace ns {                                                                      \
  float VecDotF32(int64_t n, const void* w, const void* a);                           \
  float VecDotF16(int64_t n, const void* w, const void* a);                           \
  float VecDotBF16(int64_t n, const void* w, const void* a);                          \
  float VecDotQ8_0(int64_t n, const void* w, const void* a);                          \
  float VecDotQ4_0(int64_t n, const void* w, const void* a);                          \
  float VecDotQ4_1(int64_t n, const void* w, const void* a);                          \
  float VecDotQ5_0(int64_t n, const void* w, const void* a);                          \
  float VecDotQ5_1(int64_t n, const void* w, const void* a);                          \
  float VecDotIQ4_NL(int64_t n, const void* w, const void* a);                        \
  float VecDotQ2_K(int64_t n, const void* w, const void* a);                          \
  float VecDotQ3_K(int64_t n, const void* w, const void* a);                          \
  float VecDotQ4_K(int64_t n, const void* w, const void* a);                          \
  float VecDotQ5_K(int64_t n, const void* w, const void* a);                          \
  float VecDotQ6_K(int64_t n, const void* w, const void* a);                          \
  float VecDotIQ4_XS(int64_t n, const void* w, const void* a);                        \
  /* one weight row with four activation rows `stride` bytes apart */                 \
  void VecDot4Q8_0(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  void VecDot4Q4_0(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  void VecDot4Q4_1(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  void VecDot4Q5_0(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  void VecDot4Q5_1(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  void VecDot4IQ4_NL(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  void VecDot4Q2_K(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  void VecDot4Q3_K(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  void VecDot4Q4_K(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  void VecDot4Q5_K(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  void VecDot4Q6_K(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  void VecDot4IQ4_XS(int64_t n, const void* w, const void* a, size_t stride, float* out); \
  }

QF_DECLARE_ISA_KERNELS(avx2)

namespace avx2 {  // attention loops (kernels/attention.h)
void ConvertF32ToF16(const float* x, uint16_t* out, int64_t n);
void AttentionScores(const float* q, int n_q, int hd, const uint16_t* k, size_t k_stride, int n_keys, float scale,
                     float* scores);
float ExpSum(float* p, int n, float max);
void WeightedValues(const float* p, int n_q, int n_keys, const uint16_t* v, size_t v_stride, int hdv, float* out);
}  // namespace avx2
QF_DECLARE_ISA_KERNELS(avx512)

#undef QF_DECLARE_ISA_KERNELS

}  // namespace qforge
