// Interleaved weight groups (kernels/interleaved.h): the layout holds the rows it was given,
// every ISA's kernel gives the scalar reference's bits, and MatMul's result for a row does
// not depend on how many activation rows were multiplied with it.
#include "qforge/kernels/interleaved.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "qforge/formats/blocks.h"
#include "qforge/kernels/matmul.h"
#include "qforge/core/fp16.h"

namespace qforge {
namespace {

// A weight matrix of `n_out` random rows quantized to `type`, its bytes owned here.
struct TestMatrix {
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> interleaved;
  WeightMatrix w;
  std::vector<float> values;  // dequantized, row-major
};

TestMatrix MakeMatrix(GgmlType type, int64_t n_in, int64_t n_out, std::mt19937& rng) {
  TestMatrix m;
  const FormatOps* ops = FindFormatOps(type);
  m.w.type = type;
  m.w.n_in = n_in;
  m.w.n_out = n_out;
  m.w.ops = ops;
  m.w.row_bytes = static_cast<size_t>(*RowBytes(type, static_cast<uint64_t>(n_in)));
  m.bytes.resize(m.w.row_bytes * static_cast<size_t>(n_out));
  m.values.resize(static_cast<size_t>(n_in * n_out));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(n_in));
  for (int64_t o = 0; o < n_out; ++o) {
    for (float& v : row) v = normal(rng) * 0.05f * static_cast<float>(1 + o % 3);
    ops->quantize_row_ref(row.data(), m.bytes.data() + o * m.w.row_bytes, n_in, nullptr);
    ops->dequantize_row(m.bytes.data() + o * m.w.row_bytes, m.values.data() + o * n_in, n_in);
  }
  m.w.data = m.bytes.data();
  m.interleaved.resize(m.bytes.size());
  InterleaveRows(m.w, m.interleaved.data());
  return m;
}

QuantizedRows MakeActivations(GgmlType type, int64_t n, int64_t n_rows, std::mt19937& rng, ThreadPool& pool) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * n_rows));
  for (float& v : x) v = normal(rng);
  QuantizedRows q;
  QuantizeRows(x.data(), n_rows, n, n, FindFormatOps(type)->vec_dot_type, q, pool);
  return q;
}

class Interleaved : public testing::TestWithParam<GgmlType> {};

TEST_P(Interleaved, ReferenceMatchesTheRowMajorMatrixInFloat64) {
  const GgmlType type = GetParam();
  std::mt19937 rng(11);
  ThreadPool pool(1);
  for (int64_t n : {32, 96, 576}) {
    const TestMatrix m = MakeMatrix(type, n, 16, rng);
    const QuantizedRows x = MakeActivations(type, n, 1, rng, pool);
    std::vector<float> act(static_cast<size_t>(n));
    FindFormatOps(x.type)->dequantize_row(x.Row(0), act.data(), n);
    const size_t group_bytes = InterleavedGroupBytes(type, n);
    for (int g = 0; g < 2; ++g) {
      float got[8];
      InterleavedDotReference(type, n, m.interleaved.data() + g * group_bytes, x.Row(0),
                              x.block_sums.empty() ? nullptr : x.block_sums.data(), got);
      for (int k = 0; k < 8; ++k) {
        const int64_t o = 8 * g + k;
        double exact = 0, magnitude = 0;
        for (int64_t i = 0; i < n; ++i) {
          exact += static_cast<double>(m.values[o * n + i]) * act[i];
          magnitude += std::fabs(static_cast<double>(m.values[o * n + i]) * act[i]);
        }
        // Float accumulation over n/32 blocks plus the fp16 products of scales: a few ulps of
        // the magnitude; Q4_1's and Q5_1's minimum meets the fp16-rounded activation sum (s), which
        // costs up to 2^-11 of it per block.
        const bool with_min = type == GgmlType::Q4_1 || type == GgmlType::Q5_1;
        const double bound = magnitude * (with_min ? 2e-3 : 1e-5) + 1e-6;
        EXPECT_NEAR(got[k], exact, bound) << GgmlTypeName(type) << " n=" << n << " row " << o;
      }
    }
  }
}

TEST_P(Interleaved, EveryIsaGivesTheReferenceBitsForOneAndFourRows) {
  const GgmlType type = GetParam();
  std::mt19937 rng(12);
  ThreadPool pool(1);
  const int64_t n = 576;
  const TestMatrix m = MakeMatrix(type, n, 8, rng);
  const QuantizedRows x = MakeActivations(type, n, 4, rng, pool);
  const size_t sums_stride = static_cast<size_t>(n / 32);
  const int16_t* sums = x.block_sums.empty() ? nullptr : x.block_sums.data();
  float want[4][8];
  for (int r = 0; r < 4; ++r) {
    InterleavedDotReference(type, n, m.interleaved.data(), x.Row(r), sums ? sums + r * sums_stride : nullptr, want[r]);
  }
  int simd_kernels = 0;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    const InterleavedKernels k = InterleavedKernelsForIsa(type, isa);
    if (!k.one) continue;
    if (isa != Isa::kScalar) ++simd_kernels;
    for (int r = 0; r < 4; ++r) {
      float got[8];
      k.one(n, m.interleaved.data(), x.Row(r), x.row_bytes, sums ? sums + r * sums_stride : nullptr, sums_stride, got, 8);
      for (int o = 0; o < 8; ++o) EXPECT_EQ(FloatToBits(got[o]), FloatToBits(want[r][o])) << IsaName(isa) << " one row " << r << "/" << o;
    }
    if (!k.four) continue;
    float got[4][8];
    k.four(n, m.interleaved.data(), x.Row(0), x.row_bytes, sums, sums_stride, &got[0][0], 8);
    for (int r = 0; r < 4; ++r) {
      for (int o = 0; o < 8; ++o) EXPECT_EQ(FloatToBits(got[r][o]), FloatToBits(want[r][o])) << IsaName(isa) << " four " << r << "/" << o;
    }
  }
  if (BestIsa() != Isa::kScalar) {
    EXPECT_GT(simd_kernels, 0);
  }
}

