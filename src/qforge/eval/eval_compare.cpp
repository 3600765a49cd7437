#include "qforge/eval/eval_compare.h"

#include <fmt/format.h>

namespace qforge {

namespace {

// Applies the gate's rule (if any) to a metric whose summary is at the gate's confidence.
void ApplyGate(const Gate& gate, const std::string& capability, const std::string& suite, MetricResult& m) {
  const GateRule* rule = gate.Find(capability, suite, m.name);
  if (!rule) return;
  m.gated = true;
  m.min_delta = rule->min_delta;
  m.max_delta = rule->max_delta;
  const int pct = static_cast<int>(std::lround(100 * gate.confidence));
  std::vector<std::string> parts;
  if (rule->min_delta) {
    parts.push_back(fmt::format("delta > {:g} with {}% confidence", *rule->min_delta, pct));
    m.pass = m.pass && m.summary.delta_ci.lo > *rule->min_delta;
  }
  if (rule->max_delta) {
    parts.push_back(fmt::format("delta < {:g} with {}% confidence", *rule->max_delta, pct));
    m.pass = m.pass && m.summary.delta_ci.hi < *rule->max_delta;
  }
  m.rule = fmt::format("{}", fmt::join(parts, " and "));
}

std::string Truncate(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n) + " …";
}

}  // namespace

std::string PassRateMetricName(const Suite& suite) {
  for (const SuiteItem& item : suite.items) {
    if (!item.options.empty() && item.answer_index >= 0) return "accuracy";
    switch (item.check.kind) {
      case AnswerCheck::Kind::kFinalNumber: return "exact_match";
      case AnswerCheck::Kind::kPythonTests: return "pass@1";
      case AnswerCheck::Kind::kJsonCall: return "call_accuracy";
      case AnswerCheck::Kind::kContains: return "recall";
      case AnswerCheck::Kind::kNone: break;
    }
  }
  return "pass_rate";
}

std::vector<CapabilityResult> CompareCapabilities(const std::vector<Suite>& suites, const ModelRun& baseline,
                                                  const ModelRun& candidate, const Gate& gate, uint64_t seed) {
  std::vector<CapabilityResult> results;
  for (size_t s = 0; s < suites.size(); ++s) {
    const Suite& suite = suites[s];
    const SuiteRun& b = baseline.suites[s];
    const SuiteRun& c = candidate.suites[s];
    CapabilityResult cap;
    cap.capability = suite.capability;
    cap.suite = suite.name;
    cap.items = suite.items.size();

    // Teacher-forced measures over the items that have a reference answer.
    std::vector<double> base_lp, cand_lp, zeros, cand_kld, hundreds, cand_top1;
    // Graded outcomes (generated answers or the chosen option).
    std::vector<double> base_pass, cand_pass;
    std::vector<uint8_t> base_ok, cand_ok;
    bool any_generated = false;
    for (size_t i = 0; i < suite.items.size(); ++i) {
      const ItemRun& bi = b.items[i];
      const ItemRun& ci = c.items[i];
      if (bi.answer_tokens > 0) {
        base_lp.push_back(bi.answer_logprob);
        cand_lp.push_back(ci.answer_logprob);
        zeros.push_back(0.0);
        cand_kld.push_back(ci.answer_kld);
        hundreds.push_back(100.0);
        cand_top1.push_back(ci.answer_top1);
      }
      if (bi.graded && ci.graded) {  // an item either model could not grade is left out
        base_pass.push_back(bi.pass ? 100.0 : 0.0);
        cand_pass.push_back(ci.pass ? 100.0 : 0.0);
        base_ok.push_back(bi.pass);
        any_generated = any_generated || bi.generated;
        cand_ok.push_back(ci.pass);
        if (bi.pass != ci.pass && cap.examples.size() < 4) {
          cap.examples.push_back({suite.items[i].id, Truncate(suite.items[i].prompt, 600),
                                  bi.generated ? bi.text : fmt::format("option {}", bi.chosen),
                                  ci.generated ? ci.text : fmt::format("option {}", ci.chosen), bi.pass, ci.pass});
        }
      }
    }
    auto add = [&](std::string name, std::string kind, std::string unit, bool higher, const std::vector<double>& bv,
                   const std::vector<double>& cv) -> MetricResult& {
      MetricResult m;
      m.name = std::move(name);
      m.kind = std::move(kind);
      m.unit = std::move(unit);
      m.higher_is_better = higher;
      m.confidence = gate.confidence;
      m.summary = SummarizePaired(bv, cv, gate.confidence, 10000, seed);
      ApplyGate(gate, cap.capability, cap.suite, m);
      cap.pass = cap.pass && m.pass;
      cap.metrics.push_back(std::move(m));
      return cap.metrics.back();
    };
    if (!base_pass.empty()) {
      // Multiple choice is graded by option likelihood, everything else by a generated answer.
      MetricResult& m = add(PassRateMetricName(suite), any_generated ? "generated" : "likelihood", "%", true,
                            base_pass, cand_pass);
      m.has_flips = true;
      m.flips = CountFlips(base_ok, cand_ok);
    }
    if (!base_lp.empty()) {
      add("answer_logprob", "teacher_forced", "nats/token", true, base_lp, cand_lp);
      add("answer_kld", "teacher_forced", "nats/token", false, zeros, cand_kld);
      add("answer_top1_agreement", "teacher_forced", "%", true, hundreds, cand_top1);
    }
    results.push_back(std::move(cap));
  }
  return results;
}

}  // namespace qforge
