// Runs one model through everything an eval measures: perplexity and next-token
// distributions on the text, then every suite item (teacher-forced reference answer, option
// likelihoods, greedy generation and its grading). Without a baseline this is the baseline's
// run and keeps top-K distributions; with one, each token is compared with it as it is
// computed, so the candidate's full logits are never stored.
#pragma once

#include <vector>

#include "qforge/core/progress.h"
#include "qforge/core/status.h"
#include "qforge/core/thread_pool.h"
#include "qforge/eval/eval_run.h"
#include "qforge/eval/suite.h"
#include "qforge/model/model.h"
#include "qforge/tokenizer/tokenizer.h"

namespace qforge {

struct RunInputs {
  std::vector<int32_t> text_tokens;  // already tokenized (with BOS when the vocabulary adds one)
  int n_ctx = 512;
  int max_chunks = -1;
  int top_k = 64;                    // baseline tokens kept per position
  const std::vector<Suite>* suites = nullptr;
  // Items generated together, one token of each per forward pass (results do not depend on it).
  int generation_slots = 4;
};

// Units of work RunModel reports progress in (text chunks plus suite items).
size_t CountWork(const RunInputs& inputs);

Expected<ModelRun> RunModel(const Model& model, const Tokenizer& tokenizer, const RunInputs& inputs,
                            const ModelRun* baseline, ThreadPool& pool, const ProgressFn& progress);

// The prompt tokens of an item: the chat template applied when the item asks for it and the
// model has one (otherwise the plain prompt), BOS as the vocabulary says.
std::vector<int32_t> PromptTokens(const SuiteItem& item, const Model& model, const Tokenizer& tokenizer);

}  // namespace qforge
