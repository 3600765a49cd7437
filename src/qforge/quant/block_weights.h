// Per-value weights of the block being fitted.
#pragma once

#include <cmath>
#include <cstdint>

#include "qforge/quant/quantizer.h"

namespace qforge::quant_internal {

// Weights of the n values x[0..n) that start at column `first` of the row, fitted in scale
// groups of `group` values: the column's importance plus a small floor (a fraction of the
// block's mean importance, so that columns the calibration text never excited are not ignored
// entirely), or 1 without importance; then, when the weighting protects outliers, each group's
// largest |x| counts kGroupMaxWeight times as much.
inline void BlockWeights(const RowWeighting& weighting, int64_t first, const float* x, int64_t n,
                         int group, float* w) {
  if (weighting.importance == nullptr) {
    for (int64_t i = 0; i < n; ++i) w[i] = 1.0f;
  } else {
    const float* importance = weighting.importance + first;
    double mean = 0.0;
    for (int64_t i = 0; i < n; ++i) mean += importance[i];
    mean /= static_cast<double>(n);
    const float floor = static_cast<float>(1e-3 * mean) + 1e-30f;
    for (int64_t i = 0; i < n; ++i) w[i] = importance[i] + floor;
  }
  if (!weighting.protect_group_max) return;
  for (int64_t g = 0; g < n; g += group) {
    int64_t largest = g;
    for (int64_t i = g + 1; i < g + group; ++i) {
      if (std::fabs(x[i]) > std::fabs(x[largest])) largest = i;
    }
    w[largest] *= kGroupMaxWeight;
  }
}

}  // namespace qforge::quant_internal
