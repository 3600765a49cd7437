// AVX-512 (F/BW/VL/DQ) kernels for float, half and bfloat16 rows.
#include <immintrin.h>

#include <type_traits>

#include "qforge/core/fp16.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx512 {

namespace {
inline __m512 LoadHalf16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline __m512 LoadBf16x16(const uint16_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
// Mask with the low `n` (< 16) lanes set, for tails handled in the same vector path.
inline __mmask16 TailMask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1); }
}  // namespace

float VecDotF32(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const float*>(wp);
  const auto* a = static_cast<const float*>(ap);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(a + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 16), _mm512_loadu_ps(a + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(a + i), acc0);
  if (i < n) {
    const __mmask16 m = TailMask(n - i);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + i), _mm512_maskz_loadu_ps(m, a + i), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

namespace {
// The vector operations f16_rows.inc is written in.
struct F16Vec {
  using V = __m512;
  static constexpr int kLanes = 16;
  static V Zero() { return _mm512_setzero_ps(); }
  static V LoadHalf(const uint16_t* p) { return LoadHalf16(p); }
  static V LoadFloat(const float* p) { return _mm512_loadu_ps(p); }
  static void StoreFloat(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V RoundToHalf(V v) { return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }
  static V Fma(V a, V b, V acc) { return _mm512_fmadd_ps(a, b, acc); }
  static float Sum(V a, V b) { return _mm512_reduce_add_ps(_mm512_add_ps(a, b)); }
};
}  // namespace

#include "qforge/kernels/x86/f16_rows.inc"

void TileF16Widened(int64_t n, const void* wp, size_t w_stride, const void* ap, size_t a_stride, float* out) {
  TileF16<kF16TileRows, 4, true>(n, wp, w_stride, ap, a_stride, out);
}

float VecDotBF16(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const uint16_t*>(wp);
  const auto* a = static_cast<const uint16_t*>(ap);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(LoadBf16x16(w + i), LoadBf16x16(a + i), acc0);
    acc1 = _mm512_fmadd_ps(LoadBf16x16(w + i + 16), LoadBf16x16(a + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(LoadBf16x16(w + i), LoadBf16x16(a + i), acc0);
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += Bf16ToFp32(w[i]) * Bf16ToFp32(a[i]);
  return sum;
}

}  // namespace qforge::avx512
