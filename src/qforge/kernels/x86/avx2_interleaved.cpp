// AVX2 kernels over interleaved weight groups (kernels/interleaved.h): one group of eight
// weight rows with R activation rows. Lane k of every vector below is weight row k, so a
// group block needs one fp16 conversion of eight scales, one int-to-float conversion and one
// multiply-add for all eight rows, and no horizontal sum at the end.
#include <immintrin.h>

#include <cstring>

#include "qforge/formats/blocks.h"
#include "qforge/kernels/interleaved.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx2 {

namespace {

inline __m256i Load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// Four activation codes (bytes 4s..4s+3 of a block) in every 32-bit lane.
inline __m256i Broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

inline __m256 EightHalves(const uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline float Half(uint16_t h) { return _cvtsh_ss(h); }

// Generation streams the weights once per token. The hardware prefetcher alone left Q8_0 at
// 63-70% of the read bandwidth on Zen 1; asking for the group block four ahead raised it to
// 88% (bench_kernels). Past the group's end this touches the next group, or nothing: a
// prefetch never faults.
constexpr size_t kPrefetchBlocks = 4;
template <size_t kGroupBlock>
inline void PrefetchAhead(const uint8_t* block) {
  for (size_t line = 0; line < kGroupBlock; line += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchBlocks * kGroupBlock + line), _MM_HINT_T0);
  }
}

// The fifth bit of step S's codes as 0x10 per byte, from the regrouped bits (interleaved.h):
// bit S of each byte for the low nibbles, bit 4 + S for the high ones. The 16-bit shifts move
// bits across byte boundaries only below bit 4 (left) or above it (right), never into it.
template <int S>
inline __m256i FifthBitLow(__m256i bits) {
  return _mm256_and_si256(_mm256_slli_epi16(bits, 4 - S), _mm256_set1_epi8(0x10));
}
template <int S>
inline __m256i FifthBitHigh(__m256i bits) {
  return _mm256_and_si256(_mm256_srli_epi16(bits, S), _mm256_set1_epi8(0x10));
}

// Step S's codes of a group block: values 4S..4S+3 (lo) and 16+4S..16+4S+3 (hi) of each row.
template <bool kFifthBit, int S>
inline void DecodeStep(const uint8_t* codes, __m256i fifth, __m256i* lo, __m256i* hi) {
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  const __m256i v = Load32(codes + 32 * S);
  lo[S] = _mm256_and_si256(v, low_mask);
  hi[S] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low_mask);
  if constexpr (kFifthBit) {
    lo[S] = _mm256_or_si256(lo[S], FifthBitLow<S>(fifth));
    hi[S] = _mm256_or_si256(hi[S], FifthBitHigh<S>(fifth));
  }
}

