// qforge's error-minimizing quantizers, one per weight format. Each fits every block to its
// grid by the exact or refined searches in quant/fit.h, weighting each value's squared error
// by the importance of its input column (quant/importance.h; uniform without one).
// The written blocks are bit-compatible with llama.cpp's layouts (formats/blocks.h).
#pragma once

#include <cstdint>

#include "qforge/formats/ggml_type.h"

namespace qforge {

// How the squared error of a row's values is weighted.
struct RowWeighting {
  const float* importance = nullptr;  // one non-negative weight per column, or null
  // Where the importance was not measured: the largest |x| of each scale group (the values one
  // scale serves) counts kGroupMaxWeight times more, so the fit keeps it close to its value
  // instead of trading it for the group's small values (docs/decisions.md, "Outlier protection").
  bool protect_group_max = false;
};
inline constexpr float kGroupMaxWeight = 4.0f;

// Quantizes one row of `n` values (a multiple of the type's block size) into `out`.
using RowQuantizerFn = void (*)(const float* x, void* out, int64_t n, const RowWeighting& weighting);

// Null for types qforge cannot quantize to.
RowQuantizerFn FindRowQuantizer(GgmlType type);

}  // namespace qforge