// Prompt processing (many activation rows) and generation (one) must agree bit for bit, and
// the interleaved product must agree with the row-major one to rounding.
TEST_P(Interleaved, MatMulRowsDoNotDependOnTheBatch) {
  const GgmlType type = GetParam();
  std::mt19937 rng(13);
  ThreadPool pool(2);
  const int64_t n = 96, n_out = 72, n_rows = 7;
  TestMatrix m = MakeMatrix(type, n, n_out, rng);
  const QuantizedRows x = MakeActivations(type, n, n_rows, rng, pool);
  std::vector<float> row_major(static_cast<size_t>(n_rows * n_out)), batch(row_major.size());
  MatMul(m.w, x, row_major.data(), n_out, pool);
  m.w.interleaved = m.interleaved.data();
  MatMul(m.w, x, batch.data(), n_out, pool);
  for (int64_t r = 0; r < n_rows; ++r) {
    QuantizedRows one = x;
    one.n_rows = 1;
    one.data.assign(x.Row(r), x.Row(r) + x.row_bytes);
    if (!x.block_sums.empty()) {
      one.block_sums.assign(x.block_sums.begin() + r * (n / 32), x.block_sums.begin() + (r + 1) * (n / 32));
    }
    std::vector<float> single(static_cast<size_t>(n_out));
    MatMul(m.w, one, single.data(), n_out, pool);
    for (int64_t o = 0; o < n_out; ++o) {
      const float got = batch[static_cast<size_t>(r * n_out + o)];
      ASSERT_EQ(FloatToBits(single[static_cast<size_t>(o)]), FloatToBits(got)) << "row " << r << " output " << o;
      EXPECT_NEAR(got, row_major[static_cast<size_t>(r * n_out + o)], 1e-4 * (1 + std::fabs(got)));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, Interleaved,
                         testing::Values(GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0),
                         [](const testing::TestParamInfo<GgmlType>& info) {
                           return std::string(GgmlTypeName(info.param));
                         });

// A Q8_0 code of -128 (legal in the format, never written by a quantizer that scales to 127)
// must not break the sign trick.
TEST(InterleavedQ8_0, CodeMinus128) {
  std::mt19937 rng(14);
  ThreadPool pool(1);
  const int64_t n = 64;
  TestMatrix m = MakeMatrix(GgmlType::Q8_0, n, 8, rng);
  for (int k = 0; k < 8; ++k) {
    auto* blocks = reinterpret_cast<BlockQ8_0*>(m.bytes.data() + k * m.w.row_bytes);
    blocks[0].qs[k] = -128;
    blocks[1].qs[31 - k] = -128;
  }
  InterleaveRows(m.w, m.interleaved.data());
  const QuantizedRows x = MakeActivations(GgmlType::Q8_0, n, 1, rng, pool);
  float want[8];
  InterleavedDotReference(GgmlType::Q8_0, n, m.interleaved.data(), x.Row(0), nullptr, want);
  for (int k = 0; k < 8; ++k) {
    const float row_major = FindFormatOps(GgmlType::Q8_0)->vec_dot_ref(n, m.bytes.data() + k * m.w.row_bytes, x.Row(0));
    EXPECT_NEAR(want[k], row_major, 1e-5 * (1 + std::fabs(row_major))) << k;
  }
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    const InterleavedKernels k = InterleavedKernelsForIsa(GgmlType::Q8_0, isa);
    if (!k.one) continue;
    float got[8];
    k.one(n, m.interleaved.data(), x.Row(0), x.row_bytes, nullptr, 0, got, 8);
    for (int o = 0; o < 8; ++o) EXPECT_EQ(FloatToBits(got[o]), FloatToBits(want[o])) << IsaName(isa) << " " << o;
  }
}

TEST(InterleavedShapes, OnlyWholeGroupsOfSupportedFormats) {
  EXPECT_TRUE(CanInterleave(GgmlType::Q4_0, 576, 1536));
  EXPECT_TRUE(CanInterleave(GgmlType::Q8_0, 64, 8));
  EXPECT_FALSE(CanInterleave(GgmlType::Q4_0, 576, 1532));  // 1532 rows: not whole groups
  EXPECT_FALSE(CanInterleave(GgmlType::Q4_0, 48, 8));      // not whole blocks
  EXPECT_FALSE(CanInterleave(GgmlType::IQ4_NL, 576, 1536));  // no interleaved kernels
  EXPECT_FALSE(CanInterleave(GgmlType::Q4_K, 1536, 576));
  EXPECT_EQ(InterleavedGroupBytes(GgmlType::Q4_0, 576), 8u * 18u * 18u);
}

}  // namespace
}  // namespace qforge
