#include "qforge/kernels/attention.h"

#include <cmath>

#include "qforge/core/fp16.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge {

namespace {

void ScoresRef(const float* q, int n_q, int hd, const uint16_t* k, size_t k_stride, int n_keys, float scale,
               float* scores) {
  for (int g = 0; g < n_q; ++g) {
    for (int t = 0; t < n_keys; ++t) {
      const uint16_t* key = k + static_cast<size_t>(t) * k_stride;
      float s = 0.0f;
      for (int j = 0; j < hd; ++j) s += q[g * hd + j] * Fp16ToFp32(key[j]);
      scores[static_cast<size_t>(g) * n_keys + t] = s * scale;
    }
  }
}

float ExpSumRef(float* p, int n, float max) {
  float sum = 0.0f;
  for (int t = 0; t < n; ++t) {
    p[t] = std::exp(p[t] - max);
    sum += p[t];
  }
  return sum;
}

void WeightedValuesRef(const float* p, int n_q, int n_keys, const uint16_t* v, size_t v_stride, int hdv, float* out) {
  for (int g = 0; g < n_q; ++g) {
    for (int j = 0; j < hdv; ++j) out[g * hdv + j] = 0.0f;
    for (int t = 0; t < n_keys; ++t) {
      const uint16_t* value = v + static_cast<size_t>(t) * v_stride;
      const float w = p[static_cast<size_t>(g) * n_keys + t];
      for (int j = 0; j < hdv; ++j) out[g * hdv + j] += w * Fp16ToFp32(value[j]);
    }
  }
}

void ConvertF32ToF16Ref(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = Fp32ToFp16(x[i]);
}

}  // namespace

AttentionKernels AttentionKernelsForIsa(Isa isa) {
  // The AVX2 kernels serve AVX-512 CPUs too; there is no AVX-512 variant yet.
  if (isa != Isa::kScalar && static_cast<int>(BestIsa()) >= static_cast<int>(Isa::kAvx2)) {
    return {avx2::AttentionScores, avx2::ExpSum, avx2::WeightedValues, avx2::ConvertF32ToF16};
  }
  return {ScoresRef, ExpSumRef, WeightedValuesRef, ConvertF32ToF16Ref};
}

const AttentionKernels& SelectAttentionKernels() {
  static const AttentionKernels kernels = AttentionKernelsForIsa(BestIsa());  // thread-safe static init
  return kernels;
}

}  // namespace qforge