// Q4_0, Q4_1, Q5_0, Q5_1: unsigned codes (below 16, or 32 with the fifth bit) against signed
// activation codes. A pair of products is at most 2 * 15 * 127 = 3810 (7874 with five bits) in
// magnitude, so VPMADDUBSW's int16 pair sums of eight steps (four with five bits) add up in
// int16 without overflow and are widened once per block (twice with five bits).
template <bool kHasMin, bool kFifthBit, int R>
void InterleavedNibbles(int64_t n, const uint8_t* group, const uint8_t* acts, size_t act_stride,
                        const int16_t* block_sums, size_t sums_stride, float* y, int64_t ldy) {
  using ActBlock = std::conditional_t<kHasMin, BlockQ8_1, BlockQ8_0>;
  constexpr size_t kBlockBytes = kFifthBit ? (kHasMin ? sizeof(BlockQ5_1) : sizeof(BlockQ5_0))
                                           : (kHasMin ? sizeof(BlockQ4_1) : sizeof(BlockQ4_0));
  constexpr size_t kGroupBlock = 8 * kBlockBytes;
  constexpr size_t kFifthAt = kHasMin ? 32 : 16;
  constexpr size_t kCodesAt = kFifthAt + (kFifthBit ? 32 : 0);
  constexpr int kOffset = kHasMin ? 0 : (kFifthBit ? 16 : 8);  // code minus value
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[R], off[R];
  for (int r = 0; r < R; ++r) acc[r] = off[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    const uint8_t* block = group + b * kGroupBlock;
    PrefetchAhead<kGroupBlock>(block);
    const __m256i fifth = kFifthBit ? Load32(block + kFifthAt) : _mm256_setzero_si256();
    __m256i lo[4], hi[4];
    DecodeStep<kFifthBit, 0>(block + kCodesAt, fifth, lo, hi);
    DecodeStep<kFifthBit, 1>(block + kCodesAt, fifth, lo, hi);
    DecodeStep<kFifthBit, 2>(block + kCodesAt, fifth, lo, hi);
    DecodeStep<kFifthBit, 3>(block + kCodesAt, fifth, lo, hi);
    const __m256 d = EightHalves(block);
    for (int r = 0; r < R; ++r) {
      const ActBlock& a = reinterpret_cast<const ActBlock*>(acts + r * act_stride)[b];
      auto pair_sums = [&](int s) {
        return _mm256_add_epi16(_mm256_maddubs_epi16(lo[s], Broadcast4(a.qs + 4 * s)),
                                _mm256_maddubs_epi16(hi[s], Broadcast4(a.qs + 16 + 4 * s)));
      };
      __m256i dot;
      if constexpr (kFifthBit) {
        dot = _mm256_add_epi32(_mm256_madd_epi16(_mm256_add_epi16(pair_sums(0), pair_sums(1)), ones),
                               _mm256_madd_epi16(_mm256_add_epi16(pair_sums(2), pair_sums(3)), ones));
      } else {
        const __m256i pairs = _mm256_add_epi16(_mm256_add_epi16(pair_sums(0), pair_sums(1)),
                                               _mm256_add_epi16(pair_sums(2), pair_sums(3)));
        dot = _mm256_madd_epi16(pairs, ones);
      }
      if constexpr (kOffset != 0) {
        dot = _mm256_sub_epi32(dot, _mm256_set1_epi32(kOffset * block_sums[r * sums_stride + b]));
      }
      const __m256 scale = _mm256_mul_ps(d, _mm256_set1_ps(Half(a.d)));
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[r]);
      if constexpr (kHasMin) off[r] = _mm256_fmadd_ps(EightHalves(block + 16), _mm256_set1_ps(Half(a.s)), off[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(y + r * ldy, kHasMin ? _mm256_add_ps(acc[r], off[r]) : acc[r]);
  }
}

// Q8_0: signed codes on both sides. |w| times y carrying w's sign keeps VPMADDUBSW's unsigned
// operand valid even for a code of -128; a pair sum reaches 2 * 128 * 127, so each step is
// widened before the next is added.
template <int R>
void InterleavedQ8_0(int64_t n, const uint8_t* group, const uint8_t* acts, size_t act_stride, const int16_t*,
                     size_t, float* y, int64_t ldy) {
  constexpr size_t kGroupBlock = 8 * sizeof(BlockQ8_0);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    const uint8_t* block = group + b * kGroupBlock;
    PrefetchAhead<kGroupBlock>(block);
    const BlockQ8_0* a[R];
    __m256i dot[R];
    for (int r = 0; r < R; ++r) {
      a[r] = reinterpret_cast<const BlockQ8_0*>(acts + r * act_stride) + b;
      dot[r] = _mm256_setzero_si256();
    }
    for (int s = 0; s < 8; ++s) {
      const __m256i w = Load32(block + 16 + 32 * s);
      const __m256i w_abs = _mm256_sign_epi8(w, w);
      for (int r = 0; r < R; ++r) {
        const __m256i pairs = _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(Broadcast4(a[r]->qs + 4 * s), w));
        dot[r] = _mm256_add_epi32(dot[r], _mm256_madd_epi16(pairs, ones));
      }
    }
    const __m256 d = EightHalves(block);
    for (int r = 0; r < R; ++r) {
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[r]), _mm256_mul_ps(d, _mm256_set1_ps(Half(a[r]->d))), acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) _mm256_storeu_ps(y + r * ldy, acc[r]);
}

// Each format's kernel, by the number of activation rows.
template <int R> constexpr InterleavedDotFn Q4_0Rows = InterleavedNibbles<false, false, R>;
template <int R> constexpr InterleavedDotFn Q4_1Rows = InterleavedNibbles<true, false, R>;
template <int R> constexpr InterleavedDotFn Q5_0Rows = InterleavedNibbles<false, true, R>;
template <int R> constexpr InterleavedDotFn Q5_1Rows = InterleavedNibbles<true, true, R>;
template <int R> constexpr InterleavedDotFn Q8_0Rows = InterleavedQ8_0<R>;

}  // namespace

// The exported kernels: one and four activation rows per call.
#define QF_INTERLEAVED_KERNELS(T)                                                                                \
  void Interleaved##T##x1(int64_t n, const uint8_t* g, const uint8_t* a, size_t as, const int16_t* bs, size_t ss, \
                          float* y, int64_t ldy) {                                                               \
    T##Rows<1>(n, g, a, as, bs, ss, y, ldy);                                                                     \
  }                                                                                                              \
  void Interleaved##T##x4(int64_t n, const uint8_t* g, const uint8_t* a, size_t as, const int16_t* bs, size_t ss, \
                          float* y, int64_t ldy) {                                                               \
    T##Rows<4>(n, g, a, as, bs, ss, y, ldy);                                                                     \
  }

QF_INTERLEAVED_FORMATS(QF_INTERLEAVED_KERNELS)

#undef QF_INTERLEAVED_KERNELS

}  // namespace qforge::avx2
