// AVX2 + FMA + F16C kernels for float, half and bfloat16 rows.
#include <immintrin.h>

#include <type_traits>

#include "qforge/core/fp16.h"
#include "qforge/kernels/x86/avx2_vector.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx2 {

namespace {
inline __m256 LoadBf16x8(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
}  // namespace

float VecDotF32(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const float*>(wp);
  const auto* a = static_cast<const float*>(ap);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(a + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(a + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(a + i), acc0);
  float sum = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += w[i] * a[i];
  return sum;
}

namespace {
// The vector operations f16_rows.inc is written in.
struct F16Vec {
  using V = __m256;
  static constexpr int kLanes = 8;
  static V Zero() { return _mm256_setzero_ps(); }
  static V LoadHalf(const uint16_t* p) { return LoadHalf8(p); }
  static V LoadFloat(const float* p) { return _mm256_loadu_ps(p); }
  static void StoreFloat(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V RoundToHalf(V v) { return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }
  static V Fma(V a, V b, V acc) { return _mm256_fmadd_ps(a, b, acc); }
  static float Sum(V a, V b) { return HorizontalSum(_mm256_add_ps(a, b)); }
};
}  // namespace

#include "qforge/kernels/x86/f16_rows.inc"

float VecDotBF16(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const uint16_t*>(wp);
  const auto* a = static_cast<const uint16_t*>(ap);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(LoadBf16x8(w + i), LoadBf16x8(a + i), acc0);
    acc1 = _mm256_fmadd_ps(LoadBf16x8(w + i + 8), LoadBf16x8(a + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(LoadBf16x8(w + i), LoadBf16x8(a + i), acc0);
  float sum = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += Bf16ToFp32(w[i]) * Bf16ToFp32(a[i]);
  return sum;
}

void ConvertF32ToF16(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = Fp32ToFp16(x[i]);
}

}  // namespace qforge::avx2
