// Matrix multiplication of float activations with quantized weight matrices, as llama.cpp
// does it: each activation row is first quantized to the weight type's partner type
// (Q8_0, Q8_1, Q8_K, F16, ...), then every output is an integer-friendly dot product.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qforge/core/aligned_allocator.h"
#include "qforge/core/thread_pool.h"
#include "qforge/formats/registry.h"

namespace qforge {

// A row-major matrix of `n_out` rows of `n_in` values each, stored in any supported format.
// y = W x computes one output per row. The bytes are not owned (usually an mmapped file).
struct WeightMatrix {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t n_in = 0;
  int64_t n_out = 0;
  size_t row_bytes = 0;
  const FormatOps* ops = nullptr;
  const std::string* name = nullptr;  // tensor name in the model file, for statistics/errors
  // The same matrix in interleaved groups of eight rows (kernels/interleaved.h), owned by the
  // model, or null. MatMul reads it when present; `data` stays valid for row lookups.
  const uint8_t* interleaved = nullptr;

  const uint8_t* Row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes; }
  uint64_t bytes() const { return static_cast<uint64_t>(n_out) * row_bytes; }
};

// Activation rows quantized to one vec_dot type; reused by every weight that reads the same
// input (q/k/v, gate/up).
struct QuantizedRows {
  GgmlType type = GgmlType::F32;
  int64_t n_rows = 0;
  int64_t n = 0;
  size_t row_bytes = 0;
  std::vector<uint8_t, AlignedAllocator<uint8_t>> data;  // rows start aligned as `widened` does
  std::vector<int16_t> block_sums;  // Q8_0 rows: each block's code sum (n / 32 per row)
  // F16 rows of a prompt (four or more, where the CPU has kernels that read them so): the
  // floats the halves stand for, in place of `data`, each row on a cache line, `widened_stride`
  // floats apart. The F16 kernels then neither widen an activation once per weight row nor
  // once per weight that reads the same input.
  std::vector<float, AlignedAllocator<float>> widened;
  int64_t widened_stride = 0;

  const uint8_t* Row(int64_t r) const { return data.data() + static_cast<size_t>(r) * row_bytes; }
};

// The sum of each 32-code block of a Q8_0 row of `n` values (QuantizedRows::block_sums).
void Q8_0BlockSums(const uint8_t* row, int64_t n, int16_t* sums);

// Quantizes `n_rows` rows of `n` floats (row stride `stride` floats) to `type`.
void QuantizeRows(const float* x, int64_t n_rows, int64_t n, int64_t stride, GgmlType type,
                  QuantizedRows& out, ThreadPool& pool);

// y[r * ldy + o] = dot(W row o, x row r) for every activation row r and output o.
// `x` must be quantized to w.ops->vec_dot_type with n == w.n_in.
void MatMul(const WeightMatrix& w, const QuantizedRows& x, float* y, int64_t ldy, ThreadPool& pool);

// Dequantizes one row of a weight matrix (embedding lookup).
void DequantizeRow(const WeightMatrix& w, int64_t row, float* out);

}  // namespace qforge
