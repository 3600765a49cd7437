// Comparing two models' next-token distributions on the same tokens: KL divergence of the
// candidate from the baseline, agreement of the most likely token, and the change in the
// probability of the correct token.
//
// The baseline is stored compactly as its top-K tokens per position (ids and log-probs), the
// log-prob of the correct token, and the probability mass outside the top K. KL is then
// computed on the distributions coarsened to "each top-K token + one bucket for the rest":
// by the log-sum inequality this never exceeds the full-vocabulary KL and differs from it by
// at most the tail's own contribution, which is negligible when the top K hold nearly all the
// mass (distribution_test checks the gap on real model outputs).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace qforge {

struct TopKDistribution {
  std::vector<int32_t> ids;        // the K most likely tokens, most likely first
  std::vector<float> log_probs;    // their log-probabilities
  float target_log_prob = 0.0f;    // log-probability of the correct next token
  float tail_mass = 0.0f;          // 1 - sum of the top-K probabilities
};

// Log-softmax of logits, then the top-K summary. `target` may be -1 (no correct token).
TopKDistribution SummarizeLogits(std::span<const float> logits, int32_t target, int k);

struct TokenComparison {
  double kld = 0.0;             // KL(baseline || candidate), coarsened as above
  bool same_top = false;        // argmax agrees
  double base_target_prob = 0.0;
  double cand_target_prob = 0.0;
  double cand_target_log_prob = 0.0;
};

// Compares the candidate's full logits with the baseline's stored summary at one position.
TokenComparison CompareToBaseline(const TopKDistribution& base, std::span<const float> cand_logits,
                                  int32_t target);

// Log-softmax in place (double accumulation of the normalizer).
void LogSoftmaxInPlace(std::span<float> logits);

}  // namespace qforge
