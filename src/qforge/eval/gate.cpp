#include "qforge/eval/gate.h"

#include <fmt/format.h>

#include <toml.hpp>

#include "qforge/core/sha256.h"

namespace qforge {

namespace {

const char* const kPassRateMetrics[] = {"exact_match", "pass@1", "call_accuracy", "accuracy", "recall"};

}  // namespace

const GateRule* Gate::Find(const std::string& capability, const std::string& suite, const std::string& metric) const {
  const GateRule* wildcard = nullptr;
  for (const GateRule& r : rules) {
    if (r.metric != metric) continue;
    if (r.capability == capability || r.capability == suite) return &r;
    if (r.capability == "*" && !wildcard) wildcard = &r;
  }
  return wildcard;
}

Gate DefaultGate() {
  Gate g;
  g.max_ppl_ratio = 1.05;
  // Generated answers: lose at most 10 points of pass rate. Teacher-forced: lose at most 0.05
  // nats per reference token (about 5% in likelihood), which even a 135M model measures tightly.
  for (const char* m : kPassRateMetrics) g.rules.push_back({"*", m, -10.0, std::nullopt});
  g.rules.push_back({"*", "answer_logprob", -0.05, std::nullopt});
  return g;
}

Expected<Gate> LoadGate(const std::string& path) {
  Gate gate;
  gate.source = path;
  auto sha = Sha256File(path);
  if (!sha) return sha.error();
  gate.sha256 = *sha;
  try {
    const toml::value root = toml::parse(path);
    for (const auto& [key, _] : root.as_table()) {
      if (key != "confidence" && key != "distribution" && key != "metric") {
        return MakeError(fmt::format("{}: unknown key '{}' (expected confidence, [distribution], [[metric]])", path, key));
      }
    }
    gate.confidence = toml::find_or<double>(root, "confidence", 0.95);
    if (!(gate.confidence > 0.5 && gate.confidence < 1.0)) {
      return MakeError(fmt::format("{}: confidence must be between 0.5 and 1, got {}", path, gate.confidence));
    }
    if (root.contains("distribution")) {
      const toml::value& d = toml::find(root, "distribution");
      for (const auto& [key, _] : d.as_table()) {
        if (key == "max_ppl_ratio") gate.max_ppl_ratio = toml::find<double>(d, key);
        else if (key == "max_kld_mean") gate.max_kld_mean = toml::find<double>(d, key);
        else return MakeError(fmt::format("{}: unknown key '{}' in [distribution]", path, key));
      }
    }
    if (root.contains("metric")) {
      for (const toml::value& m : toml::find<std::vector<toml::value>>(root, "metric")) {
        GateRule r;
        for (const auto& [key, _] : m.as_table()) {
          if (key == "capability") r.capability = toml::find<std::string>(m, key);
          else if (key == "name") r.metric = toml::find<std::string>(m, key);
          else if (key == "min_delta") r.min_delta = toml::find<double>(m, key);
          else if (key == "max_delta") r.max_delta = toml::find<double>(m, key);
          else return MakeError(fmt::format("{}: unknown key '{}' in a [[metric]] rule", path, key));
        }
        if (r.metric.empty()) return MakeError(fmt::format("{}: a [[metric]] rule has no name", path));
        if (!r.min_delta && !r.max_delta) {
          return MakeError(fmt::format("{}: the [[metric]] rule for '{}' sets neither min_delta nor max_delta", path, r.metric));
        }
        gate.rules.push_back(r);
      }
    }
  } catch (const std::exception& e) {
    // toml11's messages span several lines with a source excerpt; the first line says what.
    std::string what = e.what();
    if (const auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return MakeError(fmt::format("{}: {}", path, what));
  }
  return gate;
}

}  // namespace qforge
