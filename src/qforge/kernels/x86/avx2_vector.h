// Small AVX2 + F16C helpers shared by the AVX2 float and attention kernels. Include only from
// files compiled with the AVX2 flags (avx2_*.cpp).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace qforge::avx2 {

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Eight half-precision values widened to floats.
inline __m256 LoadHalf8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

}  // namespace qforge::avx2
