// The vector quantizers of activation rows (SelectActivationQuantizer) must write the bytes of
// the reference quantizers in formats/, including the cases where the arithmetic is delicate:
// values that land exactly half-way between two codes, all-zero blocks, and blocks whose
// largest magnitude occurs with both signs (Q8_K keeps the first).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "qforge/core/cpu_features.h"
#include "qforge/formats/registry.h"
#include "qforge/kernels/dispatch.h"
#include "qforge/kernels/matmul.h"

namespace qforge {
namespace {

class ActivationQuantizer : public testing::TestWithParam<GgmlType> {};

TEST_P(ActivationQuantizer, WritesTheReferenceBytes) {
  const GgmlType type = GetParam();
  const QuantizeRowFn fast = SelectActivationQuantizer(type);
  const QuantizeRowFn ref = FindFormatOps(type)->quantize_row_ref;
  if (fast == ref) GTEST_SKIP() << "no vector quantizer on this CPU (QFORGE_ISA or no AVX2)";
  const int64_t n = 4 * 256;  // four Q8_K blocks, 32 Q8_0 blocks
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<size_t>(n));
  for (int trial = 0; trial < 50; ++trial) {
    const float spread = std::ldexp(1.0f, trial % 20 - 10);
    for (auto& v : x) v = spread * normal(rng);
    if (trial % 5 == 1) {
      // Largest magnitude 127 (Q8_0: inverse scale exactly 1; Q8_K: -127 first, scale -1),
      // everything else half-way between integers: rounding half to even decides.
      for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i % 200 - 100) + 0.5f;
      for (int64_t b = 0; b < n; b += 32) x[static_cast<size_t>(b + 7)] = (b / 32) % 2 ? 127.0f : -127.0f;
    }
    if (trial % 5 == 2) std::fill(x.begin() + 256, x.begin() + 512, 0.0f);  // zero blocks
    if (trial % 5 == 3) {
      for (int64_t b = 0; b < n; b += 32) {  // both signs of the largest magnitude
        x[static_cast<size_t>(b + 3)] = -9.0f * spread;
        x[static_cast<size_t>(b + 20)] = 9.0f * spread;
      }
    }
    const size_t bytes = static_cast<size_t>(*RowBytes(type, static_cast<uint64_t>(n)));
    std::vector<uint8_t> got(bytes, 0xAA), want(bytes, 0x55);
    fast(x.data(), got.data(), n, nullptr);
    ref(x.data(), want.data(), n, nullptr);
    ASSERT_EQ(std::memcmp(got.data(), want.data(), bytes), 0) << GgmlTypeName(type) << " trial " << trial;
  }
}

// The Q8_0 quantizer that also returns each block's code sum: the reference's bytes, and the
// sums Q8_0BlockSums reads from them.
TEST(ActivationQuantizer, Q8_0WithSumsWritesTheReferenceBytesAndSums) {
  const QuantizeQ8_0WithSumsFn with_sums = SelectQ8_0WithSums();
  if (with_sums == nullptr) GTEST_SKIP() << "no vector quantizer on this CPU (QFORGE_ISA or no AVX2)";
  const int64_t n = 32 * 40;
  std::mt19937 rng(4);
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<size_t>(n));
  for (int trial = 0; trial < 20; ++trial) {
    for (auto& v : x) v = std::ldexp(normal(rng), trial % 10 - 5);
    if (trial % 4 == 1) std::fill(x.begin() + 64, x.begin() + 96, 0.0f);  // a zero block
    if (trial % 4 == 2) {
      for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = i % 32 == 5 ? 127.0f : 126.5f;  // sums near 32 * 127
    }
    const size_t bytes = static_cast<size_t>(*RowBytes(GgmlType::Q8_0, static_cast<uint64_t>(n)));
    std::vector<uint8_t> got(bytes, 0xAA), want(bytes, 0x55);
    std::vector<int16_t> got_sums(static_cast<size_t>(n / 32), -1), want_sums(static_cast<size_t>(n / 32), -2);
    with_sums(x.data(), got.data(), n, got_sums.data());
    FindFormatOps(GgmlType::Q8_0)->quantize_row_ref(x.data(), want.data(), n, nullptr);
    Q8_0BlockSums(want.data(), n, want_sums.data());
    ASSERT_EQ(std::memcmp(got.data(), want.data(), bytes), 0) << "trial " << trial;
    EXPECT_EQ(got_sums, want_sums) << "trial " << trial;
  }
}

INSTANTIATE_TEST_SUITE_P(Q8Types, ActivationQuantizer, testing::Values(GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q8_K),
                         [](const testing::TestParamInfo<GgmlType>& info) { return std::string(GgmlTypeName(info.param)); });

}  // namespace
}  // namespace qforge
