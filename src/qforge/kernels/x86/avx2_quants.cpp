// AVX2 dot products of quantized weight rows with 8-bit quantized activation rows, one per
// weight format (the kernels themselves are in int_dot_kernels.inc, shared with AVX-512).
#include <immintrin.h>

#include <cstring>

#include "qforge/formats/blocks.h"
#include "qforge/formats/kquant_layout.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx2 {

namespace {

// 8 int32 lanes of u8 x s8 products. VPMADDUBSW's int16 pair sums cannot saturate here:
// unsigned operands stay below 128 and activations within [-127, 127].
inline __m256i DotU8S8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Sub-block scales as int16 lanes: `first` for values 0-15 (lanes 0-7), `second` for 16-31.
inline __m256i SubBlockScales(int first, int second) {
  return _mm256_setr_m128i(_mm_set1_epi16(static_cast<int16_t>(first)), _mm_set1_epi16(static_cast<int16_t>(second)));
}

// DotU8S8 times the scales in the same two instructions: VPMADDWD multiplies the int16 pair
// sums by the scales as it widens them. Exact, and equal to DotU8S8 * scale: pair sums stay
// within int16 (unsigned operands below 128) and the k-quant scales within [-128, 127].
inline __m256i ScaledDotU8S8(__m256i u, __m256i s, __m256i scales) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scales);
}

}  // namespace

#include "qforge/kernels/x86/int_dot_kernels.inc"

}  // namespace qforge::avx2
