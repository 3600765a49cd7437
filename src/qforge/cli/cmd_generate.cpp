// qforge generate -m MODEL -p TEXT: run a model on a prompt and print the continuation.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "qforge/cli/commands.h"
#include "qforge/model/chat_template.h"
#include "qforge/model/generate.h"
#include "qforge/model/model.h"

namespace qforge::cli {

namespace {

struct GenerateCliOptions {
  std::string model;
  std::string prompt;
  std::string system;
  std::string chat_template;
  bool chat = false;
  int n_predict = 128;
  int n_ctx = 2048;
  int threads = 0;
  SamplerOptions sampler;
  bool quiet = false;
};

int RunGenerate(const GenerateCliOptions& opt) {
  auto model = Model::Load(opt.model);
  if (!model) return Fail(model.error().message);
  auto tokenizer = Tokenizer::FromGguf((*model)->file());
  if (!tokenizer) return Fail(tokenizer.error().message);

  std::string text = opt.prompt;
  if (opt.chat) {
    auto tmpl = DetectChatTemplate(opt.chat_template.empty() ? (*model)->config().chat_template
                                                             : opt.chat_template);
    if (!tmpl) return Fail(fmt::format("{}: {}", opt.model, tmpl.error().message));
    std::vector<ChatMessage> messages;
    if (!opt.system.empty()) messages.push_back({"system", opt.system});
    messages.push_back({"user", opt.prompt});
    text = ApplyChatTemplate(*tmpl, messages, true);
  }
  const auto prompt = tokenizer->Encode(text, tokenizer->add_bos_by_default(), opt.chat);
  if (prompt.empty()) return Fail("the prompt is empty after tokenization");
  const int n_ctx = std::min<int>(opt.n_ctx, (*model)->config().n_ctx_train);
  if (static_cast<int>(prompt.size()) >= n_ctx) {
    return Fail(fmt::format("the prompt has {} tokens; the context holds {}", prompt.size(), n_ctx));
  }
  ThreadPool pool(opt.threads > 0 ? opt.threads : static_cast<int>(std::thread::hardware_concurrency()));
  InferenceContext ctx(**model, n_ctx, 512, pool);
  GenerateOptions gen;
  gen.max_tokens = opt.n_predict;
  gen.sampler = opt.sampler;
  if (!opt.chat) std::fwrite(opt.prompt.data(), 1, opt.prompt.size(), stdout);
  auto result = Generate(ctx, *tokenizer, prompt, gen, [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  });
  std::fputc('\n', stdout);
  if (!result) return Fail(result.error().message);
  if (!opt.quiet) {
    const double gen_tps = result->tokens.size() > 1
                               ? (result->tokens.size() - 1) / (result->generate_seconds - result->token_seconds.front())
                               : 0.0;
    fmt::print(stderr, "prompt: {} tokens in {:.3f} s ({:.1f} tok/s); generated {} tokens ({:.1f} tok/s), {} threads\n",
               result->n_prompt, result->prompt_seconds, result->n_prompt / std::max(1e-9, result->prompt_seconds),
               result->tokens.size(), gen_tps, pool.size());
  }
  return kExitOk;
}

}  // namespace

Subcommand AddGenerateCommand(CLI::App& root) {
  auto opt = std::make_shared<GenerateCliOptions>();
  CLI::App* app = root.add_subcommand("generate", "Generate text from a prompt");
  app->add_option("-m,--model", opt->model, "GGUF model file")->required();
  app->add_option("-p,--prompt", opt->prompt, "Prompt text")->required();
  app->add_option("-n,--n-predict", opt->n_predict, "Maximum tokens to generate")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app->add_option("--temp", opt->sampler.temperature, "Sampling temperature (0 = greedy)")->capture_default_str()->check(CLI::Range(0.0, 100.0));
  app->add_option("--top-k", opt->sampler.top_k, "Keep the k most likely tokens (0 = all)")->capture_default_str();
  app->add_option("--top-p", opt->sampler.top_p, "Keep the smallest set with this probability mass")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  app->add_option("--seed", opt->sampler.seed, "Random seed for sampling")->capture_default_str();
  app->add_flag("--chat", opt->chat, "Wrap the prompt in the model's chat template");
  app->add_option("--system", opt->system, "System message (with --chat)");
  app->add_option("--chat-template", opt->chat_template, "Override the template: chatml, llama3, llama2, gemma");
  app->add_option("-c,--ctx", opt->n_ctx, "Context size")->capture_default_str()->check(CLI::Range(16, 1 << 20));
  app->add_option("-t,--threads", opt->threads, "Threads (default: all cores)")->check(CLI::Range(0, 1024));
  app->add_flag("-q,--quiet", opt->quiet, "No timing line on stderr");
  return {app, [opt] { return RunGenerate(*opt); }};
}

}  // namespace qforge::cli
