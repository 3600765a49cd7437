// AVX-512 attention loops (kernels/attention.h): sixteen keys per score vector, sixteen value
// components per output vector. Every lane runs the same chain of FMAs as the AVX2 kernels and
// the scalar reference, so all three give the same bits; only the width differs.
#include <immintrin.h>

#include "qforge/kernels/x86/head_groups.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx512 {

namespace {

// Sixteen halfs from p, widened; lanes at or past `count` read nothing and are zero.
inline __m512 LoadHalf16(const uint16_t* p, int count = 16) {
  if (count >= 16) return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << count) - 1), p));
}

// G query heads against B blocks of sixteen keys (the last block holding `last` keys), one
// score per lane accumulated over j from the transposed cache's rows.
template <int G, int B>
void ScoresBlock(const float* q, int hd, const uint16_t* kt, size_t kt_stride, int n_keys, float scale, float* scores,
                 int last = 16) {
  __m512 acc[G][B];
  for (int g = 0; g < G; ++g) {
    for (int b = 0; b < B; ++b) acc[g][b] = _mm512_setzero_ps();
  }
  // hd >= 1; a do-while keeps GCC from storing the accumulators to the stack every iteration.
  int j = 0;
  do {
    const uint16_t* row = kt + static_cast<size_t>(j) * kt_stride;
    __m512 kv[B];
    for (int b = 0; b < B; ++b) kv[b] = LoadHalf16(row + 16 * b, b + 1 < B ? 16 : last);
    for (int g = 0; g < G; ++g) {
      const __m512 qj = _mm512_set1_ps(q[g * hd + j]);
      for (int b = 0; b < B; ++b) acc[g][b] = _mm512_fmadd_ps(qj, kv[b], acc[g][b]);
    }
  } while (++j < hd);
  const __m512 s = _mm512_set1_ps(scale);
  const __mmask16 tail = last >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << last) - 1);
  for (int g = 0; g < G; ++g) {
    float* out = scores + static_cast<size_t>(g) * n_keys;
    for (int b = 0; b + 1 < B; ++b) _mm512_storeu_ps(out + 16 * b, _mm512_mul_ps(acc[g][b], s));
    _mm512_mask_storeu_ps(out + 16 * (B - 1), tail, _mm512_mul_ps(acc[g][B - 1], s));
  }
}

template <int G>
void ScoresGroup(const float* q, int hd, const uint16_t* kt, size_t kt_stride, int n_keys, float scale, float* scores) {
  // Eight or more accumulators where the 32 registers allow, to cover the FMA latency.
  constexpr int kBlocks = G == 1 ? 8 : G == 2 ? 4 : 3;
  int t = 0;
  for (; t + 16 * kBlocks <= n_keys; t += 16 * kBlocks) {
    ScoresBlock<G, kBlocks>(q, hd, kt + t, kt_stride, n_keys, scale, scores + t);
  }
  // What is left in fewer, smaller blocks: short windows (generation's early tokens) would
  // otherwise run one block at a time, at the FMA latency rather than its throughput.
  if constexpr (kBlocks > 4) {
    if (t + 64 <= n_keys) {
      ScoresBlock<G, 4>(q, hd, kt + t, kt_stride, n_keys, scale, scores + t);
      t += 64;
    }
  }
  if constexpr (kBlocks > 2) {
    if (t + 32 <= n_keys) {
      ScoresBlock<G, 2>(q, hd, kt + t, kt_stride, n_keys, scale, scores + t);
      t += 32;
    }
  }
  for (; t + 16 <= n_keys; t += 16) ScoresBlock<G, 1>(q, hd, kt + t, kt_stride, n_keys, scale, scores + t);
  if (t < n_keys) ScoresBlock<G, 1>(q, hd, kt + t, kt_stride, n_keys, scale, scores + t, n_keys - t);
}

// G heads' weighted sums of the values, C vectors of sixteen components at a time (the last
// holding `last`): each value vector is converted once for the G heads.
template <int G, int C>
void WeightedChunk(const float* p, int n_keys, const uint16_t* v, size_t v_stride, float* out, int hdv, int last = 16) {
  __m512 acc[G][C];
  for (int g = 0; g < G; ++g) {
    for (int c = 0; c < C; ++c) acc[g][c] = _mm512_setzero_ps();
  }
  int t = 0;  // n_keys >= 1, a do-while for the reason in ScoresBlock
  do {
    const uint16_t* value = v + static_cast<size_t>(t) * v_stride;
    __m512 vv[C];
    for (int c = 0; c < C; ++c) vv[c] = LoadHalf16(value + 16 * c, c + 1 < C ? 16 : last);
    for (int g = 0; g < G; ++g) {
      const __m512 w = _mm512_set1_ps(p[static_cast<size_t>(g) * n_keys + t]);
      for (int c = 0; c < C; ++c) acc[g][c] = _mm512_fmadd_ps(w, vv[c], acc[g][c]);
    }
  } while (++t < n_keys);
  const __mmask16 tail = last >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << last) - 1);
  for (int g = 0; g < G; ++g) {
    for (int c = 0; c + 1 < C; ++c) _mm512_storeu_ps(out + g * hdv + 16 * c, acc[g][c]);
    _mm512_mask_storeu_ps(out + g * hdv + 16 * (C - 1), tail, acc[g][C - 1]);
  }
}

template <int G>
void WeightedGroup(const float* p, int n_keys, const uint16_t* v, size_t v_stride, int hdv, float* out) {
  int j = 0;
  for (; j + 64 <= hdv; j += 64) WeightedChunk<G, 4>(p, n_keys, v + j, v_stride, out + j, hdv);
  for (; j + 16 <= hdv; j += 16) WeightedChunk<G, 1>(p, n_keys, v + j, v_stride, out + j, hdv);
  if (j < hdv) WeightedChunk<G, 1>(p, n_keys, v + j, v_stride, out + j, hdv, hdv - j);
}

}  // namespace

void AttentionScores(const float* q, int n_q, int hd, const uint16_t* kt, size_t kt_stride, int n_keys, float scale,
                     float* scores) {
  ForEachHeadGroup(n_q, [&](auto group, int g) {
    ScoresGroup<group()>(q + static_cast<size_t>(g) * hd, hd, kt, kt_stride, n_keys, scale,
                         scores + static_cast<size_t>(g) * n_keys);
  });
}

float RowMax(const float* p, int n) {
  __m512 m = _mm512_set1_ps(p[0]);
  int t = 0;
  for (; t + 16 <= n; t += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(p + t));
  if (t < n) {
    const auto tail = static_cast<__mmask16>((1u << (n - t)) - 1);
    m = _mm512_mask_max_ps(m, tail, m, _mm512_maskz_loadu_ps(tail, p + t));
  }
  return _mm512_reduce_max_ps(m);
}

void WeightedValues(const float* p, int n_q, int n_keys, const uint16_t* v, size_t v_stride, int hdv, float* out) {
  ForEachHeadGroup(n_q, [&](auto group, int g) {
    WeightedGroup<group()>(p + static_cast<size_t>(g) * n_keys, n_keys, v, v_stride, hdv, out + static_cast<size_t>(g) * hdv);
  });
}

}  // namespace qforge::avx512
