// MatMul over F16 weights: a prompt's rows go through the widened activations, the register
// tiles and the four-row kernel, with tails of each; every output must carry the bits of the
// single F16 dot of its weight row and its activation row, as generation computes it.
#include "qforge/kernels/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <random>
#include <vector>

#include "qforge/core/fp16.h"
#include "qforge/kernels/dispatch.h"

namespace qforge {
namespace {

TEST(MatMulF16, EveryOutputHasTheSingleDotsBits) {
  std::mt19937 rng(17);
  std::normal_distribution<float> normal;
  ThreadPool pool(2);
  const VecDotFn single = SelectVecDot(GgmlType::F16);
  // n_in with and without vector tails; n_out not a multiple of a tile or of the threads'
  // grain; 11 activation rows = two groups of four and three single rows.
  for (const auto& [n_in, n_out] : {std::pair<int64_t, int64_t>{40, 7}, {576, 101}, {1000, 64}}) {
    const int64_t n_rows = 11;
    std::vector<uint16_t> weights(static_cast<size_t>(n_in * n_out));
    for (auto& v : weights) v = Fp32ToFp16(0.05f * normal(rng));
    std::vector<float> x(static_cast<size_t>(n_in * n_rows));
    for (auto& v : x) v = normal(rng);
    WeightMatrix w;
    w.type = GgmlType::F16;
    w.data = reinterpret_cast<const uint8_t*>(weights.data());
    w.n_in = n_in;
    w.n_out = n_out;
    w.row_bytes = static_cast<size_t>(n_in) * sizeof(uint16_t);
    w.ops = FindFormatOps(GgmlType::F16);

    QuantizedRows prompt;
    QuantizeRows(x.data(), n_rows, n_in, n_in, GgmlType::F16, prompt, pool);
    std::vector<float> y(static_cast<size_t>(n_rows * n_out));
    MatMul(w, prompt, y.data(), n_out, pool);

    for (int64_t r = 0; r < n_rows; ++r) {
      QuantizedRows one;  // one row: F16 halves, as in generation
      QuantizeRows(x.data() + r * n_in, 1, n_in, n_in, GgmlType::F16, one, pool);
      ASSERT_TRUE(one.widened.empty());
      for (int64_t o = 0; o < n_out; ++o) {
        const float expected = single(n_in, w.Row(o), one.Row(0));
        ASSERT_EQ(FloatToBits(y[static_cast<size_t>(r * n_out + o)]), FloatToBits(expected))
            << "n_in " << n_in << " row " << r << " output " << o << ": " << y[static_cast<size_t>(r * n_out + o)]
            << " vs " << expected;
      }
    }
  }
}

// The widened rows hold exactly the values of the F16 rows they replace (the vector rounding
// against the reference conversion): ties, subnormal halves, the largest half, overflow to inf.
TEST(MatMulF16, WidenedRowsAreTheHalfPrecisionValues) {
  if (!SelectF16Widened().one) GTEST_SKIP() << "this CPU has no widened F16 kernels";
  ThreadPool pool(1);
  const int64_t n = 37, n_rows = 5;
  std::vector<float> x(static_cast<size_t>(n * n_rows));
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.001f * static_cast<float>(i * i) - 3.0f;
  const float edges[] = {1.0f + 1.0f / 2048,  // halfway between two halves: rounds to even (1.0)
                         1.0f + 3.0f / 2048,  // halfway, rounds up to even
                         1e-6f, -3e-8f, 6e-8f, 2.9e-8f, -0.0f, 65504.0f, 65519.0f, 65520.0f, -1e6f,
                         std::numeric_limits<float>::infinity()};
  std::copy(std::begin(edges), std::end(edges), x.begin() + 3);
  std::copy(std::begin(edges), std::end(edges), x.begin() + 2 * n + 25);  // ends in the row's scalar tail
  QuantizedRows rows;
  QuantizeRows(x.data(), n_rows, n, n, GgmlType::F16, rows, pool);
  ASSERT_EQ(rows.widened_stride, 48);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(rows.widened.data()) % 64, 0u);
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t i = 0; i < n; ++i) {
      const float want = Fp16ToFp32(Fp32ToFp16(x[static_cast<size_t>(r * n + i)]));
      EXPECT_EQ(FloatToBits(rows.widened[static_cast<size_t>(r * rows.widened_stride + i)]), FloatToBits(want)) << r << "," << i;
    }
  }
}

}  // namespace
}  // namespace qforge
