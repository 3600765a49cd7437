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

}  // namespace

#include "qforge/kernels/x86/int_dot_kernels.inc"

}  // namespace qforge::avx2
