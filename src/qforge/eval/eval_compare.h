// Baseline against candidate, capability by capability: per-item paired measures summarized
// with bootstrap confidence intervals, pass/fail flips with McNemar's test, and the gate's
// verdict on each metric.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "qforge/eval/eval_run.h"
#include "qforge/eval/gate.h"
#include "qforge/eval/stats.h"
#include "qforge/eval/suite.h"

namespace qforge {

struct MetricResult {
  std::string name;
  std::string kind;  // "generated" or "teacher_forced"
  std::string unit;
  bool higher_is_better = true;
  PairedSummary summary;
  double confidence = 0.95;
  bool has_flips = false;
  FlipSummary flips;
  bool gated = false;
  std::string rule;
  std::optional<double> min_delta, max_delta;  // the gate's bounds, when gated
  bool pass = true;
};

struct FlippedExample {
  std::string id;
  std::string prompt;
  std::string baseline_text, candidate_text;
  bool baseline_pass = false, candidate_pass = false;
};

struct CapabilityResult {
  std::string capability;
  std::string suite;
  size_t items = 0;
  std::vector<MetricResult> metrics;
  std::vector<FlippedExample> examples;
  bool pass = true;
};

// The name of the pass-rate metric for a suite's kind of check ("exact_match", "pass@1", ...).
std::string PassRateMetricName(const Suite& suite);

std::vector<CapabilityResult> CompareCapabilities(const std::vector<Suite>& suites, const ModelRun& baseline,
                                                  const ModelRun& candidate, const Gate& gate, uint64_t seed);

}  // namespace qforge
