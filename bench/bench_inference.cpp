// Prompt-processing and generation throughput and peak memory of a model, with 1..N threads.
// Mirrors llama-bench's pp/tg tests: pp = one batch of P random tokens from an empty cache,
// tg = T tokens generated one at a time. Each figure is the median of R repetitions after a
// warm-up. Prints a Markdown table.
#include <fmt/format.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "qforge/core/cpu_features.h"
#include "qforge/core/thread_pool.h"
#include "qforge/model/context.h"
#include "qforge/model/model.h"

namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux reports KiB
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"qforge inference benchmark: prompt processing and generation tokens/s"};
  std::string model_path;
  int n_prompt = 512, n_gen = 128, reps = 3;
  std::vector<int> thread_counts = {1, 2};
  app.add_option("-m,--model", model_path, "GGUF model")->required();
  app.add_option("-p,--prompt", n_prompt, "Prompt tokens (pp test)")->capture_default_str();
  app.add_option("-n,--gen", n_gen, "Generated tokens (tg test)")->capture_default_str();
  app.add_option("-r,--reps", reps, "Repetitions (median reported)")->capture_default_str();
  app.add_option("-t,--threads", thread_counts, "Thread counts to test")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto model = qforge::Model::Load(model_path);
  if (!model) {
    fmt::print(stderr, "bench_inference: {}\n", model.error().message);
    return 2;
  }
  const auto& cfg = (*model)->config();
  std::mt19937 rng(1);
  std::vector<int32_t> prompt(static_cast<size_t>(n_prompt));
  for (auto& t : prompt) t = static_cast<int32_t>(rng() % cfg.n_vocab);

  fmt::print("machine: {}\n", qforge::DescribeMachine());
  fmt::print("model: {} ({:.2f} MiB of weights)\n\n", model_path, (*model)->weight_bytes() / 1048576.0);
  fmt::print("| threads | test | tokens/s (median of {}) | min | max |\n|---:|---|---:|---:|---:|\n", reps);
  for (int threads : thread_counts) {
    qforge::ThreadPool pool(threads);
    qforge::InferenceContext ctx(**model, n_prompt + n_gen, n_prompt, pool);
    std::vector<float> logits;
    std::vector<double> pp, tg;
    for (int rep = -1; rep < reps; ++rep) {  // rep -1 is the warm-up
      ctx.Truncate(0);
      auto t0 = Clock::now();
      if (auto s = ctx.Evaluate(prompt, prompt.size() - 1, &logits); !s.ok()) {
        fmt::print(stderr, "bench_inference: {}\n", s.error().message);
        return 1;
      }
      const double pp_s = std::chrono::duration<double>(Clock::now() - t0).count();
      // Generation from an empty cache, as llama-bench's tg test.
      ctx.Truncate(0);
      int32_t token = prompt[0];
      t0 = Clock::now();
      for (int i = 0; i < n_gen; ++i) {
        if (auto s = ctx.Evaluate(std::span<const int32_t>(&token, 1), 0, &logits); !s.ok()) return 1;
        token = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      }
      const double tg_s = std::chrono::duration<double>(Clock::now() - t0).count();
      if (rep >= 0) {
        pp.push_back(n_prompt / pp_s);
        tg.push_back(n_gen / tg_s);
      }
      if (!std::isfinite(logits[0])) {
        fmt::print(stderr, "bench_inference: non-finite logits\n");
        return 1;
      }
    }
    fmt::print("| {} | pp{} | {:.2f} | {:.2f} | {:.2f} |\n", threads, n_prompt, Median(pp),
               *std::min_element(pp.begin(), pp.end()), *std::max_element(pp.begin(), pp.end()));
    fmt::print("| {} | tg{} | {:.2f} | {:.2f} | {:.2f} |\n", threads, n_gen, Median(tg),
               *std::min_element(tg.begin(), tg.end()), *std::max_element(tg.begin(), tg.end()));
  }
  fmt::print("\npeak RSS: {:.1f} MiB\n", PeakRssMiB());
  return 0;
}
