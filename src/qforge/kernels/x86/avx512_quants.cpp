// AVX-512 VNNI dot products of quantized weight rows with 8-bit activation rows. The 256-bit
// forms of VPDPBUSD (AVX512VL) keep one 32-value block per register, which matches the block
// layouts; only called on CPUs with AVX512_VNNI (kernels/dispatch.cpp).
#include <immintrin.h>

#include "qforge/core/fp16.h"
#include "qforge/formats/blocks.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx512 {

namespace {

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256i UnpackNibbles(const uint8_t* p) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

inline __m256i Load32(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// Sum of s8 x s8 products in 8 int32 lanes: VPDPBUSD needs an unsigned first operand.
inline __m256i DotS8S8(__m256i x, __m256i y) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

}  // namespace

float VecDotQ8_0(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockQ8_0*>(wp);
  const auto* a = static_cast<const BlockQ8_0*>(ap);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  const int64_t nb = n / kQK;
  int64_t b = 0;
  for (; b + 1 < nb; b += 2) {
    const __m256i d0 = DotS8S8(Load32(w[b].qs), Load32(a[b].qs));
    const __m256i d1 = DotS8S8(Load32(w[b + 1].qs), Load32(a[b + 1].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(a[b].d)), _mm256_cvtepi32_ps(d0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b + 1].d) * _cvtsh_ss(a[b + 1].d)), _mm256_cvtepi32_ps(d1), acc1);
  }
  for (; b < nb; ++b) {
    const __m256i d0 = DotS8S8(Load32(w[b].qs), Load32(a[b].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(a[b].d)), _mm256_cvtepi32_ps(d0), acc0);
  }
  return HorizontalSum(_mm256_add_ps(acc0, acc1));
}

float VecDotQ4_1(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockQ4_1*>(wp);
  const auto* a = static_cast<const BlockQ8_1*>(ap);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0.0f;
  for (int64_t b = 0; b < n / kQK; ++b) {
    mins += _cvtsh_ss(w[b].m) * _cvtsh_ss(a[b].s);
    const __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), UnpackNibbles(w[b].qs), Load32(a[b].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(a[b].d)), _mm256_cvtepi32_ps(dot), acc);
  }
  return HorizontalSum(acc) + mins;
}

}  // namespace qforge::avx512
