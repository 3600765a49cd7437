// Per-value weights of the block being fitted.
#pragma once

#include <cstdint>

namespace qforge::quant_internal {

// Importance of each of the n values of a block. With an importance matrix, a small floor
// (a fraction of the block's mean importance) keeps columns the calibration text never
// excited from being ignored entirely; without one every value counts the same.
inline void BlockWeights(const float* importance, int64_t n, float* w) {
  if (importance == nullptr) {
    for (int64_t i = 0; i < n; ++i) w[i] = 1.0f;
    return;
  }
  double mean = 0.0;
  for (int64_t i = 0; i < n; ++i) mean += importance[i];
  mean /= static_cast<double>(n);
  const float floor = static_cast<float>(1e-3 * mean) + 1e-30f;
  for (int64_t i = 0; i < n; ++i) w[i] = importance[i] + floor;
}

}  // namespace qforge::quant_internal
