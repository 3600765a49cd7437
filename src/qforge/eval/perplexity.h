// Perplexity with llama.cpp's protocol (llama-perplexity): the token stream is cut into
// consecutive chunks of n_ctx tokens (a trailing partial chunk is dropped); each chunk is
// evaluated from an empty cache with its first token replaced by BOS when the vocabulary adds
// one; only the second half of each chunk is scored (positions n_ctx/2 .. n_ctx-2 predicting
// the next token). PPL = exp(mean NLL); its standard error follows from the NLL variance.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "qforge/core/progress.h"
#include "qforge/core/status.h"
#include "qforge/model/context.h"

namespace qforge {

struct PerplexityOptions {
  int n_ctx = 512;
  int n_batch = 0;              // tokens per forward pass; 0 = n_ctx
  int max_chunks = -1;          // -1 = all
  std::optional<int32_t> bos;   // replaces each chunk's first token when set
};

// Running sums of negative log-likelihoods, mergeable across threads and chunks.
struct NllStats {
  double sum = 0.0;
  double sum_sq = 0.0;
  size_t count = 0;
  void Add(double nll) {
    sum += nll;
    sum_sq += nll * nll;
    ++count;
  }
  double mean() const { return count ? sum / count : 0.0; }
  // Standard error of the mean NLL.
  double stderr_mean() const;
};

struct PerplexityResult {
  double ppl = 0.0;
  double ppl_err = 0.0;  // standard error of PPL (delta method: ppl * stderr of mean NLL)
  NllStats nll;
  int n_chunks = 0;
  double seconds = 0.0;
  std::vector<float> token_nll;  // per scored token, chunk-major
};

// Called once per chunk with the scored rows' logits [n_scored x n_vocab] and their targets.
using ChunkLogitsFn = std::function<void(int chunk, const float* logits, const int32_t* targets,
                                         int n_scored)>;

// Log-probability of `target` under softmax(logits), the sum of exponentials in double as
// llama.cpp accumulates it.
double LogSoftmaxAt(const float* logits, int n_vocab, int32_t target);

Expected<PerplexityResult> RunPerplexity(InferenceContext& ctx, std::span<const int32_t> tokens,
                                         const PerplexityOptions& options,
                                         const ProgressFn& progress = nullptr,
                                         const ChunkLogitsFn& on_chunk = nullptr);

}  // namespace qforge
