// What one model produced in an eval: its next-token distributions on the text and on the
// suites' reference answers, its option likelihoods and its generated answers. The baseline's
// run is cached on disk (eval/eval_cache.h) so that another candidate costs one model's work;
// the candidate's run carries its comparison with the baseline token by token.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qforge/eval/distribution.h"
#include "qforge/eval/kld.h"

namespace qforge {

struct ItemRun {
  std::string id;
  // Teacher-forced: the reference answer's tokens after the prompt.
  int answer_tokens = 0;
  double answer_logprob = 0.0;                  // mean log p(reference token), nats/token
  std::vector<TopKDistribution> answer_dists;   // baseline: kept for the candidate's comparison
  double answer_kld = 0.0;                      // candidate: mean KL(baseline || candidate)
  double answer_top1 = 0.0;                     // candidate: % of positions with the same argmax
  // Multiple choice.
  std::vector<double> option_logprobs;
  int chosen = -1;
  // Generated.
  bool generated = false;
  std::string text;
  int generated_tokens = 0;
  // Graded outcome: the generated answer's check, or the chosen option for multiple choice.
  bool graded = false;
  bool pass = false;
  std::string detail;
};

struct SuiteRun {
  std::string name;
  std::vector<ItemRun> items;
  double seconds = 0.0;          // wall time of this suite's items
  int64_t tokens_evaluated = 0;  // forward-pass rows: prompts (past reused prefixes) and generated tokens
};

struct TextRun {
  int n_ctx = 0;
  int n_chunks = 0;
  double ppl = 0.0;
  double ppl_err = 0.0;
  std::vector<TopKDistribution> dists;      // baseline: one per scored token
  std::vector<TokenDivergence> divergence;  // candidate: one per scored token
  double seconds = 0.0;                     // wall time of the text's forward passes

  // Forward-pass rows: every position of every chunk is evaluated.
  int64_t tokens_evaluated() const { return static_cast<int64_t>(n_chunks) * n_ctx; }
};

struct ModelRun {
  TextRun text;
  std::vector<SuiteRun> suites;
  double seconds = 0.0;
};

}  // namespace qforge
