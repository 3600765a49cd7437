// AVX2 + FMA + F16C attention loops (kernels/attention.h). The query heads of one group are
// handled together, up to four at a time, so each half-precision key and value is converted
// once for all of them.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "qforge/core/fp16.h"
#include "qforge/kernels/x86/avx2_vector.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge::avx2 {

namespace {

// Four keys' accumulators to their four sums, [s0, s1, s2, s3]. Each key's eight lanes are
// added in the same order, ((0+1)+(2+3))+((4+5)+(6+7)), whichever slot it is in and whatever
// the other slots hold, so a key's score never depends on how keys were blocked.
inline __m128 Reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// G query heads against KB consecutive keys at once (KB <= 4): G * KB accumulators, each key
// vector converted once for the G heads, and one reduction per head for the KB keys.
template <int G, int KB>
void ScoresBlock(const float* q, int hd, const uint16_t* key, size_t k_stride, int n_keys, float scale, float* scores) {
  __m256 acc[G][4];
  for (int g = 0; g < G; ++g) {
    for (int b = 0; b < 4; ++b) acc[g][b] = _mm256_setzero_ps();
  }
  int j = 0;
  for (; j + 8 <= hd; j += 8) {
    __m256 qv[G];
    for (int g = 0; g < G; ++g) qv[g] = _mm256_loadu_ps(q + g * hd + j);
    for (int b = 0; b < KB; ++b) {
      const __m256 kv = LoadHalf8(key + static_cast<size_t>(b) * k_stride + j);
      for (int g = 0; g < G; ++g) acc[g][b] = _mm256_fmadd_ps(qv[g], kv, acc[g][b]);
    }
  }
  for (int g = 0; g < G; ++g) {
    alignas(16) float sums[4];
    _mm_store_ps(sums, Reduce4(acc[g][0], acc[g][1], acc[g][2], acc[g][3]));
    for (int b = 0; b < KB; ++b) {
      float s = sums[b];
      for (int jj = j; jj < hd; ++jj) s += q[g * hd + jj] * Fp16ToFp32(key[static_cast<size_t>(b) * k_stride + jj]);
      scores[static_cast<size_t>(g) * n_keys + b] = s * scale;
    }
  }
}

template <int G>
void ScoresGroup(const float* q, int hd, const uint16_t* k, size_t k_stride, int n_keys, float scale, float* scores) {
  // Four keys at a time where the registers hold 4 * G accumulators (G <= 3), else two.
  constexpr int kBlock = G <= 3 ? 4 : 2;
  int t = 0;
  for (; t + kBlock <= n_keys; t += kBlock) {
    ScoresBlock<G, kBlock>(q, hd, k + static_cast<size_t>(t) * k_stride, k_stride, n_keys, scale, scores + t);
  }
  for (; t < n_keys; ++t) ScoresBlock<G, 1>(q, hd, k + static_cast<size_t>(t) * k_stride, k_stride, n_keys, scale, scores + t);
}

template <int G>
void WeightedGroup(const float* p, int n_keys, const uint16_t* v, size_t v_stride, int hdv, float* out) {
  int j = 0;
  for (; j + 16 <= hdv; j += 16) {
    __m256 lo[G], hi[G];
    for (int g = 0; g < G; ++g) lo[g] = hi[g] = _mm256_setzero_ps();
    for (int t = 0; t < n_keys; ++t) {
      const uint16_t* value = v + static_cast<size_t>(t) * v_stride + j;
      const __m256 v0 = LoadHalf8(value), v1 = LoadHalf8(value + 8);
      for (int g = 0; g < G; ++g) {
        const __m256 w = _mm256_broadcast_ss(p + static_cast<size_t>(g) * n_keys + t);
        lo[g] = _mm256_fmadd_ps(w, v0, lo[g]);
        hi[g] = _mm256_fmadd_ps(w, v1, hi[g]);
      }
    }
    for (int g = 0; g < G; ++g) {
      _mm256_storeu_ps(out + g * hdv + j, lo[g]);
      _mm256_storeu_ps(out + g * hdv + j + 8, hi[g]);
    }
  }
  for (; j < hdv; ++j) {
    for (int g = 0; g < G; ++g) {
      float s = 0.0f;
      for (int t = 0; t < n_keys; ++t) {
        s += p[static_cast<size_t>(g) * n_keys + t] * Fp16ToFp32(v[static_cast<size_t>(t) * v_stride + j]);
      }
      out[g * hdv + j] = s;
    }
  }
}

}  // namespace

void AttentionScores(const float* q, int n_q, int hd, const uint16_t* k, size_t k_stride, int n_keys, float scale,
                     float* scores) {
  for (int g = 0; g < n_q; g += 4) {
    const float* qg = q + static_cast<size_t>(g) * hd;
    float* sg = scores + static_cast<size_t>(g) * n_keys;
    switch (std::min(4, n_q - g)) {
      case 1: ScoresGroup<1>(qg, hd, k, k_stride, n_keys, scale, sg); break;
      case 2: ScoresGroup<2>(qg, hd, k, k_stride, n_keys, scale, sg); break;
      case 3: ScoresGroup<3>(qg, hd, k, k_stride, n_keys, scale, sg); break;
      default: ScoresGroup<4>(qg, hd, k, k_stride, n_keys, scale, sg); break;
    }
  }
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
  for (int g = 0; g < n_q; g += 4) {
    const float* pg = p + static_cast<size_t>(g) * n_keys;
    float* og = out + static_cast<size_t>(g) * hdv;
    switch (std::min(4, n_q - g)) {
      case 1: WeightedGroup<1>(pg, n_keys, v, v_stride, hdv, og); break;
      case 2: WeightedGroup<2>(pg, n_keys, v, v_stride, hdv, og); break;
      case 3: WeightedGroup<3>(pg, n_keys, v, v_stride, hdv, og); break;
      default: WeightedGroup<4>(pg, n_keys, v, v_stride, hdv, og); break;
    }
  }
}

}  // namespace qforge::avx2
