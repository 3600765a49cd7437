#include "qforge/kernels/matmul.h"

#include <algorithm>
#include <vector>

#include "qforge/formats/blocks.h"
#include "qforge/kernels/dispatch.h"
#include "qforge/kernels/interleaved.h"

namespace qforge {

void Q8_0BlockSums(const uint8_t* row, int64_t n, int16_t* sums) {
  const auto* blocks = reinterpret_cast<const BlockQ8_0*>(row);
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sum = 0;
    for (int8_t q : blocks[b].qs) sum += q;
    sums[b] = static_cast<int16_t>(sum);  // at most 32 * 127 in magnitude
  }
}

void QuantizeRows(const float* x, int64_t n_rows, int64_t n, int64_t stride, GgmlType type,
                  QuantizedRows& out, ThreadPool& pool) {
  const QuantizeRowFn quantize = SelectActivationQuantizer(type);
  out.type = type;
  out.n_rows = n_rows;
  out.n = n;
  out.row_bytes = static_cast<size_t>(*RowBytes(type, static_cast<uint64_t>(n)));
  const F16WidenedKernels wide = type == GgmlType::F16 && n_rows >= 4 ? SelectF16Widened() : F16WidenedKernels{};
  out.data.resize(wide.widen ? 0 : out.row_bytes * static_cast<size_t>(n_rows));
  out.widened_stride = wide.widen ? (n + 15) / 16 * 16 : 0;
  out.widened.resize(static_cast<size_t>(n_rows * out.widened_stride));
  const bool sums = type == GgmlType::Q8_0;
  const QuantizeQ8_0WithSumsFn with_sums = sums ? SelectQ8_0WithSums() : nullptr;
  const int64_t nb = n / kQK;
  out.block_sums.resize(sums ? static_cast<size_t>(n_rows * nb) : 0);
  pool.ParallelFor(static_cast<size_t>(n_rows), [&](size_t begin, size_t end, int) {
    for (size_t r = begin; r < end; ++r) {
      if (wide.widen) {
        wide.widen(x + r * stride, out.widened.data() + r * out.widened_stride, n);
        continue;
      }
      uint8_t* row = out.data.data() + r * out.row_bytes;
      if (with_sums) {
        with_sums(x + r * stride, row, n, out.block_sums.data() + r * nb);
        continue;
      }
      quantize(x + r * stride, row, n, nullptr);
      if (sums) Q8_0BlockSums(row, n, out.block_sums.data() + r * nb);
    }
  });
}

namespace {

// y = W x over the interleaved groups: threads split the groups; within a share, a tile of
// groups stays in cache while the activation rows pass four at a time.
void MatMulInterleaved(const WeightMatrix& w, const QuantizedRows& x, float* y, int64_t ldy, ThreadPool& pool) {
  const InterleavedKernels k = SelectInterleavedKernels(w.type);
  const size_t group_bytes = InterleavedGroupBytes(w.type, w.n_in);
  const size_t sums_stride = static_cast<size_t>(w.n_in / kQK);
  const int16_t* sums = x.block_sums.empty() ? nullptr : x.block_sums.data();
  const int64_t rows4 = k.four ? x.n_rows / 4 * 4 : 0;
  constexpr size_t kTileGroups = 4;
  pool.ParallelFor(
      static_cast<size_t>(w.n_out / kInterleaveRows),
      [&](size_t begin, size_t end, int) {
        for (size_t tile = begin; tile < end; tile += kTileGroups) {
          const size_t tile_end = std::min(end, tile + kTileGroups);
          for (int64_t r = 0; r < x.n_rows;) {
            const int64_t step = r < rows4 ? 4 : 1;
            const InterleavedDotFn fn = step == 4 ? k.four : k.one;
            for (size_t g = tile; g < tile_end; ++g) {
              fn(w.n_in, w.interleaved + g * group_bytes, x.Row(r), x.row_bytes,
                 sums ? sums + r * sums_stride : nullptr, sums_stride,
                 y + r * ldy + static_cast<int64_t>(g) * kInterleaveRows, ldy);
            }
            r += step;
          }
        }
      },
      2);
}

}  // namespace

void MatMul(const WeightMatrix& w, const QuantizedRows& x, float* y, int64_t ldy, ThreadPool& pool) {
  if (w.interleaved) return MatMulInterleaved(w, x, y, ldy, pool);
  VecDotFn dot = SelectVecDot(w.type);
  VecDot4Fn dot4 = x.n_rows >= 4 ? SelectVecDot4(w.type) : nullptr;
  const int64_t rows4 = dot4 ? x.n_rows / 4 * 4 : 0;
  // F16 prompts arrive widened to float (QuantizedRows::widened); fewer than four rows
  // (generation) do not: converting them in the kernel costs less than an extra pass and
  // doubled activation reads (SmolLM2 F16 generation on Zen 4, AVX-512, 1 thread: 60-65 -> 80-83 tokens/s,
  // bench_inference A/B in one run).
  const uint8_t* rows = x.data.data();
  size_t row_stride = x.row_bytes;
  F16WidenedKernels wide;
  if (w.type == GgmlType::F16 && !x.widened.empty()) {
    wide = SelectF16Widened();
    dot = wide.one;
    dot4 = wide.four;
    rows = reinterpret_cast<const uint8_t*>(x.widened.data());
    row_stride = static_cast<size_t>(x.widened_stride) * sizeof(float);
  }
  // Threads split the weight rows. Within a thread's share, a tile of weight rows stays in
  // cache while every activation row passes by, four at a time so that each weight block is
  // unpacked once per four rows. F16 prompts go further: a register tile of `tile_rows` weight
  // rows meets the four activation rows at once (dispatch.h). Every kernel gives each row the
  // same bits as the single dot, so results do not depend on the batch size.
  const size_t step = wide.tile ? static_cast<size_t>(wide.tile_rows) : 1;
  const size_t tile_size = 32 / step * step;
  const size_t grain = 16 * step;  // thread shares split into whole register tiles
  pool.ParallelFor(
      static_cast<size_t>(w.n_out),
      [&](size_t begin, size_t end, int) {
        for (size_t tile = begin; tile < end; tile += tile_size) {
          const size_t tile_end = std::min(end, tile + tile_size);
          for (int64_t r = 0; r < rows4; r += 4) {
            size_t o = tile;
            for (; wide.tile && o + step <= tile_end; o += step) {
              float v[4 * kMaxF16TileRows];
              wide.tile(w.n_in, w.Row(static_cast<int64_t>(o)), w.row_bytes, rows + r * row_stride, row_stride, v);
              for (size_t k = 0; k < step; ++k) {
                for (int64_t q = 0; q < 4; ++q) y[(r + q) * ldy + static_cast<int64_t>(o + k)] = v[k * 4 + q];
              }
            }
            for (; o < tile_end; ++o) {
              float v[4];
              dot4(w.n_in, w.Row(static_cast<int64_t>(o)), rows + r * row_stride, row_stride, v);
              for (int k = 0; k < 4; ++k) y[(r + k) * ldy + static_cast<int64_t>(o)] = v[k];
            }
          }
          for (int64_t r = rows4; r < x.n_rows; ++r) {
            for (size_t o = tile; o < tile_end; ++o) {
              y[r * ldy + static_cast<int64_t>(o)] = dot(w.n_in, w.Row(static_cast<int64_t>(o)), rows + r * row_stride);
            }
          }
        }
      },
      grain);
}

void DequantizeRow(const WeightMatrix& w, int64_t row, float* out) {
  w.ops->dequantize_row(w.Row(row), out, w.n_in);
}

}  // namespace qforge
