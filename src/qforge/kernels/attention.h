// The inner loops of attention over a half-precision KV cache. One call serves the query heads
// that share a key/value head (grouped-query attention), so each cached key and value is
// converted from half precision once per group instead of once per head.
//
// Keys are cached transposed: for one sequence and key/value head, row j holds component j of
// every position's key (`KeyColumns` below). A score is then one lane of a vector: lanes run
// across keys, and each score is the same chain of fused multiply-adds over j = 0, 1, ...,
// hd - 1 on every ISA, with no horizontal sums. So scores are bit-identical between the scalar
// reference and the vector kernels, and never depend on how keys or heads were blocked.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qforge/core/cpu_features.h"

namespace qforge {

// Every count (query heads, keys, components) is at least one.
struct AttentionKernels {
  // scores[g * n_keys + t] = scale * sum over j of q[g * hd + j] * kt[j * kt_stride + t], for
  // g < n_q and t < n_keys, the sum taken as fused multiply-adds in order of j from zero.
  void (*scores)(const float* q, int n_q, int hd, const uint16_t* kt, size_t kt_stride, int n_keys, float scale,
                 float* scores);
  // The largest of p[0..n), n >= 1.
  float (*max)(const float* p, int n);
  // p[t] = exp(p[t] - max) for t < n, in place; returns the sum of the new values.
  float (*exp_sum)(float* p, int n, float max);
  // out[g * hdv + j] = sum over t of p[g * n_keys + t] * value t [j], for g < n_q, the sum
  // taken as fused multiply-adds in order of t from zero; value t starts at v + t * v_stride
  // (in halfs).
  void (*weighted_values)(const float* p, int n_q, int n_keys, const uint16_t* v, size_t v_stride, int hdv,
                          float* out);
  // Rounds floats to half precision (the cache's storage).
  void (*from_f32)(const float* x, uint16_t* out, int64_t n);
};

// The kernels for this CPU (AVX-512 or AVX2 where present, else the scalar reference).
const AttentionKernels& SelectAttentionKernels();
// The kernels of one ISA, for tests; the scalar reference for kScalar. An ISA the CPU lacks
// (or QFORGE_ISA rules out) falls back to the best one below it.
AttentionKernels AttentionKernelsForIsa(Isa isa);

}  // namespace qforge
