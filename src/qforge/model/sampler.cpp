#include "qforge/model/sampler.h"

#include <algorithm>
#include <cmath>

namespace qforge {

int32_t Argmax(std::span<const float> values) {
  return static_cast<int32_t>(std::max_element(values.begin(), values.end()) - values.begin());
}

int32_t Sampler::Sample(std::span<const float> logits) {
  if (options_.temperature <= 0.0f) return Argmax(logits);
  candidates_.clear();
  candidates_.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    candidates_.emplace_back(logits[i] / options_.temperature, static_cast<int32_t>(i));
  }
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t keep = candidates_.size();
  if (options_.top_k > 0 && static_cast<size_t>(options_.top_k) < keep) {
    keep = static_cast<size_t>(options_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_logit);
  } else if (options_.top_p < 1.0f) {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  } else {
    // Nothing is cut, so the order does not matter: only the largest logit goes in front (the
    // softmax below subtracts it), saving a sort of the whole vocabulary per token.
    std::iter_swap(candidates_.begin(), std::max_element(candidates_.begin(), candidates_.end(),
                                                         [&](const auto& a, const auto& b) { return by_logit(b, a); }));
  }
  candidates_.resize(keep);
  // Softmax over the survivors, then keep the smallest prefix whose mass reaches top_p.
  const float max_logit = candidates_.front().first;
  double total = 0.0;
  std::vector<double> probs(keep);
  for (size_t i = 0; i < keep; ++i) total += probs[i] = std::exp(candidates_[i].first - max_logit);
  size_t cut = keep;
  if (options_.top_p < 1.0f) {
    double mass = 0.0;
    for (size_t i = 0; i < keep; ++i) {
      mass += probs[i] / total;
      if (mass >= options_.top_p) {
        cut = i + 1;
        break;
      }
    }
  }
  double cut_total = 0.0;
  for (size_t i = 0; i < cut; ++i) cut_total += probs[i];
  std::uniform_real_distribution<double> uniform(0.0, cut_total);
  double r = uniform(rng_);
  for (size_t i = 0; i < cut; ++i) {
    r -= probs[i];
    if (r < 0.0) return candidates_[i].second;
  }
  return candidates_[cut - 1].second;
}

}  // namespace qforge
