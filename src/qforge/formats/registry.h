// The table of formats qforge computes with: one entry per ggml type, registered once.
// Tests, kernels and the CLI iterate over it, so a new format is tested the day it is added.
#pragma once

#include <cstdint>
#include <span>

#include "qforge/formats/ggml_type.h"

namespace qforge {

// Dequantizes `n` values (a multiple of the block size) from `src` blocks.
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
// Quantizes `n` values to blocks. `importance` holds one non-negative weight per value (or is
// null for uniform weights); quantizers that fit scales minimize the importance-weighted error.
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n, const float* importance);
// Dot product of one weight row (blocks of the weight type) with one activation row already
// quantized to the weight type's vec_dot_type, both of `n` values.
using VecDotFn = float (*)(int64_t n, const void* weights, const void* activations);

struct FormatOps {
  GgmlType type;
  DequantizeRowFn dequantize_row;
  // Round-to-nearest reference quantizer, the one llama.cpp uses for this type's data
  // without an importance matrix; for activation types it is the conversion ggml applies
  // to activations, bit for bit.
  QuantizeRowFn quantize_row_ref;
  GgmlType vec_dot_type;      // the activation type this weight type is multiplied with
  VecDotFn vec_dot_ref;       // scalar reference; null for activation-only types
  bool is_activation_type;    // Q8_1, Q8_K: only used for activations
};

// Null for types qforge cannot compute with.
const FormatOps* FindFormatOps(GgmlType type);
std::span<const FormatOps> AllFormatOps();

}  // namespace qforge
