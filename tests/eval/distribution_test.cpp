#include "qforge/eval/distribution.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace qforge {
namespace {

double FullKld(const std::vector<float>& p_logits, const std::vector<float>& q_logits) {
  std::vector<float> lp = p_logits, lq = q_logits;
  LogSoftmaxInPlace(lp);
  LogSoftmaxInPlace(lq);
  double kld = 0.0;
  for (size_t i = 0; i < lp.size(); ++i) kld += std::exp(static_cast<double>(lp[i])) * (lp[i] - lq[i]);
  return kld;
}

std::vector<float> RandomLogits(std::mt19937& rng, int n, float scale) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

TEST(Distribution, FullTopKGivesTheExactKld) {
  std::mt19937 rng(1);
  const auto p = RandomLogits(rng, 300, 2.0f);
  auto q = p;
  for (auto& v : q) v += std::normal_distribution<float>(0.0f, 0.3f)(rng);
  const TopKDistribution base = SummarizeLogits(p, 5, 300);
  const TokenComparison c = CompareToBaseline(base, q, 5);
  EXPECT_NEAR(c.kld, FullKld(p, q), 1e-6 * FullKld(p, q) + 1e-9);
  EXPECT_NEAR(base.tail_mass, 0.0f, 1e-5);
}

TEST(Distribution, TopKIsALowerBoundCloseToTheFullKld) {
  // Peaked distributions like a language model's: the top 64 of 5000 tokens hold most mass.
  std::mt19937 rng(2);
  for (int trial = 0; trial < 20; ++trial) {
    const auto p = RandomLogits(rng, 5000, 3.0f);
    auto q = p;
    for (auto& v : q) v += std::normal_distribution<float>(0.0f, 0.2f)(rng);
    const double full = FullKld(p, q);
    const TokenComparison c = CompareToBaseline(SummarizeLogits(p, 0, 64), q, 0);
    EXPECT_LE(c.kld, full * (1 + 1e-6) + 1e-9);
    EXPECT_GE(c.kld, full * 0.5);  // the coarsening keeps most of the divergence here
  }
}

TEST(Distribution, SameTopAndTargetProbability) {
  const std::vector<float> p = {0.0f, 3.0f, 1.0f, -1.0f};
  const std::vector<float> q = {0.0f, 1.0f, 3.0f, -1.0f};
  const TopKDistribution base = SummarizeLogits(p, 2, 2);
  EXPECT_EQ(base.ids[0], 1);
  EXPECT_EQ(base.ids[1], 2);
  const TokenComparison c = CompareToBaseline(base, q, 2);
  EXPECT_FALSE(c.same_top);
  std::vector<float> lq = q;
  LogSoftmaxInPlace(lq);
  EXPECT_NEAR(c.cand_target_prob, std::exp(lq[2]), 1e-7);
  std::vector<float> lp = p;
  LogSoftmaxInPlace(lp);
  EXPECT_NEAR(c.base_target_prob, std::exp(lp[2]), 1e-7);
  const TokenComparison self = CompareToBaseline(base, p, 2);
  EXPECT_TRUE(self.same_top);
  EXPECT_NEAR(self.kld, 0.0, 1e-7);
}

}  // namespace
}  // namespace qforge
