#include "qforge/eval/kld.h"

#include <algorithm>
#include <cmath>

namespace qforge {

namespace {

Estimate MeanWithError(const std::vector<double>& v) {
  Estimate e;
  const size_t n = v.size();
  if (n == 0) return e;
  double sum = 0.0, sum_sq = 0.0;
  for (double x : v) {
    sum += x;
    sum_sq += x * x;
  }
  e.value = sum / n;
  const double var = n > 1 ? std::max(0.0, (sum_sq - sum * sum / n) / (n - 1)) : 0.0;
  e.err = std::sqrt(var / n);
  return e;
}

// Quantile q of sorted values with a distribution-free 95% interval from the binomial ranks
// n q -+ 1.96 sqrt(n q (1 - q)); err is half its width.
Estimate SortedQuantile(const std::vector<double>& sorted, double q) {
  Estimate e;
  const size_t n = sorted.size();
  if (n == 0) return e;
  // Linear interpolation between the neighbouring ranks (numpy's default definition).
  auto at = [&](double rank) {
    rank = std::clamp(rank, 0.0, static_cast<double>(n - 1));
    const size_t i = static_cast<size_t>(rank);
    const double frac = rank - static_cast<double>(i);
    return i + 1 < n ? sorted[i] + frac * (sorted[i + 1] - sorted[i]) : sorted[i];
  };
  e.value = at(q * (n - 1));
  const double spread = 1.96 * std::sqrt(n * q * (1 - q));
  e.err = 0.5 * (at(q * (n - 1) + spread) - at(q * (n - 1) - spread));
  return e;
}

}  // namespace

double KlDivergence(const float* log_p, const float* log_q, int n, double log_p_floor) {
  double kld = 0.0;
  for (int i = 0; i < n; ++i) {
    const double lp = log_p[i];
    if (lp <= log_p_floor) continue;
    kld += std::exp(lp) * (lp - log_q[i]);
  }
  return std::max(0.0, kld);
}

DivergenceStats SummarizeDivergence(const std::vector<TokenDivergence>& tokens) {
  DivergenceStats s;
  s.n = tokens.size();
  if (s.n == 0) return s;
  std::vector<double> nll_b, nll_c, diff, kld, same, dp;
  for (const auto& t : tokens) {
    nll_b.push_back(t.nll_base);
    nll_c.push_back(t.nll_cand);
    diff.push_back(t.nll_cand - t.nll_base);
    kld.push_back(t.kld);
    same.push_back(t.same_top ? 1.0 : 0.0);
    dp.push_back(std::exp(-t.nll_cand) - std::exp(-t.nll_base));
    s.kld_values.push_back(static_cast<float>(t.kld));
  }
  // Delta method: exp(m) with m +- e has standard error exp(m) * e.
  auto exp_estimate = [](Estimate m) { return Estimate{std::exp(m.value), std::exp(m.value) * m.err}; };
  s.ppl_base = exp_estimate(MeanWithError(nll_b));
  s.ppl_cand = exp_estimate(MeanWithError(nll_c));
  s.ppl_ratio = exp_estimate(MeanWithError(diff));
  s.kld_mean = MeanWithError(kld);
  std::vector<double> sorted = kld;
  std::sort(sorted.begin(), sorted.end());
  s.kld_median = SortedQuantile(sorted, 0.5);
  s.kld_p90 = SortedQuantile(sorted, 0.9);
  s.kld_p99 = SortedQuantile(sorted, 0.99);
  s.kld_p999 = SortedQuantile(sorted, 0.999);
  s.kld_max = sorted.back();
  const Estimate same_rate = MeanWithError(same);
  s.same_top_pct = {100.0 * same_rate.value, 100.0 * same_rate.err};
  // RMS of dp: sqrt(mean(dp^2)), error by the delta method from the error of mean(dp^2).
  std::vector<double> dp2;
  for (double d : dp) dp2.push_back(d * d);
  const Estimate ms = MeanWithError(dp2);
  const double rms = std::sqrt(ms.value);
  s.rms_dp_pct = {100.0 * rms, rms > 0.0 ? 100.0 * ms.err / (2.0 * rms) : 0.0};
  return s;
}

}  // namespace qforge
