// Gate files: what they accept, what they reject (with the file named), and how rules apply.
#include "qforge/eval/gate.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "qforge/eval/eval_compare.h"

namespace qforge {
namespace {

std::string WriteTemp(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << content;
  return path.string();
}

TEST(Gate, ParsesRulesAndDistributionBounds) {
  const std::string path = WriteTemp("qforge-gate-ok.toml", R"(
confidence = 0.9
[distribution]
max_ppl_ratio = 1.02
max_kld_mean = 0.05
[[metric]]
capability = "math"
name = "exact_match"
min_delta = -3.0
[[metric]]
name = "answer_kld"
max_delta = 0.1
)");
  auto gate = LoadGate(path);
  ASSERT_TRUE(gate.ok()) << gate.error().message;
  EXPECT_DOUBLE_EQ(gate->confidence, 0.9);
  EXPECT_DOUBLE_EQ(*gate->max_ppl_ratio, 1.02);
  EXPECT_DOUBLE_EQ(*gate->max_kld_mean, 0.05);
  ASSERT_EQ(gate->rules.size(), 2u);
  const GateRule* math = gate->Find("math", "math-gsm8k", "exact_match");
  ASSERT_NE(math, nullptr);
  EXPECT_DOUBLE_EQ(*math->min_delta, -3.0);
  EXPECT_EQ(gate->Find("code", "code-mbpp", "exact_match"), nullptr);
  const GateRule* kld = gate->Find("code", "code-mbpp", "answer_kld");
  ASSERT_NE(kld, nullptr);  // capability "*" by default
  EXPECT_DOUBLE_EQ(*kld->max_delta, 0.1);
  EXPECT_EQ(gate->sha256.size(), 64u);
}

TEST(Gate, SpecificRuleWinsOverWildcard) {
  Gate g;
  g.rules.push_back({"*", "pass@1", -10.0, std::nullopt});
  g.rules.push_back({"code", "pass@1", -2.0, std::nullopt});
  EXPECT_DOUBLE_EQ(*g.Find("code", "code-mbpp", "pass@1")->min_delta, -2.0);
  EXPECT_DOUBLE_EQ(*g.Find("math", "math-gsm8k", "pass@1")->min_delta, -10.0);
}

TEST(Gate, RejectsBadFilesNamingThem) {
  struct Case {
    const char* content;
    const char* expected;
  };
  const Case cases[] = {
      {"confidence = 0.95\nconfidense = 1\n", "unknown key 'confidense'"},
      {"[distribution]\nmax_ppl = 1.1\n", "unknown key 'max_ppl'"},
      {"[[metric]]\nname = \"pass@1\"\n", "neither min_delta nor max_delta"},
      {"[[metric]]\nmin_delta = -1.0\n", "has no name"},
      {"confidence = 1.5\n", "confidence must be between"},
      {"confidence = \n", ""},  // a TOML syntax error
      {"[[metric]]\nname = \"x\"\nmin_delta = \"low\"\n", ""},  // wrong type
  };
  int i = 0;
  for (const Case& c : cases) {
    const std::string path = WriteTemp("qforge-gate-bad-" + std::to_string(i++) + ".toml", c.content);
    auto gate = LoadGate(path);
    ASSERT_FALSE(gate.ok()) << c.content;
    EXPECT_NE(gate.error().message.find(path), std::string::npos) << gate.error().message;
    EXPECT_NE(gate.error().message.find(c.expected), std::string::npos) << gate.error().message;
    EXPECT_EQ(gate.error().message.find('\n'), std::string::npos) << "one line: " << gate.error().message;
  }
  auto missing = LoadGate("/nonexistent/gate.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/gate.toml"), std::string::npos);
}

// A suite of 40 graded items where the candidate loses `lost` of the baseline's passes.
void MakeRuns(int lost, Suite* suite, ModelRun* base, ModelRun* cand) {
  suite->name = "math-test";
  suite->capability = "math";
  base->suites.assign(1, {});
  cand->suites.assign(1, {});
  base->suites[0].name = cand->suites[0].name = suite->name;
  for (int i = 0; i < 40; ++i) {
    SuiteItem item;
    item.id = std::to_string(i);
    item.max_tokens = 8;
    item.check.kind = AnswerCheck::Kind::kFinalNumber;
    suite->items.push_back(item);
    ItemRun b, c;
    b.graded = c.graded = b.generated = c.generated = true;
    b.pass = i % 2 == 0;
    c.pass = b.pass && !(i % 2 == 0 && i / 2 < lost);
    base->suites[0].items.push_back(b);
    cand->suites[0].items.push_back(c);
  }
}

TEST(Gate, IdenticalRunsPassAndRegressionsFail) {
  const Gate gate = DefaultGate();  // exact_match: delta > -10 points with 95% confidence
  for (int lost : {0, 12}) {
    Suite suite;
    ModelRun base, cand;
    MakeRuns(lost, &suite, &base, &cand);
    const auto caps = CompareCapabilities({suite}, base, cand, gate, 1);
    ASSERT_EQ(caps.size(), 1u);
    ASSERT_EQ(caps[0].metrics.size(), 1u);
    const MetricResult& m = caps[0].metrics[0];
    EXPECT_EQ(m.name, "exact_match");
    EXPECT_TRUE(m.gated);
    EXPECT_NEAR(m.summary.delta, -100.0 * lost / 40, 1e-9);
    if (lost == 0) {
      EXPECT_TRUE(m.pass);
      EXPECT_TRUE(m.summary.delta_ci.Contains(0.0));
      EXPECT_EQ(m.flips.lost, 0u);
    } else {
      EXPECT_FALSE(m.pass) << "losing 12 of 20 passes must fail the gate";
      EXPECT_FALSE(caps[0].pass);
      EXPECT_EQ(m.flips.lost, 12u);
      EXPECT_LT(m.flips.p_value, 0.001);
    }
  }
}

}  // namespace
}  // namespace qforge
