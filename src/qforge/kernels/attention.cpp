#include "qforge/kernels/attention.h"

#include <cmath>

#include "qforge/core/fp16.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge {

namespace {

// The references compute each score and each output the way every vector lane does: one
// fused multiply-add per term, in order, so the kernels are tested against them bit for bit.
void ScoresRef(const float* q, int n_q, int hd, const uint16_t* kt, size_t kt_stride, int n_keys, float scale,
               float* scores) {
  for (int g = 0; g < n_q; ++g) {
    for (int t = 0; t < n_keys; ++t) {
      float s = 0.0f;
      for (int j = 0; j < hd; ++j) s = std::fma(q[g * hd + j], Fp16ToFp32(kt[j * kt_stride + t]), s);
      scores[static_cast<size_t>(g) * n_keys + t] = s * scale;
    }
  }
}

float MaxRef(const float* p, int n) {
  float m = p[0];
  for (int t = 1; t < n; ++t) m = std::fmax(m, p[t]);
  return m;
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
      for (int j = 0; j < hdv; ++j) out[g * hdv + j] = std::fma(w, Fp16ToFp32(value[j]), out[g * hdv + j]);
    }
  }
}

void ConvertF32ToF16Ref(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = Fp32ToFp16(x[i]);
}

}  // namespace

AttentionKernels AttentionKernelsForIsa(Isa isa) {
  const int best = static_cast<int>(BestIsa());
  if (isa == Isa::kAvx512 && best >= static_cast<int>(Isa::kAvx512)) {
    return {avx512::AttentionScores, avx512::RowMax, avx2::ExpSum, avx512::WeightedValues, avx2::ConvertF32ToF16};
  }
  if (isa != Isa::kScalar && best >= static_cast<int>(Isa::kAvx2)) {
    return {avx2::AttentionScores, avx2::RowMax, avx2::ExpSum, avx2::WeightedValues, avx2::ConvertF32ToF16};
  }
  return {ScoresRef, MaxRef, ExpSumRef, WeightedValuesRef, ConvertF32ToF16Ref};
}

const AttentionKernels& SelectAttentionKernels() {
  static const AttentionKernels kernels = AttentionKernelsForIsa(BestIsa());  // thread-safe static init
  return kernels;
}

}  // namespace qforge
