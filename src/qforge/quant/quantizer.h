// qforge's error-minimizing quantizers, one per weight format. Each fits every block to its
// grid by the exact or refined searches in quant/fit.h, weighting each value's squared error
// by the importance of its input column (from an importance matrix; uniform without one).
// The written blocks are bit-compatible with llama.cpp's layouts (formats/blocks.h).
#pragma once

#include <cstdint>

#include "qforge/formats/ggml_type.h"

namespace qforge {

// Quantizes one row of `n` values (a multiple of the type's block size) into `out`.
// `importance` holds one non-negative weight per column, or is null.
using RowQuantizerFn = void (*)(const float* x, void* out, int64_t n, const float* importance);

// Null for types qforge cannot quantize to.
RowQuantizerFn FindRowQuantizer(GgmlType type);

}  // namespace qforge
