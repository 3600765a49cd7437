// Statistics of how a candidate's next-token distributions differ from the baseline's over
// the same scored tokens, each with its uncertainty: perplexities and their ratio (paired),
// KL divergence (mean, median, 90/99/99.9th percentiles, max), same-top-token rate, and the
// RMS change in the correct token's probability.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

namespace qforge {

struct TokenDivergence {
  double kld = 0.0;
  bool same_top = false;
  double nll_base = 0.0;  // -log p_base(correct)
  double nll_cand = 0.0;
};

struct Estimate {
  double value = 0.0;
  double err = 0.0;  // one standard error (or, for quantiles, half the 95% rank interval)
};

struct DivergenceStats {
  size_t n = 0;
  Estimate ppl_base, ppl_cand;
  Estimate ppl_ratio;          // exp(mean(nll_cand - nll_base)), paired
  Estimate kld_mean;
  Estimate kld_median, kld_p90, kld_p99, kld_p999;
  double kld_max = 0.0;
  Estimate same_top_pct;
  Estimate rms_dp_pct;         // RMS of (p_cand - p_base) of the correct token, in percent
  std::vector<float> kld_values;  // per token, for distributions in reports
};

DivergenceStats SummarizeDivergence(const std::vector<TokenDivergence>& tokens);

// KL(P || Q) from full log-probability vectors (natural log). Terms whose log p is at or
// below `log_p_floor` are left out: llama.cpp's --kl-divergence-base files clamp every logit
// more than 16 below the maximum to that clamp, so those stored values are not the tokens'
// probabilities, and llama.cpp itself skips base log-probs <= -16.
double KlDivergence(const float* log_p, const float* log_q, int n, double log_p_floor = -INFINITY);

}  // namespace qforge
