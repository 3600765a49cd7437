// qforge perplexity -m MODEL -f TEXT: llama.cpp's perplexity protocol, the same numbers.
#include <fmt/format.h>

#include <memory>
#include <thread>

#include "qforge/cli/commands.h"
#include "qforge/core/progress.h"
#include "qforge/eval/perplexity.h"
#include "qforge/io/mapped_file.h"
#include "qforge/model/model.h"
#include "qforge/tokenizer/tokenizer.h"

namespace qforge::cli {

namespace {

struct PerplexityCliOptions {
  std::string model;
  std::string text_file;
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
  auto text = ReadTextFile(opt.text_file);
  if (!text) return Fail(text.error().message);

  const bool add_bos = tokenizer->add_bos_by_default();
  const auto tokens = tokenizer->Encode(*text, add_bos, false);
  if (tokens.size() < 2 * static_cast<size_t>(opt.n_ctx)) {
    return Fail(fmt::format("{}: {} tokens; perplexity at context {} needs at least {}",
                            opt.text_file, tokens.size(), opt.n_ctx, 2 * opt.n_ctx));
  }
  ThreadPool pool(opt.threads > 0 ? opt.threads : static_cast<int>(std::thread::hardware_concurrency()));
  const int n_batch = opt.n_batch > 0 ? std::min(opt.n_batch, opt.n_ctx) : opt.n_ctx;
  InferenceContext ctx(**model, opt.n_ctx, n_batch, pool);
  PerplexityOptions popt;
  popt.n_ctx = opt.n_ctx;
  popt.n_batch = n_batch;
  popt.max_chunks = opt.chunks;
  if (add_bos) popt.bos = tokenizer->bos_id();
  fmt::print(stderr, "{} tokens, context {}, batch {}, {} threads\n", tokens.size(), opt.n_ctx,
             n_batch, pool.size());
  StderrProgress progress("perplexity");
  auto result = RunPerplexity(ctx, tokens, popt, progress.AsFn());
  progress.Finish();
  if (!result) return Fail(result.error().message);
  fmt::print("chunks {}, scored tokens {}, {:.2f} s ({:.1f} tokens/s)\n", result->n_chunks,
             result->nll.count, result->seconds,
             result->n_chunks * static_cast<double>(opt.n_ctx - 1) / result->seconds);
  fmt::print("PPL = {:.4f} +/- {:.5f}\n", result->ppl, result->ppl_err);
  return kExitOk;
}

}  // namespace

Subcommand AddPerplexityCommand(CLI::App& root) {
  auto opt = std::make_shared<PerplexityCliOptions>();
  CLI::App* app = root.add_subcommand("perplexity", "Perplexity of a model on a text (llama.cpp's protocol)");
  app->add_option("-m,--model", opt->model, "GGUF model file")->required();
  app->add_option("-f,--file", opt->text_file, "Text file")->required();
  app->add_option("-c,--ctx", opt->n_ctx, "Tokens per chunk")->capture_default_str()->check(CLI::Range(8, 1 << 20));
  app->add_option("-b,--batch", opt->n_batch, "Tokens per forward pass (default: the context)")->check(CLI::Range(0, 1 << 20));
  app->add_option("--chunks", opt->chunks, "Evaluate only the first N chunks")->check(CLI::Range(1, 1 << 30));
  app->add_option("-t,--threads", opt->threads, "Threads (default: all cores)")->check(CLI::Range(0, 1024));
  return {app, [opt] { return RunPerplexityCommand(*opt); }};
}

}  // namespace qforge::cli
