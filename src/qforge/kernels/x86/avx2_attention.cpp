// AVX2 + FMA + F16C attention loops (kernels/attention.h). The query heads of one group are
// handled together, up to four at a time, so each half-precision key and value is converted
// once for all of them.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "qforge/core/fp16.h"
#include "qforge/kernels/x86/avx2_vector.h"
#include "qforge/kernels/x86/head_groups.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx2 {

namespace {

// G query heads against B blocks of eight consecutive keys: the keys' components are rows of
// the transposed cache, so each lane accumulates one key's score over j, and each key row is
// converted once for the G heads. G * B accumulators hide the FMA latency.
template <int G, int B>
void ScoresBlock(const float* q, int hd, const uint16_t* kt, size_t kt_stride, int n_keys, float scale,
                 float* scores) {
  __m256 acc[G * B];  // [g * B + b]
  for (int i = 0; i < G * B; ++i) acc[i] = _mm256_setzero_ps();
  // hd >= 1. As a do-while, GCC keeps the accumulators in registers; a loop that might run
  // zero times made it store all of them to the stack on every iteration (2x slower).
  int j = 0;
  do {
    const uint16_t* row = kt + static_cast<size_t>(j) * kt_stride;
    __m256 kv[B];
    for (int b = 0; b < B; ++b) kv[b] = LoadHalf8(row + 8 * b);
    for (int g = 0; g < G; ++g) {
      const __m256 qj = _mm256_broadcast_ss(q + g * hd + j);
      for (int b = 0; b < B; ++b) acc[g * B + b] = _mm256_fmadd_ps(qj, kv[b], acc[g * B + b]);
    }
  } while (++j < hd);
  const __m256 s = _mm256_set1_ps(scale);
  for (int g = 0; g < G; ++g) {
    for (int b = 0; b < B; ++b) {
      _mm256_storeu_ps(scores + static_cast<size_t>(g) * n_keys + 8 * b, _mm256_mul_ps(acc[g * B + b], s));
    }
  }
}

template <int G>
void ScoresGroup(const float* q, int hd, const uint16_t* kt, size_t kt_stride, int n_keys, float scale, float* scores) {
  // As many key blocks as 16 registers allow beside the key rows and a broadcast query value.
  constexpr int kBlocks = G == 1 ? 4 : G == 2 ? 4 : G == 3 ? 3 : 2;
  int t = 0;
  for (; t + 8 * kBlocks <= n_keys; t += 8 * kBlocks) {
    ScoresBlock<G, kBlocks>(q, hd, kt + t, kt_stride, n_keys, scale, scores + t);
  }
  // What is left in fewer, smaller blocks (as the AVX-512 kernel does).
  if constexpr (kBlocks > 2) {
    if (t + 16 <= n_keys) {
      ScoresBlock<G, 2>(q, hd, kt + t, kt_stride, n_keys, scale, scores + t);
      t += 16;
    }
  }
  for (; t + 8 <= n_keys; t += 8) ScoresBlock<G, 1>(q, hd, kt + t, kt_stride, n_keys, scale, scores + t);
  // The last keys one at a time, each through the same chain of FMAs as a lane.
  for (; t < n_keys; ++t) {
    for (int g = 0; g < G; ++g) {
      float s = 0.0f;
      for (int j = 0; j < hd; ++j) s = std::fma(q[g * hd + j], Fp16ToFp32(kt[static_cast<size_t>(j) * kt_stride + t]), s);
      scores[static_cast<size_t>(g) * n_keys + t] = s * scale;
    }
  }
}

template <int G>
void WeightedGroup(const float* p, int n_keys, const uint16_t* v, size_t v_stride, int hdv, float* out) {
  int j = 0;
  for (; j + 16 <= hdv; j += 16) {
    __m256 lo[G], hi[G];
    for (int g = 0; g < G; ++g) lo[g] = hi[g] = _mm256_setzero_ps();
    int t = 0;  // n_keys >= 1, a do-while for the reason in ScoresBlock
    do {
      const uint16_t* value = v + static_cast<size_t>(t) * v_stride + j;
      const __m256 v0 = LoadHalf8(value), v1 = LoadHalf8(value + 8);
      for (int g = 0; g < G; ++g) {
        const __m256 w = _mm256_broadcast_ss(p + static_cast<size_t>(g) * n_keys + t);
        lo[g] = _mm256_fmadd_ps(w, v0, lo[g]);
        hi[g] = _mm256_fmadd_ps(w, v1, hi[g]);
      }
    } while (++t < n_keys);
    for (int g = 0; g < G; ++g) {
      _mm256_storeu_ps(out + g * hdv + j, lo[g]);
      _mm256_storeu_ps(out + g * hdv + j + 8, hi[g]);
    }
  }
  for (; j < hdv; ++j) {
    for (int g = 0; g < G; ++g) {
      float s = 0.0f;
      for (int t = 0; t < n_keys; ++t) {
        s = std::fma(p[static_cast<size_t>(g) * n_keys + t], Fp16ToFp32(v[static_cast<size_t>(t) * v_stride + j]), s);
      }
      out[g * hdv + j] = s;
    }
  }
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
  __m256 m0 = _mm256_set1_ps(p[0]), m1 = m0;
  int t = 0;
  for (; t + 16 <= n; t += 16) {
    m0 = _mm256_max_ps(m0, _mm256_loadu_ps(p + t));
    m1 = _mm256_max_ps(m1, _mm256_loadu_ps(p + t + 8));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_max_ps(m0, m1));
  float m = lanes[0];
  for (int i = 1; i < 8; ++i) m = std::max(m, lanes[i]);
  for (; t < n; ++t) m = std::max(m, p[t]);
  return m;
}

float ExpSum(float* p, int n, float max) {
  const __m256 m = _mm256_set1_ps(max);
  __m256 sum = _mm256_setzero_ps();
  int t = 0;
  for (; t + 8 <= n; t += 8) {
    const __m256 e = ExpNonPositive(_mm256_sub_ps(_mm256_loadu_ps(p + t), m));
    _mm256_storeu_ps(p + t, e);
    sum = _mm256_add_ps(sum, e);
  }
  float total = HorizontalSum(sum);
  if (t < n) {  // the tail through the same polynomial
    alignas(32) float tail[8];
    for (int i = 0; i < 8; ++i) tail[i] = t + i < n ? p[t + i] - max : 0.0f;
    _mm256_store_ps(tail, ExpNonPositive(_mm256_load_ps(tail)));
    for (int i = 0; t + i < n; ++i) {
      p[t + i] = tail[i];
      total += tail[i];
    }
  }
  return total;
}

void WeightedValues(const float* p, int n_q, int n_keys, const uint16_t* v, size_t v_stride, int hdv, float* out) {
  ForEachHeadGroup(n_q, [&](auto group, int g) {
    WeightedGroup<group()>(p + static_cast<size_t>(g) * n_keys, n_keys, v, v_stride, hdv, out + static_cast<size_t>(g) * hdv);
  });
}

}  // namespace qforge::avx2
