// Element-wise operations of the forward pass with AVX2 (kernels/ops.h).
#include <immintrin.h>

#include "qforge/kernels/x86/avx2_vector.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx2 {

namespace {

// SiLU(g) * u for eight values. e^-|g| keeps the exponential's argument non-positive: the
// sigmoid is 1 / (1 + e) for g >= 0 and e / (1 + e) below.
__m256 SwiGlu8(__m256 g, __m256 u) {
  const __m256 abs_g = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), g);
  const __m256 e = ExpNonPositive(_mm256_sub_ps(_mm256_setzero_ps(), abs_g));
  const __m256 numerator = _mm256_blendv_ps(_mm256_set1_ps(1.0f), e, g);  // sign bit of g picks e
  const __m256 sigmoid = _mm256_div_ps(numerator, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  return _mm256_mul_ps(_mm256_mul_ps(g, sigmoid), u);
}

}  // namespace

void SwiGlu(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(gate + i, SwiGlu8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  if (i < n) {  // the tail through the same arithmetic
    alignas(32) float g[8] = {}, u[8] = {};
    for (int64_t j = i; j < n; ++j) {
      g[j - i] = gate[j];
      u[j - i] = up[j];
    }
    _mm256_store_ps(g, SwiGlu8(_mm256_load_ps(g), _mm256_load_ps(u)));
    for (int64_t j = i; j < n; ++j) gate[j] = g[j - i];
  }
}

}  // namespace qforge::avx2
