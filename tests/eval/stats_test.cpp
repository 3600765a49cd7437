#include "qforge/eval/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace qforge {
namespace {

TEST(Stats, NormalQuantileKnownValues) {
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-9);
  EXPECT_NEAR(NormalQuantile(0.8), 0.8416212335729143, 1e-9);
  EXPECT_NEAR(NormalQuantile(0.5), 0.0, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.001), -3.090232306167813, 1e-8);
}

TEST(Stats, BinomialTwoSidedExactValues) {
  // n = 10, k = 2: P(X <= 2) = 56/1024; two-sided 112/1024.
  EXPECT_NEAR(BinomialTwoSidedP(2, 10), 112.0 / 1024.0, 1e-12);
  EXPECT_NEAR(BinomialTwoSidedP(8, 10), 112.0 / 1024.0, 1e-12);
  EXPECT_DOUBLE_EQ(BinomialTwoSidedP(5, 10), 1.0);
  EXPECT_DOUBLE_EQ(BinomialTwoSidedP(0, 0), 1.0);
  // n = 20, k = 0: 2 / 2^20.
  EXPECT_NEAR(BinomialTwoSidedP(0, 20), 2.0 / 1048576.0, 1e-15);
}

TEST(Stats, McNemarCountsFlips) {
  const std::vector<uint8_t> base = {1, 1, 1, 0, 0, 1, 0, 1};
  const std::vector<uint8_t> cand = {1, 0, 0, 1, 0, 1, 0, 0};
  const FlipSummary f = CountFlips(base, cand);
  EXPECT_EQ(f.lost, 3u);
  EXPECT_EQ(f.gained, 1u);
  EXPECT_NEAR(f.p_value, BinomialTwoSidedP(1, 4), 1e-12);  // 10/16
  EXPECT_NEAR(f.p_value, 0.625, 1e-12);
}

TEST(Stats, IdenticalModelsGiveZeroDeltaAndDegenerateInterval) {
  std::vector<double> a = {0.1, 0.5, 0.9, 0.3};
  const PairedSummary s = SummarizePaired(a, a);
  EXPECT_EQ(s.delta, 0.0);
  EXPECT_EQ(s.delta_ci.lo, 0.0);
  EXPECT_EQ(s.delta_ci.hi, 0.0);
  EXPECT_TRUE(s.delta_ci.Contains(0.0));
}

TEST(Stats, BootstrapIntervalCoversTheTrueShiftAtTheNominalRate) {
  // Candidate = baseline - 0.1 + noise: the 95% interval should contain -0.1 in about 95% of
  // repetitions (binomial sd over 200 runs is 1.5%; the window [90%, 99%] is 3 sd wide).
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 0.5);
  int covered = 0;
  const int runs = 200;
  for (int r = 0; r < runs; ++r) {
    std::vector<double> base(100), cand(100);
    for (int i = 0; i < 100; ++i) {
      base[i] = noise(rng);
      cand[i] = base[i] - 0.1 + noise(rng);
    }
    const PairedSummary s = SummarizePaired(base, cand, 0.95, 2000, r + 1);
    covered += s.delta_ci.Contains(-0.1);
  }
  EXPECT_GE(covered, runs * 90 / 100);
  EXPECT_LE(covered, runs * 99 / 100);
}

TEST(Stats, MinimumDetectableEffectFollowsTheFormula) {
  // Differences alternate +1/-1: sd = 1.0050 (n = 100, sample sd), mean 0.
  std::vector<double> base(100, 0.0), cand(100);
  for (int i = 0; i < 100; ++i) cand[i] = i % 2 ? 1.0 : -1.0;
  const PairedSummary s = SummarizePaired(base, cand);
  const double sd = std::sqrt(100.0 / 99.0);
  EXPECT_NEAR(s.delta_sd, sd, 1e-12);
  EXPECT_NEAR(s.mde, (1.959963984540054 + 0.8416212335729143) * sd / 10.0, 1e-8);
}

TEST(Stats, QuantileInterpolates) {
  EXPECT_DOUBLE_EQ(Quantile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(Quantile({10}, 0.99), 10.0);
}

}  // namespace
}  // namespace qforge
