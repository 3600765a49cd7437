// Every SIMD dot-product kernel against the scalar reference and against a float64 dot of the
// dequantized operands, over every weight format, every ISA this CPU runs, row lengths with
// odd block counts, and buffers that are not aligned to any vector width (they keep the 4-byte
// alignment the block structs need, as GGUF's 32-byte tensor alignment guarantees).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "qforge/formats/registry.h"
#include "qforge/kernels/dispatch.h"
#include "qforge/core/fp16.h"

namespace qforge {
namespace {

struct QuantizedRow {
  std::vector<uint8_t> storage;
  uint8_t* data = nullptr;     // `offset` bytes past a 64-byte boundary
  std::vector<double> values;  // the row as dequantized, for the float64 dot
};

QuantizedRow Quantize(GgmlType type, const std::vector<float>& x, size_t offset) {
  const FormatOps* ops = FindFormatOps(type);
  const auto bytes = static_cast<size_t>(*RowBytes(type, x.size()));
  QuantizedRow row;
  row.storage.assign(bytes + offset + 128, 0);
  auto* base = row.storage.data();
  base += (64 - reinterpret_cast<uintptr_t>(base) % 64) % 64;
  row.data = base + offset;
  ops->quantize_row_ref(x.data(), row.data, static_cast<int64_t>(x.size()), nullptr);
  std::vector<float> back(x.size());
  ops->dequantize_row(row.data, back.data(), static_cast<int64_t>(x.size()));
  row.values.assign(back.begin(), back.end());
  return row;
}

std::vector<float> RandomRow(std::mt19937& rng, int64_t n, float scale) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = normal(rng);
  // A few outliers, as real activations have, exercise the extreme codes.
  for (int64_t i = 0; i < n; i += 97) x[static_cast<size_t>(i)] *= 8.0f;
  return x;
}

class VecDotKernels : public testing::TestWithParam<GgmlType> {};

TEST_P(VecDotKernels, MatchReferenceAndFloat64) {
  const GgmlType type = GetParam();
  const FormatOps* ops = FindFormatOps(type);
  ASSERT_NE(ops, nullptr);
  const int64_t block = GgmlTypeInfoOf(type).block_size;
  std::mt19937 rng(1234 + static_cast<int>(type));
  int kernels_tested = 0;
  for (int64_t blocks : {1, 3, 8, 17}) {
    const int64_t n = blocks * std::max<int64_t>(block, 256);  // Q8_K activations need 256s
    for (size_t offset : {0, 4, 36}) {
      const auto w = Quantize(type, RandomRow(rng, n, 0.05f), offset);
      const auto a = Quantize(ops->vec_dot_type, RandomRow(rng, n, 1.0f), offset + 8);
      double exact = 0.0, magnitude = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        exact += w.values[static_cast<size_t>(i)] * a.values[static_cast<size_t>(i)];
        magnitude += std::fabs(w.values[static_cast<size_t>(i)] * a.values[static_cast<size_t>(i)]);
      }
      const float reference = ops->vec_dot_ref(n, w.data, a.data);
      // Float32 accumulation over n products: a few units in the last place of the sum of
      // magnitudes. The scale products (fp16 x fp32) add one rounding per block.
      double bound = 4e-6 * magnitude + 1e-30;
      if (ops->vec_dot_type == GgmlType::Q8_1) {
        // Q8_1 stores each block's sum in half precision, and the weight offset meets that
        // sum: one fp16 rounding (2^-11 relative) of |offset| * |block sum| per block.
        for (int64_t b = 0; b < n / 32; ++b) {
          double wmax = 0.0, asum = 0.0;
          for (int64_t i = 32 * b; i < 32 * b + 32; ++i) {
            wmax = std::max(wmax, std::fabs(w.values[static_cast<size_t>(i)]));
            asum += a.values[static_cast<size_t>(i)];
          }
          bound += wmax * std::fabs(asum) * std::ldexp(1.0, -11);
        }
      }
      EXPECT_NEAR(reference, exact, bound) << "scalar reference, n=" << n;
      for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
        VecDotFn fn = VecDotForIsa(type, isa);
        if (!fn) continue;
        ++kernels_tested;
        const float got = fn(n, w.data, a.data);
        EXPECT_NEAR(got, reference, bound) << IsaName(isa) << " vs reference, n=" << n << " offset=" << offset;
        EXPECT_NEAR(got, exact, bound) << IsaName(isa) << " vs float64, n=" << n << " offset=" << offset;
      }
    }
  }
  if (BestIsa() != Isa::kScalar && type != GgmlType::F32 && type != GgmlType::F16 && type != GgmlType::BF16) {
    EXPECT_GT(kernels_tested, 0) << "no SIMD kernel for " << GgmlTypeName(type);
  }
}

