// AVX2 dot products of quantized weight rows with 8-bit quantized activation rows, one per
// weight format. Each mirrors the scalar reference (formats/*): an exact integer dot per
// block, then the block's float scales.
#include <immintrin.h>

#include "qforge/core/fp16.h"
#include "qforge/formats/blocks.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx2 {

namespace {

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 16 bytes of packed nibbles -> 32 bytes: low nibbles (values 0-15) then high nibbles.
inline __m256i UnpackNibbles(const uint8_t* p) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Sum of u8 x s8 products as 8 int32 lanes.
inline __m256i DotU8S8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Sum of s8 x s8 products: |x| * (y with x's sign) keeps maddubs' unsigned operand valid.
inline __m256i DotS8S8(__m256i x, __m256i y) {
  return DotU8S8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

inline __m256i Load32(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

}  // namespace

float VecDotQ8_0(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockQ8_0*>(wp);
  const auto* a = static_cast<const BlockQ8_0*>(ap);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(a[b].d));
    const __m256i dot = DotS8S8(Load32(w[b].qs), Load32(a[b].qs));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), acc);
  }
  return HorizontalSum(acc);
}

float VecDotQ4_1(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockQ4_1*>(wp);
  const auto* a = static_cast<const BlockQ8_1*>(ap);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0.0f;
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float dw = _cvtsh_ss(w[b].d);
    const float da = _cvtsh_ss(a[b].d);
    mins += _cvtsh_ss(w[b].m) * _cvtsh_ss(a[b].s);
    const __m256i dot = DotU8S8(UnpackNibbles(w[b].qs), Load32(a[b].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * da), _mm256_cvtepi32_ps(dot), acc);
  }
  return HorizontalSum(acc) + mins;
}

}  // namespace qforge::avx2
