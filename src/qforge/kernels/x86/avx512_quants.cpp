// AVX-512 VNNI dot products of quantized weight rows with 8-bit activation rows. The 256-bit
// form of VPDPBUSD (AVX512VL) keeps one 32-value block per register, which matches the block
// layouts; the kernels are in int_dot_kernels.inc, shared with AVX2. Only called on CPUs with
// AVX512_VNNI (kernels/dispatch.cpp).
#include <immintrin.h>

#include <cstring>

#include "qforge/formats/blocks.h"
#include "qforge/formats/kquant_layout.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx512 {

namespace {

// 8 int32 lanes of u8 x s8 products, exact (no int16 intermediate).
inline __m256i DotU8S8(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }

// Sub-block scales as int32 lanes: `first` for values 0-15 (lanes 0-3), `second` for 16-31.
inline __m256i SubBlockScales(int first, int second) {
  return _mm256_setr_m128i(_mm_set1_epi32(first), _mm_set1_epi32(second));
}

inline __m256i ScaledDotU8S8(__m256i u, __m256i s, __m256i scales) { return _mm256_mullo_epi32(DotU8S8(u, s), scales); }

}  // namespace

#include "qforge/kernels/x86/int_dot_kernels.inc"

}  // namespace qforge::avx512
