// Paired statistics for comparing a candidate with its baseline on the same items. Every
// measure has a number per item for both models; what matters is the per-item difference.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace qforge {

struct Interval {
  double lo = 0.0;
  double hi = 0.0;
  bool Contains(double v) const { return lo <= v && v <= hi; }
};

struct PairedSummary {
  size_t n = 0;
  double baseline_mean = 0.0;
  double candidate_mean = 0.0;
  double delta = 0.0;           // candidate_mean - baseline_mean
  Interval delta_ci;            // percentile bootstrap over items (paired resampling)
  double delta_sd = 0.0;        // standard deviation of the per-item differences
  double mde = 0.0;             // smallest |delta| this n detects (two-sided, at `confidence`, 80% power)
};

// Percentile bootstrap of the mean paired difference (candidate - baseline): `resamples`
// resamples of the items with replacement, seeded for reproducibility.
PairedSummary SummarizePaired(std::span<const double> baseline, std::span<const double> candidate,
                              double confidence = 0.95, int resamples = 10000, uint64_t seed = 1);

// Items whose pass/fail outcome differs between the two models, and McNemar's exact test
// (two-sided binomial test on the discordant pairs).
struct FlipSummary {
  size_t gained = 0;   // failed with the baseline, pass with the candidate
  size_t lost = 0;     // passed with the baseline, fail with the candidate
  double p_value = 1.0;
};
FlipSummary CountFlips(std::span<const uint8_t> baseline_pass, std::span<const uint8_t> candidate_pass);

// Two-sided p-value of the exact binomial test of k successes out of n at p = 1/2.
double BinomialTwoSidedP(size_t k, size_t n);

// Quantile of the standard normal distribution (inverse CDF), for 0 < p < 1.
double NormalQuantile(double p);

// Linear-interpolated quantile of (a copy of) the values, q in [0, 1].
double Quantile(std::vector<double> values, double q);

}  // namespace qforge
