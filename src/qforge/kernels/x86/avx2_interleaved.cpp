// AVX2 kernels over interleaved weight groups (kernels/interleaved.h); the kernels themselves
// are in interleaved_kernels.inc, shared with AVX-512.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "qforge/formats/blocks.h"
#include "qforge/kernels/interleaved.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx2 {

namespace {

// Generation streams the weights once per token. The hardware prefetcher alone left Q8_0 at
// 63-70% of the read bandwidth on Zen 1; asking for the group block four ahead raised it to
// 88% (bench_kernels).
constexpr size_t kPrefetchBlocks = 4;

// VPMADDUBSW's int16 pair sums are at most 2 * 15 * 127 = 3810 in magnitude (7874 with five
// bits), so those of all four steps (two with five bits) add up in int16 without overflow and
// VPMADDWD widens them once per block (twice with five bits).
template <bool kFifthBit>
inline __m256i NibbleBlockDot(const __m256i* lo, const __m256i* hi, const __m256i* a_lo, const __m256i* a_hi) {
  const __m256i ones = _mm256_set1_epi16(1);
  auto pair_sums = [&](int s) {
    return _mm256_add_epi16(_mm256_maddubs_epi16(lo[s], a_lo[s]), _mm256_maddubs_epi16(hi[s], a_hi[s]));
  };
  if constexpr (kFifthBit) {
    return _mm256_add_epi32(_mm256_madd_epi16(_mm256_add_epi16(pair_sums(0), pair_sums(1)), ones),
                            _mm256_madd_epi16(_mm256_add_epi16(pair_sums(2), pair_sums(3)), ones));
  } else {
    const __m256i pairs = _mm256_add_epi16(_mm256_add_epi16(pair_sums(0), pair_sums(1)),
                                           _mm256_add_epi16(pair_sums(2), pair_sums(3)));
    return _mm256_madd_epi16(pairs, ones);
  }
}

// A pair sum reaches 2 * 128 * 127 = 32512, still an int16, so each step is widened on its own.
inline __m256i AddQ8Step(__m256i acc, __m256i w_abs, __m256i a_signed) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(w_abs, a_signed), _mm256_set1_epi16(1)));
}

}  // namespace

#include "qforge/kernels/x86/interleaved_kernels.inc"

}  // namespace qforge::avx2
