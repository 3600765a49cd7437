// Element-wise and per-row operations of the forward pass, in float32. Where llama.cpp's
// arithmetic differs from the obvious formula in a way that shows in perplexity (RMSNorm
// accumulates in double), we follow it and say so.
#pragma once

#include <cstdint>


namespace qforge {

// out = x / sqrt(mean(x^2) + eps) * weight; the sum of squares is accumulated in double.
void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* out);

// x += y
void AddInPlace(float* x, const float* y, int64_t n);

// gate[i] = silu(gate[i]) * up[i]: the CPU's vector version (e^x by polynomial, within a few
// ulp of SwiGluRef), or SwiGluRef, the scalar definition with std::exp.
void SwiGlu(float* gate, const float* up, int64_t n);
void SwiGluRef(float* gate, const float* up, int64_t n);

}  // namespace qforge
