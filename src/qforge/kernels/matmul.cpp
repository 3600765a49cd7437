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
  const VecDot4Fn dot4 = x.n_rows >= 4 ? SelectVecDot4(w.type) : nullptr;
  const int64_t rows4 = dot4 ? x.n_rows / 4 * 4 : 0;
  // Threads split the weight rows. Within a thread's share, a tile of weight rows stays in
  // cache while every activation row passes by, four at a time so that each weight block is
  // unpacked once per four rows. The four-row kernel gives each row the same bits as the
  // single dot, so results do not depend on the batch size.
  constexpr size_t kGrain = 16;
  constexpr size_t kTile = 32;
  pool.ParallelFor(
      static_cast<size_t>(w.n_out),
      [&](size_t begin, size_t end, int) {
        for (size_t tile = begin; tile < end; tile += kTile) {
          const size_t tile_end = std::min(end, tile + kTile);
          for (int64_t r = 0; r < rows4; r += 4) {
            for (size_t o = tile; o < tile_end; ++o) {
              float v[4];
              dot4(w.n_in, w.Row(static_cast<int64_t>(o)), x.Row(r), x.row_bytes, v);
              for (int k = 0; k < 4; ++k) y[(r + k) * ldy + static_cast<int64_t>(o)] = v[k];
            }
          }
          for (int64_t r = rows4; r < x.n_rows; ++r) {
            for (size_t o = tile; o < tile_end; ++o) {
              y[r * ldy + static_cast<int64_t>(o)] = dot(w.n_in, w.Row(static_cast<int64_t>(o)), x.Row(r));
            }
          }
        }
      },
      kGrain);
}

void DequantizeRow(const WeightMatrix& w, int64_t row, float* out) {
  w.ops->dequantize_row(w.Row(row), out, w.n_in);
}

}  // namespace qforge
