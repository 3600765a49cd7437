// qforge serve-bench -m MODEL: the serving benchmark of `qforge eval` on its own (a fixed mix
// of requests; latency p50/p99, tokens/s), printed as JSON. `qforge eval` runs it in a child
// process so that each model's peak memory is its own.
#include <fmt/format.h>

#include "qforge/cli/commands.h"
#include "qforge/eval/serving.h"

namespace qforge::cli {

Subcommand AddServeBenchCommand(CLI::App& root) {
  struct Options {
    std::string model;
    ServingOptions serving;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* app = root.add_subcommand("serve-bench", "Serving benchmark of one model (JSON on stdout)");
  app->add_option("-m,--model", opt->model, "GGUF model file")->required();
  app->add_option("--requests", opt->serving.requests, "Requests")->capture_default_str()->check(CLI::Range(1, 100000));
  app->add_option("--gen", opt->serving.gen_tokens, "Tokens generated per request")->capture_default_str()->check(CLI::Range(1, 4096));
  app->add_option("-t,--threads", opt->serving.threads, "Threads (default: all cores)")->check(CLI::Range(0, 1024));
  return {app, [opt] {
            auto r = RunServingBenchmark(opt->model, opt->serving);
            if (!r) return Fail(r.error().message);
            fmt::print("{}\n", ServingResultToJson(*r));
            return kExitOk;
          }};
}

}  // namespace qforge::cli
