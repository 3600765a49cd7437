// The eval report: one JSON document (schema: docs/report-format.md) with the verdict, what
// produced it, the distribution metrics, the per-capability comparison and serving metrics;
// written beside its HTML rendering.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/eval/eval_compare.h"
#include "qforge/eval/eval_run.h"
#include "qforge/eval/gate.h"
#include "qforge/eval/serving.h"
#include "qforge/eval/suite.h"

namespace qforge {

struct ModelInfo {
  std::string path;
  std::string sha256;
  uint64_t size_bytes = 0;
  std::string file_type;     // mix name from general.file_type, e.g. "Q4_K_M"
  double bits_per_weight = 0.0;
  nlohmann::json quantization = nlohmann::json::object();  // what the file says about how it was made
};

// Reads what a report records about a model file (hash, size, type, bits per weight).
Expected<ModelInfo> DescribeModelFile(const std::string& path);

struct ReportInputs {
  ModelInfo baseline, candidate;
  std::string text_path, text_sha256;
  size_t text_tokens = 0;
  const std::vector<Suite>* suites = nullptr;
  const ModelRun* baseline_run = nullptr;
  const ModelRun* candidate_run = nullptr;
  std::vector<CapabilityResult> capabilities;
  const Gate* gate = nullptr;
  bool cache_hit = false;
  std::optional<ServingResult> serving_baseline, serving_candidate;
  int serving_requests = 0;
  uint64_t seed = 1;
  std::string command;
  double total_seconds = 0.0;
};

struct Verdict {
  bool pass = true;
  std::vector<std::string> regressions;
};

nlohmann::json BuildReport(const ReportInputs& in, Verdict* verdict);

// Writes DIR/report.json and DIR/report.html, each through a temporary name.
Status WriteReport(const std::string& dir, const nlohmann::json& report);

}  // namespace qforge
