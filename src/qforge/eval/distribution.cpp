#include "qforge/eval/distribution.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace qforge {

void LogSoftmaxInPlace(std::span<float> logits) {
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - max_logit);
  const float log_norm = static_cast<float>(max_logit + std::log(sum));
  for (float& v : logits) v -= log_norm;
}

namespace {

// Probability mass outside `top`, summed directly (not as 1 - top mass, which loses it to
// rounding) in vocabulary order, and rounded to float as it is stored: the baseline's stored
// tail and a candidate's tail over the same ids then agree exactly when the logits do.
float TailMass(std::span<const float> log_probs, std::span<const int32_t> top) {
  thread_local std::vector<uint8_t> in_top;
  in_top.assign(log_probs.size(), 0);
  for (int32_t id : top) in_top[static_cast<size_t>(id)] = 1;
  double tail = 0.0;
  for (size_t i = 0; i < log_probs.size(); ++i) {
    if (!in_top[i]) tail += std::exp(static_cast<double>(log_probs[i]));
  }
  return static_cast<float>(tail);
}

}  // namespace

TopKDistribution SummarizeLogits(std::span<const float> logits, int32_t target, int k) {
  std::vector<float> lp(logits.begin(), logits.end());
  LogSoftmaxInPlace(lp);
  k = std::min<int>(k, static_cast<int>(lp.size()));
  std::vector<int32_t> order(lp.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
    return lp[a] > lp[b] || (lp[a] == lp[b] && a < b);
  });
  TopKDistribution d;
  d.ids.assign(order.begin(), order.begin() + k);
  for (int32_t id : d.ids) d.log_probs.push_back(lp[id]);
  d.tail_mass = TailMass(lp, d.ids);
  d.target_log_prob = target >= 0 ? lp[target] : 0.0f;
  return d;
}

TokenComparison CompareToBaseline(const TopKDistribution& base, std::span<const float> cand_logits,
                                  int32_t target) {
  std::vector<float> lq(cand_logits.begin(), cand_logits.end());
  LogSoftmaxInPlace(lq);
  TokenComparison c;
  double kld = 0.0;
  for (size_t j = 0; j < base.ids.size(); ++j) {
    const double lp = base.log_probs[j];
    const double lqj = lq[base.ids[j]];
    kld += std::exp(lp) * (lp - lqj);
  }
  const double p_tail = base.tail_mass;
  const double q_tail = std::max(1e-30, static_cast<double>(TailMass(lq, base.ids)));
  if (p_tail > 0.0) kld += p_tail * (std::log(p_tail) - std::log(q_tail));
  c.kld = std::max(0.0, kld);
  const int32_t cand_top = static_cast<int32_t>(std::max_element(lq.begin(), lq.end()) - lq.begin());
  c.same_top = !base.ids.empty() && cand_top == base.ids[0];
  if (target >= 0) {
    c.base_target_prob = std::exp(static_cast<double>(base.target_log_prob));
    c.cand_target_log_prob = lq[target];
    c.cand_target_prob = std::exp(static_cast<double>(lq[target]));
  }
  return c;
}

}  // namespace qforge
