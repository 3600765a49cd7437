// The inner loops of attention over a half-precision KV cache. One call serves the query heads
// that share a key/value head (grouped-query attention), so each cached key and value is
// converted from half precision once per group instead of once per head.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qforge/core/cpu_features.h"

namespace qforge {

struct AttentionKernels {
  // scores[g * n_keys + t] = scale * dot(q + g * hd, key t) for g < n_q and t < n_keys;
  // key t starts at k + t * k_stride (in halfs).
  void (*scores)(const float* q, int n_q, int hd, const uint16_t* k, size_t k_stride, int n_keys, float scale,
                 float* scores);
  // p[t] = exp(p[t] - max) for t < n, in place; returns the sum of the new values.
  float (*exp_sum)(float* p, int n, float max);
  // out[g * hdv + j] = sum over t of p[g * n_keys + t] * value t [j], for g < n_q;
  // value t starts at v + t * v_stride (in halfs).
  void (*weighted_values)(const float* p, int n_q, int n_keys, const uint16_t* v, size_t v_stride, int hdv,
                          float* out);
  // Rounds floats to half precision (the cache's storage).
  void (*from_f32)(const float* x, uint16_t* out, int64_t n);
};

// The kernels for this CPU (AVX2 where present, else the scalar reference).
const AttentionKernels& SelectAttentionKernels();
// The kernels of one ISA, for tests; the scalar reference for kScalar. An ISA the CPU lacks
// (or QFORGE_ISA rules out) gives the scalar reference too.
AttentionKernels AttentionKernelsForIsa(Isa isa);

}  // namespace qforge
