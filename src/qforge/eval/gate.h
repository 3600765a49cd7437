// The pass/fail gate of an eval: thresholds per metric, each to be met with a stated
// confidence. A rule on a metric where higher is better passes when the lower end of the
// delta's confidence interval stays above `min_delta` ("math: delta > -3 with 95%
// confidence"); where lower is better, when the upper end stays below `max_delta`. Distribution
// rules bound the perplexity ratio and the mean KLD the same way. File format (TOML) and the
// defaults: docs/gate.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "qforge/core/status.h"

namespace qforge {

struct GateRule {
  std::string capability = "*";  // a capability, a suite name, or "*"
  std::string metric;            // e.g. "exact_match", "answer_logprob"
  std::optional<double> min_delta;
  std::optional<double> max_delta;
};

struct Gate {
  std::string source = "defaults";  // the file, or "defaults"
  std::string sha256;               // of the file
  double confidence = 0.95;
  std::optional<double> max_ppl_ratio;
  std::optional<double> max_kld_mean;
  std::vector<GateRule> rules;

  // The rule for a metric: one naming the capability or suite first, then one for "*".
  const GateRule* Find(const std::string& capability, const std::string& suite, const std::string& metric) const;
};

Gate DefaultGate();
// Reads a gate file; errors name the file and the problem.
Expected<Gate> LoadGate(const std::string& path);

}  // namespace qforge
