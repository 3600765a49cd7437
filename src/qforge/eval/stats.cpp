#include "qforge/eval/stats.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace qforge {

double NormalQuantile(double p) {
  // Acklam's rational approximation (relative error < 1.2e-9), refined by one Newton step.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  const double p_low = 0.02425;
  double x;
  if (p < p_low) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - p_low) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double pos = q * (values.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  const double frac = pos - i;
  if (i + 1 >= values.size()) return values.back();
  return values[i] * (1 - frac) + values[i + 1] * frac;
}

PairedSummary SummarizePaired(std::span<const double> baseline, std::span<const double> candidate,
                              double confidence, int resamples, uint64_t seed) {
  PairedSummary s;
  s.n = std::min(baseline.size(), candidate.size());
  if (s.n == 0) return s;
  std::vector<double> diff(s.n);
  for (size_t i = 0; i < s.n; ++i) {
    s.baseline_mean += baseline[i];
    s.candidate_mean += candidate[i];
    diff[i] = candidate[i] - baseline[i];
  }
  s.baseline_mean /= s.n;
  s.candidate_mean /= s.n;
  s.delta = s.candidate_mean - s.baseline_mean;
  double var = 0.0;
  for (double d : diff) var += (d - s.delta) * (d - s.delta);
  s.delta_sd = s.n > 1 ? std::sqrt(var / (s.n - 1)) : 0.0;
  const double alpha = 1.0 - confidence;
  // A true difference of mde is detected with 80% probability by a two-sided test at alpha.
  s.mde = (NormalQuantile(1.0 - alpha / 2) + NormalQuantile(0.8)) * s.delta_sd / std::sqrt(static_cast<double>(s.n));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, s.n - 1);
  std::vector<double> means(static_cast<size_t>(resamples));
  for (auto& m : means) {
    double sum = 0.0;
    for (size_t i = 0; i < s.n; ++i) sum += diff[pick(rng)];
    m = sum / s.n;
  }
  s.delta_ci = {Quantile(means, alpha / 2), Quantile(means, 1 - alpha / 2)};
  return s;
}

double BinomialTwoSidedP(size_t k, size_t n) {
  if (n == 0) return 1.0;
  // P(X <= min(k, n-k)) doubled, computed in log space for large n.
  const size_t m = std::min(k, n - k);
  double tail = 0.0;
  for (size_t i = 0; i <= m; ++i) {
    tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) - n * std::log(2.0));
  }
  return std::min(1.0, 2.0 * tail);
}

FlipSummary CountFlips(std::span<const uint8_t> baseline_pass, std::span<const uint8_t> candidate_pass) {
  FlipSummary f;
  const size_t n = std::min(baseline_pass.size(), candidate_pass.size());
  for (size_t i = 0; i < n; ++i) {
    if (baseline_pass[i] && !candidate_pass[i]) ++f.lost;
    if (!baseline_pass[i] && candidate_pass[i]) ++f.gained;
  }
  f.p_value = BinomialTwoSidedP(f.gained, f.gained + f.lost);
  return f;
}

}  // namespace qforge
