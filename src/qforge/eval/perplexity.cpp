#include "qforge/eval/perplexity.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

namespace qforge {

double NllStats::stderr_mean() const {
  if (count < 2) return 0.0;
  const double m = mean();
  const double var = sum_sq / count - m * m;
  return var > 0.0 ? std::sqrt(var / (count - 1)) : 0.0;
}

double LogSoftmaxAt(const float* logits, int n_vocab, int32_t target) {
  float max_logit = logits[0];
  for (int i = 1; i < n_vocab; ++i) max_logit = std::max(max_logit, logits[i]);
  double sum_exp = 0.0;
  for (int i = 0; i < n_vocab; ++i) sum_exp += std::exp(logits[i] - max_logit);
  return static_cast<double>(logits[target] - max_logit) - std::log(sum_exp);
}

Expected<PerplexityResult> RunPerplexity(InferenceContext& ctx, std::span<const int32_t> tokens,
                                         const PerplexityOptions& options,
                                         const ProgressFn& progress, const ChunkLogitsFn& on_chunk) {
  const int n_ctx = options.n_ctx;
  if (n_ctx < 4) return MakeError(fmt::format("context {} is too small for perplexity", n_ctx));
  if (n_ctx > ctx.n_ctx()) {
    return MakeError(fmt::format("context {} exceeds the inference context {}", n_ctx, ctx.n_ctx()));
  }
  // One whole chunk is the minimum here; llama-perplexity asks 2 n_ctx of a text (the CLI
  // does too), but its --kl-divergence-base files may hold a single chunk.
  if (tokens.size() < static_cast<size_t>(n_ctx)) {
    return MakeError(fmt::format("the text has {} tokens; perplexity at context {} needs at least {}",
                                 tokens.size(), n_ctx, n_ctx));
  }
  int n_chunks = static_cast<int>(tokens.size() / n_ctx);
  if (options.max_chunks >= 0) n_chunks = std::min(n_chunks, options.max_chunks);
  const int first = n_ctx / 2;
  const int n_scored = n_ctx - 1 - first;
  const int n_vocab = ctx.model().config().n_vocab;

  PerplexityResult result;
  result.n_chunks = n_chunks;
  result.token_nll.reserve(static_cast<size_t>(n_chunks) * n_scored);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  std::vector<float> logits;
  for (int c = 0; c < n_chunks; ++c) {
    const int32_t* src = tokens.data() + static_cast<size_t>(c) * n_ctx;
    std::copy(src, src + n_ctx, chunk.begin());
    if (options.bos) chunk[0] = *options.bos;
    ctx.Truncate(0);
    // Logits of rows first .. n_ctx-2 predict tokens first+1 .. n_ctx-1.
    const std::span<const int32_t> input(chunk.data(), static_cast<size_t>(n_ctx - 1));
    QF_RETURN_IF_ERROR(ctx.Evaluate(input, static_cast<size_t>(first), &logits));
    const int32_t* targets = src + first + 1;
    for (int j = 0; j < n_scored; ++j) {
      const double nll = -LogSoftmaxAt(&logits[static_cast<size_t>(j) * n_vocab], n_vocab, targets[j]);
      result.nll.Add(nll);
      result.token_nll.push_back(static_cast<float>(nll));
    }
    if (on_chunk) on_chunk(c, logits.data(), targets, n_scored);
    if (progress) progress(static_cast<size_t>(c + 1), static_cast<size_t>(n_chunks));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.ppl = std::exp(result.nll.mean());
  result.ppl_err = result.ppl * result.nll.stderr_mean();
  return result;
}

}  // namespace qforge
