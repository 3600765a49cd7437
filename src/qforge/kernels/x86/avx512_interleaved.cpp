// AVX-512 VNNI kernels over interleaved weight groups (kernels/interleaved.h): VPDPBUSD (its
// 256-bit AVX512VL form) adds four u8 x s8 products per lane into int32 in one instruction,
// where AVX2 needs VPMADDUBSW, VPMADDWD and an add. The kernels are in
// interleaved_kernels.inc, shared with AVX2. Only called on CPUs with AVX512_VNNI
// (kernels/interleaved.cpp).
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "qforge/formats/blocks.h"
#include "qforge/kernels/interleaved.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx512 {

namespace {

// No software prefetch: on Zen 4 the hardware prefetcher alone streams Q8_0 groups about 10%
// faster than with AVX2's hint four blocks ahead (bench_kernels, A/B in one run).
constexpr size_t kPrefetchBlocks = 0;

// Exact: VPDPBUSD does not saturate. The low and high halves add into separate sums so that
// two dependency chains run side by side.
template <bool>
inline __m256i NibbleBlockDot(const __m256i* lo, const __m256i* hi, const __m256i* a_lo, const __m256i* a_hi) {
  __m256i dot_lo = _mm256_setzero_si256(), dot_hi = _mm256_setzero_si256();
  for (int s = 0; s < 4; ++s) {
    dot_lo = _mm256_dpbusd_epi32(dot_lo, lo[s], a_lo[s]);
    dot_hi = _mm256_dpbusd_epi32(dot_hi, hi[s], a_hi[s]);
  }
  return _mm256_add_epi32(dot_lo, dot_hi);
}

inline __m256i AddQ8Step(__m256i acc, __m256i w_abs, __m256i a_signed) {
  return _mm256_dpbusd_epi32(acc, w_abs, a_signed);
}

}  // namespace

#include "qforge/kernels/x86/interleaved_kernels.inc"

}  // namespace qforge::avx512
