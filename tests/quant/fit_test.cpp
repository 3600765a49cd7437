#include "qforge/quant/fit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "qforge/formats/iq4_grid.h"

namespace qforge {
namespace {

std::vector<float> HeavyTailed(std::mt19937& rng, int n) {
  std::student_t_distribution<float> t(3.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = t(rng);
  return x;
}

std::vector<float> PositiveWeights(std::mt19937& rng, int n) {
  std::exponential_distribution<float> e(1.0f);
  std::vector<float> w(n);
  for (auto& v : w) v = e(rng) + 0.01f;
  return w;
}

double ErrorOf(const std::vector<float>& x, const std::vector<float>& w, float d, const int8_t* q) {
  double e = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double diff = x[i] - static_cast<double>(d) * q[i];
    e += w[i] * diff * diff;
  }
  return e;
}

// Best error over a dense grid of scales, each refined by least squares for its codes.
double BruteForceScale(const std::vector<float>& x, const std::vector<float>& w, int lo, int hi) {
  float amax = 0.0f;
  for (float v : x) amax = std::max(amax, std::fabs(v));
  double best = 0.0;
  for (size_t i = 0; i < x.size(); ++i) best += w[i] * x[i] * x[i];
  std::vector<int8_t> q(x.size());
  for (int sign = -1; sign <= 1; sign += 2) {
    for (int k = 1; k <= 20000; ++k) {
      const float s = sign * (k * 3.0f / 20000.0f) * hi / amax;
      for (size_t i = 0; i < x.size(); ++i) {
        q[i] = static_cast<int8_t>(std::clamp(static_cast<int>(std::nearbyint(s * x[i])), lo, hi));
      }
      const float d = BestScaleForCodes(x, w, q.data());
      best = std::min(best, ErrorOf(x, w, d, q.data()));
    }
  }
  return best;
}

TEST(FitScale, MatchesDenseBruteForceSearch) {
  std::mt19937 rng(11);
  struct Range { int lo, hi; };
  // [-128, 127] (Q6_K's sub-block scales) mirrors to [-127, 128], beyond 8 bits: it once
  // wrapped around there and fitted scales 9x worse than rounding.
  for (Range r : {Range{-8, 7}, Range{-16, 15}, Range{-4, 3}, Range{-32, 31}, Range{-128, 127}}) {
    for (int trial = 0; trial < 20; ++trial) {
      const int n = trial % 2 ? 32 : 16;
      const auto x = HeavyTailed(rng, n);
      const auto w = PositiveWeights(rng, n);
      std::vector<int8_t> q(n);
      const ScaleFit fit = FitScale(x, w, r.lo, r.hi, q.data());
      const double reported = ErrorOf(x, w, fit.d, q.data());
      EXPECT_NEAR(fit.error, reported, 1e-6 * reported + 1e-12);
      for (int8_t c : q) {
        EXPECT_GE(c, r.lo);
        EXPECT_LE(c, r.hi);
      }
      // Never worse than any scale on a dense grid (up to float rounding of the sums).
      const double brute = BruteForceScale(x, w, r.lo, r.hi);
      EXPECT_LE(reported, brute * (1.0 + 1e-5) + 1e-12) << "range [" << r.lo << ", " << r.hi << "]";
    }
  }
}

TEST(FitScale, NarrowWindowNearTheFullOptimumForQ8) {
  // Q8_0 sweeps only s in [0.8, 1.3] x 127 / max|x|; on Gaussian blocks that must cost at
  // most 1% of the total error against the exact sweep (single blocks can lose more).
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  double total_full = 0.0, total_window = 0.0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> x(32);
    for (auto& v : x) v = normal(rng);
    const auto w = PositiveWeights(rng, 32);
    std::vector<int8_t> q1(32), q2(32);
    const ScaleFit full = FitScale(x, w, -127, 127, q1.data());
    const ScaleFit window = FitScale(x, w, -127, 127, q2.data(), SweepWindow{0.8f, 1.3f});
    EXPECT_GE(window.error, full.error * (1.0 - 1e-6));  // the exact sweep is never beaten
    total_full += full.error;
    total_window += window.error;
  }
  EXPECT_LE(total_window, total_full * 1.01);
}

TEST(FitScale, UsesTheAsymmetricRangeByChoosingTheSign) {
  // Values on a grid of 0.5 with one at -4: with d = 0.5 every value is exact, and -4 needs
  // Q4_0's extra negative code -8.
  std::vector<float> x(32), w(32, 1.0f);
  for (int i = 0; i < 32; ++i) x[i] = 0.5f * static_cast<float>(i % 7 - 3);
  x[3] = -4.0f;
  std::vector<int8_t> q(32);
  const ScaleFit fit = FitScale(x, w, -8, 7, q.data());
  EXPECT_FLOAT_EQ(fit.d, 0.5f);
  EXPECT_EQ(q[3], -8);
  EXPECT_NEAR(fit.error, 0.0, 1e-9);
  for (auto& v : x) v = -v;  // now the large value is +4: the fit flips the sign of d
  const ScaleFit flipped = FitScale(x, w, -8, 7, q.data());
  EXPECT_FLOAT_EQ(flipped.d, -0.5f);
  EXPECT_EQ(q[3], -8);
  EXPECT_NEAR(flipped.error, 0.0, 1e-9);
}

TEST(FitScale, ZeroBlock) {
  std::vector<float> x(32, 0.0f), w(32, 1.0f);
  std::vector<int8_t> q(32, 5);
  const ScaleFit fit = FitScale(x, w, -8, 7, q.data());
  EXPECT_EQ(fit.error, 0.0);
  for (int8_t c : q) EXPECT_EQ(c, 0);
}

TEST(FitScaleOnGrid, NeverWorseThanDenseSearch) {
  std::mt19937 rng(3);
  const std::span<const int8_t> grid(kIq4Grid, 16);
  for (int trial = 0; trial < 30; ++trial) {
    const auto x = HeavyTailed(rng, 32);
    const auto w = PositiveWeights(rng, 32);
    std::vector<uint8_t> idx(32);
    const ScaleFit fit = FitScaleOnGrid(x, w, grid, idx.data());
    double reported = 0.0;
    for (int i = 0; i < 32; ++i) {
      const double diff = x[i] - static_cast<double>(fit.d) * kIq4Grid[idx[i]];
      reported += w[i] * diff * diff;
    }
    EXPECT_NEAR(fit.error, reported, 1e-6 * reported + 1e-12);
    float amax = 0.0f;
    for (float v : x) amax = std::max(amax, std::fabs(v));
    double brute = INFINITY;
    for (int sign = -1; sign <= 1; sign += 2) {
      for (int k = 1; k <= 20000; ++k) {
        const float d = sign * (k * 3.0f / 20000.0f) * amax / 127.0f;
        double a = 0, b = 0;  // in double: the error is a small difference of large sums
        for (int i = 0; i < 32; ++i) {
          int best = 0;
          for (int j = 1; j < 16; ++j) {
            if (std::fabs(kIq4Grid[j] * d - x[i]) < std::fabs(kIq4Grid[best] * d - x[i])) best = j;
          }
          a += static_cast<double>(w[i]) * x[i] * kIq4Grid[best];
          b += static_cast<double>(w[i]) * kIq4Grid[best] * kIq4Grid[best];
        }
        double sxx = 0;
        for (int i = 0; i < 32; ++i) sxx += static_cast<double>(w[i]) * x[i] * x[i];
        brute = std::min(brute, sxx - a * a / b);
      }
    }
    EXPECT_LE(reported, brute * (1.0 + 1e-5) + 1e-12);
  }
}

TEST(FitAffine, BeatsMinMaxRounding) {
  std::mt19937 rng(9);
  for (int trial = 0; trial < 100; ++trial) {
    const auto x = HeavyTailed(rng, 32);
    const auto w = PositiveWeights(rng, 32);
    std::vector<uint8_t> q(32);
    const AffineFit fit = FitAffine(x, w, 15, false, q.data());
    // The result is self-consistent...
    double reported = 0.0;
    for (int i = 0; i < 32; ++i) {
      const double diff = x[i] - (fit.d * q[i] + fit.b);
      reported += w[i] * diff * diff;
    }
    EXPECT_NEAR(fit.error, reported, 1e-6 * reported + 1e-12);
    // ...and no worse than the plain min/max grid (what a naive quantizer does).
    const float lo = *std::min_element(x.begin(), x.end()), hi = *std::max_element(x.begin(), x.end());
    const float d = (hi - lo) / 15.0f;
    double naive = 0.0;
    for (int i = 0; i < 32; ++i) {
      const int c = std::clamp(static_cast<int>(std::nearbyint((x[i] - lo) / d)), 0, 15);
      const double diff = x[i] - (d * c + lo);
      naive += w[i] * diff * diff;
    }
    EXPECT_LE(fit.error, naive * (1.0 + 1e-9));
  }
}

TEST(FitAffine, NonPositiveOffsetConstraintHolds) {
  std::mt19937 rng(2);
  for (int trial = 0; trial < 50; ++trial) {
    auto x = HeavyTailed(rng, 32);
    for (auto& v : x) v = std::fabs(v) + 1.0f;  // all positive: the free optimum has b > 0
    const auto w = PositiveWeights(rng, 32);
    std::vector<uint8_t> q(32);
    const AffineFit fit = FitAffine(x, w, 15, true, q.data());
    EXPECT_LE(fit.b, 0.0f);
    EXPECT_GE(fit.d, 0.0f);
  }
}

}  // namespace
}  // namespace qforge
