#include "qforge/kernels/ops.h"

#include <algorithm>
#include <cmath>

#include "qforge/core/cpu_features.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge {

void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  // Eight running sums in double (the squares in float, as ggml): one chain was a dependent
  // add per value, 2% of a prompt; eight vectorize and overlap.
  constexpr int kSums = 8;
  double sums[kSums] = {};
  int64_t i = 0;
  for (; i + kSums <= n; i += kSums) {
    for (int k = 0; k < kSums; ++k) sums[k] += static_cast<double>(x[i + k] * x[i + k]);
  }
  for (; i < n; ++i) sums[i % kSums] += static_cast<double>(x[i] * x[i]);
  const double sum = ((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7]));
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = (x[i] * scale) * weight[i];
}

void AddInPlace(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void SwiGluRef(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void SwiGlu(float* gate, const float* up, int64_t n) {
  // The AVX2 version evaluates e^x with its own polynomial (within 2 ulp of std::exp), as
  // llama.cpp's vector SiLU does; it was 5% of a Q4_0 prompt's time as a scalar loop.
  static const bool avx2 = static_cast<int>(BestIsa()) >= static_cast<int>(Isa::kAvx2);
  if (avx2) return avx2::SwiGlu(gate, up, n);
  SwiGluRef(gate, up, n);
}

}  // namespace qforge
