// qforge perplexity -m MODEL -f TEXT: llama.cpp's perplexity protocol, the same numbers.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <thread>

#include "qforge/cli/commands.h"
#include "qforge/core/progress.h"
#include "qforge/eval/distribution.h"
#include "qforge/eval/kld.h"
#include "qforge/eval/llama_logits.h"
#include "qforge/eval/perplexity.h"
#include "qforge/io/mapped_file.h"
#include "qforge/model/model.h"
#include "qforge/tokenizer/tokenizer.h"

namespace qforge::cli {

namespace {

struct PerplexityCliOptions {
  std::string model;
  std::string text_file;
  std::string kld_base;
  int n_ctx = 512;
  int n_batch = 0;
  int chunks = -1;
  int threads = 0;
};

int RunPerplexityCommand(const PerplexityCliOptions& opt) {
  auto model = Model::Load(opt.model);
  if (!model) return Fail(model.error().message);
  auto tokenizer = Tokenizer::FromGguf((*model)->file());
  if (!tokenizer) return Fail(tokenizer.error().message);
  const bool add_bos = tokenizer->add_bos_by_default();
  // Tokens come from the text, or from llama.cpp's KL-divergence base file (which also fixes
  // the context size and holds the baseline's distributions).
  std::optional<LlamaLogitsFile> base;
  std::vector<int32_t> tokens;
  int n_ctx = opt.n_ctx;
  if (!opt.kld_base.empty()) {
    auto b = LlamaLogitsFile::Open(opt.kld_base);
    if (!b) return Fail(b.error().message);
    if (b->n_vocab() != (*model)->config().n_vocab) {
      return Fail(fmt::format("{}: vocabulary of {} tokens, the model has {}", opt.kld_base, b->n_vocab(),
                              (*model)->config().n_vocab));
    }
    base = std::move(*b);
    tokens.assign(base->tokens().begin(), base->tokens().end());
    n_ctx = base->n_ctx();
  } else {
    if (opt.text_file.empty()) return Fail("give a text (-f) or a KL-divergence base file (--kld-base)");
    auto text = ReadTextFile(opt.text_file);
    if (!text) return Fail(text.error().message);
    tokens = tokenizer->Encode(*text, add_bos, false);
    if (tokens.size() < 2 * static_cast<size_t>(n_ctx)) {
      return Fail(fmt::format("{}: {} tokens; perplexity at context {} needs at least {}", opt.text_file,
                              tokens.size(), n_ctx, 2 * n_ctx));
    }
  }
  ThreadPool pool(opt.threads > 0 ? opt.threads : static_cast<int>(std::thread::hardware_concurrency()));
  const int n_batch = opt.n_batch > 0 ? std::min(opt.n_batch, n_ctx) : n_ctx;
  InferenceContext ctx(**model, n_ctx, n_batch, pool);
  PerplexityOptions popt;
  popt.n_ctx = n_ctx;
  popt.n_batch = n_batch;
  popt.max_chunks = opt.chunks;
  if (add_bos) popt.bos = tokenizer->bos_id();
  fmt::print(stderr, "{} tokens, context {}, batch {}, {} threads\n", tokens.size(), n_ctx, n_batch,
             pool.size());
  std::vector<TokenDivergence> divergence;
  ChunkLogitsFn compare;
  if (base) {
    compare = [&](int chunk, const float* logits, const int32_t* targets, int n_scored) {
      const int n_vocab = base->n_vocab();
      std::vector<float> lp(n_vocab), lq(n_vocab);
      for (int j = 0; j < n_scored; ++j) {
        base->LogProbs(chunk, j, lp.data());
        lq.assign(logits + static_cast<size_t>(j) * n_vocab, logits + static_cast<size_t>(j + 1) * n_vocab);
        LogSoftmaxInPlace(lq);
        TokenDivergence t;
        t.kld = KlDivergence(lp.data(), lq.data(), n_vocab, kLlamaBaseLogProbFloor);
        t.same_top = std::max_element(lp.begin(), lp.end()) - lp.begin() ==
                     std::max_element(lq.begin(), lq.end()) - lq.begin();
        t.nll_base = -lp[targets[j]];
        t.nll_cand = -lq[targets[j]];
        divergence.push_back(t);
      }
    };
  }
  StderrProgress progress("perplexity");
  auto result = RunPerplexity(ctx, tokens, popt, progress.AsFn(), compare);
  progress.Finish();
  if (!result) return Fail(result.error().message);
  fmt::print("chunks {}, scored tokens {}, {:.2f} s ({:.1f} tokens/s)\n", result->n_chunks,
             result->nll.count, result->seconds,
             result->n_chunks * static_cast<double>(n_ctx - 1) / result->seconds);
  fmt::print("PPL = {:.4f} +/- {:.5f}\n", result->ppl, result->ppl_err);
  if (base) {
    const DivergenceStats d = SummarizeDivergence(divergence);
    fmt::print("baseline PPL = {:.4f} +/- {:.5f}, ratio {:.5f} +/- {:.5f}\n", d.ppl_base.value, d.ppl_base.err,
               d.ppl_ratio.value, d.ppl_ratio.err);
    fmt::print("KLD mean {:.6f} +/- {:.6f}, median {:.6f}, p90 {:.6f}, p99 {:.6f}, p99.9 {:.6f}, max {:.6f}\n",
               d.kld_mean.value, d.kld_mean.err, d.kld_median.value, d.kld_p90.value, d.kld_p99.value,
               d.kld_p999.value, d.kld_max);
    fmt::print("same top token {:.3f} +/- {:.3f} %, RMS dp {:.3f} +/- {:.3f} %\n", d.same_top_pct.value,
               d.same_top_pct.err, d.rms_dp_pct.value, d.rms_dp_pct.err);
  }
  return kExitOk;
}

}  // namespace

Subcommand AddPerplexityCommand(CLI::App& root) {
  auto opt = std::make_shared<PerplexityCliOptions>();
  CLI::App* app = root.add_subcommand("perplexity", "Perplexity of a model on a text (llama.cpp's protocol)");
  app->add_option("-m,--model", opt->model, "GGUF model file")->required();
  app->add_option("-f,--file", opt->text_file, "Text file");
  app->add_option("--kld-base", opt->kld_base, "llama.cpp --kl-divergence-base file: compare against its baseline");
  app->add_option("-c,--ctx", opt->n_ctx, "Tokens per chunk")->capture_default_str()->check(CLI::Range(8, 1 << 20));
  app->add_option("-b,--batch", opt->n_batch, "Tokens per forward pass (default: the context)")->check(CLI::Range(0, 1 << 20));
  app->add_option("--chunks", opt->chunks, "Evaluate only the first N chunks")->check(CLI::Range(1, 1 << 30));
  app->add_option("-t,--threads", opt->threads, "Threads (default: all cores)")->check(CLI::Range(0, 1024));
  return {app, [opt] { return RunPerplexityCommand(*opt); }};
}

}  // namespace qforge::cli
