#include "qforge/kernels/matmul.h"

#include <algorithm>

#include "qforge/kernels/dispatch.h"

namespace qforge {

void QuantizeRows(const float* x, int64_t n_rows, int64_t n, int64_t stride, GgmlType type,
                  QuantizedRows& out, ThreadPool& pool) {
  const FormatOps* ops = FindFormatOps(type);
  out.type = type;
  out.n_rows = n_rows;
  out.n = n;
  out.row_bytes = static_cast<size_t>(*RowBytes(type, static_cast<uint64_t>(n)));
  out.data.resize(out.row_bytes * static_cast<size_t>(n_rows));
  pool.ParallelFor(static_cast<size_t>(n_rows), [&](size_t begin, size_t end, int) {
    for (size_t r = begin; r < end; ++r) {
      ops->quantize_row_ref(x + r * stride, out.data.data() + r * out.row_bytes, n, nullptr);
    }
  });
}

void MatMul(const WeightMatrix& w, const QuantizedRows& x, float* y, int64_t ldy, ThreadPool& pool) {
  const VecDotFn dot = SelectVecDot(w.type);
  // Split the weight rows across threads; each weight row is read once and dotted with every
  // activation row while it is in cache.
  constexpr size_t kGrain = 16;
  pool.ParallelFor(
      static_cast<size_t>(w.n_out),
      [&](size_t begin, size_t end, int) {
        for (size_t o = begin; o < end; ++o) {
          const uint8_t* row = w.Row(static_cast<int64_t>(o));
          for (int64_t r = 0; r < x.n_rows; ++r) y[r * ldy + o] = dot(w.n_in, row, x.Row(r));
        }
      },
      kGrain);
}

void DequantizeRow(const WeightMatrix& w, int64_t row, float* out) {
  w.ops->dequantize_row(w.Row(row), out, w.n_in);
}

}  // namespace qforge