// The four-row kernels feed prompt processing; generation uses the single dot. Each of the
// four results must equal the single dot's bits, or a prompt's logits would depend on how it
// was split into batches (the eval's prefix reuse relies on that).
TEST_P(VecDotKernels, FourRowKernelMatchesSingleDotBitForBit) {
  const GgmlType type = GetParam();
  const FormatOps* ops = FindFormatOps(type);
  ASSERT_NE(ops, nullptr);
  const int64_t block = GgmlTypeInfoOf(type).block_size;
  std::mt19937 rng(99 + static_cast<int>(type));
  int kernels_tested = 0;
  for (int64_t blocks : {1, 3, 9}) {
    const int64_t n = blocks * std::max<int64_t>(block, 256);
    const auto w = Quantize(type, RandomRow(rng, n, 0.05f), 4);
    const auto row_bytes = static_cast<size_t>(*RowBytes(ops->vec_dot_type, static_cast<uint64_t>(n)));
    const size_t stride = row_bytes + 36;  // rows not adjacent and not vector-aligned
    std::vector<uint8_t> rows(4 * stride + 64);
    for (int r = 0; r < 4; ++r) {
      const auto a = Quantize(ops->vec_dot_type, RandomRow(rng, n, 1.0f + r), 0);
      std::memcpy(rows.data() + 4 + r * stride, a.data, row_bytes);
    }
    for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
      const VecDotFn one = VecDotForIsa(type, isa);
      const VecDot4Fn four = VecDot4ForIsa(type, isa);
      if (!one || !four) continue;
      ++kernels_tested;
      float got[4];
      four(n, w.data, rows.data() + 4, stride, got);
      for (int r = 0; r < 4; ++r) {
        const float single = one(n, w.data, rows.data() + 4 + r * stride);
        EXPECT_EQ(FloatToBits(got[r]), FloatToBits(single)) << IsaName(isa) << " row " << r << " n=" << n << ": " << got[r] << " vs " << single;
      }
    }
  }
  const bool integer_type = type != GgmlType::F32 && type != GgmlType::F16 && type != GgmlType::BF16;
  if (BestIsa() != Isa::kScalar && integer_type) {
    EXPECT_GT(kernels_tested, 0) << "no four-row kernel for " << GgmlTypeName(type);
  }
}

// F16 prompts widen the activation rows to float once and use kernels that read them so (one
// weight row, or a register tile of several, against four activation rows); the widening is
// exact, so each (weight row, activation row) pair must still get the single dot's bits.
TEST(VecDotF16Widened, MatchesSingleDotBitForBit) {
  const F16WidenedKernels wide = SelectF16Widened();
  if (!wide.one) GTEST_SKIP() << "no widened F16 kernels pair with this CPU's single dot";
  const VecDotFn one = SelectVecDot(GgmlType::F16);
  const int n_weight_rows = std::max(1, wide.tile_rows);
  std::mt19937 rng(5);
  for (int64_t n : {7, 16, 40, 64, 576, 1000}) {
    // Rows not adjacent and, with the odd extra floats and halves, not vector-aligned.
    const size_t w_stride = static_cast<size_t>(n + 3) * sizeof(uint16_t);
    const size_t a_stride = static_cast<size_t>(n + 5) * sizeof(float);
    std::vector<QuantizedRow> weights;
    std::vector<uint16_t> weight_rows(static_cast<size_t>(n_weight_rows) * (w_stride / 2));
    for (int k = 0; k < n_weight_rows; ++k) {
      weights.push_back(Quantize(GgmlType::F16, RandomRow(rng, n, 0.05f), 2));
      std::memcpy(weight_rows.data() + k * (w_stride / 2), weights[k].data, static_cast<size_t>(n) * 2);
    }
    std::vector<QuantizedRow> halves;
    std::vector<float> widened(4 * (a_stride / sizeof(float)) + 1);
    float* rows = widened.data() + 1;
    for (int r = 0; r < 4; ++r) {
      halves.push_back(Quantize(GgmlType::F16, RandomRow(rng, n, 1.0f), 0));
      for (int64_t i = 0; i < n; ++i) rows[r * (a_stride / sizeof(float)) + i] = static_cast<float>(halves[r].values[i]);
    }
    float four[4];
    wide.four(n, weights[0].data, rows, a_stride, four);
    float tile[4 * kMaxF16TileRows];
    if (wide.tile) wide.tile(n, weight_rows.data(), w_stride, rows, a_stride, tile);
    for (int r = 0; r < 4; ++r) {
      const float* row = rows + r * (a_stride / sizeof(float));
      const float single = one(n, weights[0].data, halves[r].data);
      EXPECT_EQ(FloatToBits(wide.one(n, weights[0].data, row)), FloatToBits(single)) << "row " << r << " n=" << n;
      EXPECT_EQ(FloatToBits(four[r]), FloatToBits(single)) << "row " << r << " n=" << n << ": " << four[r] << " vs " << single;
      for (int k = 0; wide.tile && k < wide.tile_rows; ++k) {
        const float expected = one(n, weights[k].data, halves[r].data);
        EXPECT_EQ(FloatToBits(tile[k * 4 + r]), FloatToBits(expected))
            << "tile weight row " << k << " activation row " << r << " n=" << n << ": " << tile[k * 4 + r] << " vs " << expected;
      }
    }
  }
}

std::vector<GgmlType> WeightTypes() {
  std::vector<GgmlType> types;
  for (const FormatOps& ops : AllFormatOps()) {
    if (!ops.is_activation_type && ops.vec_dot_ref) types.push_back(ops.type);
  }
  return types;
}

INSTANTIATE_TEST_SUITE_P(AllWeightFormats, VecDotKernels, testing::ValuesIn(WeightTypes()),
                         [](const testing::TestParamInfo<GgmlType>& info) {
                           return std::string(GgmlTypeName(info.param));
                         });

}  // namespace
}  // namespace qforge
