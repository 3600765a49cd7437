// Serving metrics: a fixed mix of chat requests (prompts of different lengths, a fixed number
// of greedy tokens each) run one after another, as a single-user server would see them:
// per-request latency (p50/p99), prompt and generation tokens/s, and the peak memory of a
// process that serves only this model (measured in a child process, so two models evaluated in
// one run do not share one peak).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qforge/core/status.h"

namespace qforge {

struct ServingOptions {
  int requests = 16;     // cycles through the built-in prompts
  int gen_tokens = 32;   // generated per request, end tokens ignored so every request is equal
  int threads = 0;       // 0 = all cores
};

struct ServingResult {
  uint64_t file_bytes = 0;
  uint64_t peak_rss_bytes = 0;  // the serving process's own peak (VmHWM); 0 if unknown
  double prompt_tokens_per_s = 0.0;
  double gen_tokens_per_s = 0.0;
  std::vector<double> latency_ms;  // per request, in order
  double p50_ms = 0.0, p99_ms = 0.0;
};

// Runs the request mix in this process.
Expected<ServingResult> RunServingBenchmark(const std::string& model_path, const ServingOptions& options);

// Runs `exe serve-bench` (the qforge binary) on the model in a child process and adds the
// child's peak resident memory.
Expected<ServingResult> MeasureServing(const std::string& exe, const std::string& model_path,
                                       const ServingOptions& options);

std::string ServingResultToJson(const ServingResult& r);
Expected<ServingResult> ServingResultFromJson(const std::string& json);

}  // namespace qforge
