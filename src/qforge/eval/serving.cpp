#include "qforge/eval/serving.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "qforge/core/thread_pool.h"
#include "qforge/eval/stats.h"
#include "qforge/model/chat_template.h"
#include "qforge/model/context.h"
#include "qforge/model/model.h"
#include "qforge/model/sampler.h"
#include "qforge/tokenizer/tokenizer.h"

namespace qforge {

namespace {

// This process image's peak resident set (VmHWM of /proc/self/status), 0 if unreadable. Not
// getrusage's ru_maxrss: a forked child's ru_maxrss also counts the parent's pages it shared
// until exec, so a serving child forked from a large eval process reported the eval's size.
uint64_t OwnPeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;  // kB
  }
  return 0;
}

using Clock = std::chrono::steady_clock;

// The request mix: short questions to a few paragraphs, so latency reflects both prompt
// processing and generation.
const char* const kPrompts[] = {
    "What is the boiling point of water at sea level?",
    "Write a haiku about autumn leaves.",
    "Explain in two sentences why the sky looks blue during the day.",
    "List three ways to reduce the memory use of a program that loads large data files, and say "
    "which one you would try first and why.",
    "Summarize the following note for a busy manager: The release was delayed by two days because "
    "the integration tests found a race condition in the cache layer. The fix is merged, the tests "
    "pass on every platform, and the release candidate is being built now. No customer data was "
    "affected, and the rollout plan is unchanged apart from the new date.",
    "Translate into French: The train leaves at eight in the morning.",
    "A shop sells pencils at 3 for 1 dollar. How much do 12 pencils cost? Explain briefly.",
    "Rewrite this sentence to be more formal: we gotta fix the bug before the demo tomorrow, it's "
    "kinda embarrassing otherwise, and the client already asked about it twice this week.",
};

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

}  // namespace

Expected<ServingResult> RunServingBenchmark(const std::string& model_path, const ServingOptions& options) {
  auto model = Model::Load(model_path);
  if (!model) return model.error();
  auto tokenizer = Tokenizer::FromGguf((*model)->file());
  if (!tokenizer) return tokenizer.error();
  std::optional<ChatTemplate> tmpl;
  if (!(*model)->config().chat_template.empty()) {
    if (auto t = DetectChatTemplate((*model)->config().chat_template)) tmpl = *t;
  }
  std::vector<std::vector<int32_t>> prompts;
  for (const char* p : kPrompts) {
    const std::string text = tmpl ? ApplyChatTemplate(*tmpl, {{"user", p}}, true) : std::string(p);
    prompts.push_back(tokenizer->Encode(text, tokenizer->add_bos_by_default() && !(tmpl && tmpl->bos_in_template),
                                        tmpl.has_value()));
  }
  size_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, p.size());
  ThreadPool pool(options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency()));
  const int n_ctx = static_cast<int>(longest) + options.gen_tokens + 1;
  InferenceContext ctx(**model, n_ctx, 512, pool);
  ServingResult r;
  r.file_bytes = std::filesystem::file_size(model_path);
  double prompt_s = 0.0, gen_s = 0.0;
  size_t prompt_tokens = 0, gen_tokens = 0;
  std::vector<float> logits;
  // One unmeasured request first: page in the weights, as a server would have before traffic.
  for (int req = -1; req < options.requests; ++req) {
    const auto& prompt = prompts[static_cast<size_t>(std::max(req, 0)) % prompts.size()];
    const auto t0 = Clock::now();
    ctx.Truncate(0);
    QF_RETURN_IF_ERROR(ctx.Evaluate(prompt, prompt.size() - 1, &logits));
    const auto t1 = Clock::now();
    for (int i = 0; i < options.gen_tokens; ++i) {
      const int32_t next = Argmax(logits);
      const int32_t one[1] = {next};
      QF_RETURN_IF_ERROR(ctx.Evaluate(one, 0, &logits));
    }
    const auto t2 = Clock::now();
    if (req < 0) continue;
    prompt_s += Seconds(t0, t1);
    gen_s += Seconds(t1, t2);
    prompt_tokens += prompt.size();
    gen_tokens += static_cast<size_t>(options.gen_tokens);
    r.latency_ms.push_back(1000.0 * Seconds(t0, t2));
  }
  r.prompt_tokens_per_s = prompt_s > 0 ? prompt_tokens / prompt_s : 0.0;
  r.gen_tokens_per_s = gen_s > 0 ? gen_tokens / gen_s : 0.0;
  r.p50_ms = Quantile(r.latency_ms, 0.50);
  r.p99_ms = Quantile(r.latency_ms, 0.99);
  r.peak_rss_bytes = OwnPeakRssBytes();
  return r;
}

std::string ServingResultToJson(const ServingResult& r) {
  nlohmann::json j = {{"file_bytes", r.file_bytes},       {"peak_rss_bytes", r.peak_rss_bytes},
                      {"prompt_tokens_per_s", r.prompt_tokens_per_s}, {"gen_tokens_per_s", r.gen_tokens_per_s},
                      {"latency_ms", r.latency_ms},       {"p50_ms", r.p50_ms},
                      {"p99_ms", r.p99_ms}};
  return j.dump();
}

Expected<ServingResult> ServingResultFromJson(const std::string& text) {
  try {
    const auto j = nlohmann::json::parse(text);
    ServingResult r;
    r.file_bytes = j.at("file_bytes").get<uint64_t>();
    r.peak_rss_bytes = j.at("peak_rss_bytes").get<uint64_t>();
    r.prompt_tokens_per_s = j.at("prompt_tokens_per_s").get<double>();
    r.gen_tokens_per_s = j.at("gen_tokens_per_s").get<double>();
    r.latency_ms = j.at("latency_ms").get<std::vector<double>>();
    r.p50_ms = j.at("p50_ms").get<double>();
    r.p99_ms = j.at("p99_ms").get<double>();
    return r;
  } catch (const std::exception& e) {
    return MakeError(fmt::format("serving benchmark: unreadable result: {}", e.what()));
  }
}

Expected<ServingResult> MeasureServing(const std::string& exe, const std::string& model_path,
                                       const ServingOptions& options) {
  int out[2];
  if (pipe(out) != 0) return MakeError(fmt::format("serving benchmark: pipe: {}", std::strerror(errno)));
  const std::string requests = std::to_string(options.requests), gen = std::to_string(options.gen_tokens),
                    threads = std::to_string(options.threads);
  const pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    return MakeError(fmt::format("serving benchmark: fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(exe.c_str(), exe.c_str(), "serve-bench", "-m", model_path.c_str(), "--requests", requests.c_str(),
          "--gen", gen.c_str(), "-t", threads.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buffer[4096];
  ssize_t got;
  while ((got = read(out[0], buffer, sizeof buffer)) > 0 || (got < 0 && errno == EINTR)) {
    if (got > 0) text.append(buffer, static_cast<size_t>(got));
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return MakeError(fmt::format("serving benchmark of {} failed (exit status {})", model_path,
                                 WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  }
  return ServingResultFromJson(text);  // the child measured its own peak memory
}

}  // namespace qforge
