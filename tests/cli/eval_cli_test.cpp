// `qforge eval` end to end through the command line: a model against itself passes (exit 0,
// every delta's interval contains 0), a damaged candidate fails (exit 1) naming the capability,
// the baseline is cached, and bad input exits 2 with one line naming the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "qforge/eval/serving.h"
#include "test_paths.h"

namespace qforge {
namespace {

using testing::RunCli;
using testing::SharedDir;
using testing::TempDir;

std::string TinyDir() { return SharedDir() + "/testdata/llamacpp/"; }

// A suite directory with one small inline suite the tiny random model can run: a
// teacher-forced item, a multiple-choice item and a generated item with a check.
std::string WriteTinySuites() {
  const std::string dir = TempDir() + "/eval-suites";
  std::filesystem::create_directories(dir);
  std::ofstream f(dir + "/tiny-story.jsonl");
  f << R"({"qforge_suite": 1, "name": "tiny-story", "capability": "story", "version": "1", "description": "test"})" "\n";
  const char* stories[] = {"Once upon a time", "The little dog", "She went to the park", "He had a red ball",
                           "The sun was warm", "They played all day"};
  int i = 0;
  for (const char* s : stories) {
    nlohmann::json item = {{"id", "story-" + std::to_string(i++)}, {"prompt", s},
                           {"reference", " and they were very happy together."}};
    f << item.dump() << "\n";
  }
  nlohmann::json choice = {{"id", "choice"}, {"prompt", "The cat sat on the"}, {"options", {" mat", " sky"}},
                           {"answer_index", 0}};
  f << choice.dump() << "\n";
  nlohmann::json gen = {{"id", "gen"}, {"prompt", "One day, a girl"}, {"max_tokens", 8},
                        {"check", {{"kind", "contains"}, {"expected", "the"}}}};
  f << gen.dump() << "\n";
  return dir;
}

std::string EvalArgs(const std::string& candidate, const std::string& report, const std::string& extra = "") {
  return "eval --baseline " + TinyDir() + "tiny-llama-f32.gguf --candidate " + candidate + " --report " + report +
         " --suites " + WriteTinySuites() + " --text " + TinyDir() + "eval.txt --ctx 128 --chunks 8 --no-serving" +
         " --cache-dir " + TempDir() + "/eval-cache -t 2 " + extra;
}

nlohmann::json ReadReport(const std::string& dir) {
  std::ifstream in(dir + "/report.json");
  return nlohmann::json::parse(in);
}

TEST(EvalCli, ModelAgainstItselfPassesAndIsCached) {
  const std::string report = TempDir() + "/eval-self";
  const auto first = RunCli(EvalArgs(TinyDir() + "tiny-llama-f32.gguf", report));
  ASSERT_EQ(first.exit_code, 0) << first.err << first.out;
  EXPECT_NE(first.out.find("verdict: PASS"), std::string::npos) << first.out;
  const auto j = ReadReport(report);
  EXPECT_EQ(j["verdict"], "pass");
  EXPECT_EQ(j["distribution"]["ppl_ratio"]["value"].get<double>(), 1.0);
  EXPECT_NEAR(j["distribution"]["kld"]["mean"]["value"].get<double>(), 0.0, 1e-6);
  ASSERT_EQ(j["capabilities"].size(), 1u);
  for (const auto& m : j["capabilities"][0]["metrics"]) {
    EXPECT_LE(m["ci"][0].get<double>(), 0.0) << m.dump();
    EXPECT_GE(m["ci"][1].get<double>(), 0.0) << m.dump();
  }
  EXPECT_TRUE(std::filesystem::exists(report + "/report.html"));
  EXPECT_EQ(j["distribution"]["baseline_cache"], "miss");
  // The same baseline again comes from the cache, with the same numbers.
  const auto second = RunCli(EvalArgs(TinyDir() + "tiny-llama-f32.gguf", report + "-again"));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("cached"), std::string::npos) << second.err;
  const auto j2 = ReadReport(report + "-again");
  EXPECT_EQ(j2["distribution"]["baseline_cache"], "hit");
  EXPECT_EQ(j2["capabilities"][0]["metrics"][0]["baseline"], j["capabilities"][0]["metrics"][0]["baseline"]);
}

TEST(EvalCli, DamagedCandidateFailsNamingTheCapability) {
  const std::string gate = TempDir() + "/strict-gate.toml";
  std::ofstream(gate) << "[[metric]]\nname = \"answer_logprob\"\nmin_delta = -0.01\n";
  const std::string report = TempDir() + "/eval-q2k";
  const auto r = RunCli(EvalArgs(TinyDir() + "quantized/pure-Q2_K.gguf", report, "--gate " + gate));
  ASSERT_EQ(r.exit_code, 1) << r.err << r.out;
  EXPECT_NE(r.out.find("verdict: FAIL"), std::string::npos);
  EXPECT_NE(r.out.find("regression: story (tiny-story): answer_logprob"), std::string::npos) << r.out;
  const auto j = ReadReport(report);
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_GT(j["distribution"]["kld"]["mean"]["value"].get<double>(), 0.1);
  ASSERT_FALSE(j["regressions"].empty());
}

TEST(EvalCli, NoGenerateKeepsLikelihoodMeasuresOnly) {
  const std::string report = TempDir() + "/eval-no-generate";
  const auto r = RunCli(EvalArgs(TinyDir() + "tiny-llama-f32.gguf", report, "--no-generate"));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto j = ReadReport(report);
  ASSERT_EQ(j["capabilities"].size(), 1u);
  std::vector<std::string> kinds;
  for (const auto& m : j["capabilities"][0]["metrics"]) kinds.push_back(m["kind"].get<std::string>());
  // The multiple-choice item still counts (by likelihood); the generated item does not.
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "likelihood"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "teacher_forced"), kinds.end());
  EXPECT_EQ(std::find(kinds.begin(), kinds.end(), "generated"), kinds.end());
}

TEST(EvalCli, BadInputExitsTwoNamingTheFile) {
  const std::string report = TempDir() + "/eval-bad";
  struct Case {
    std::string args;
    std::string expected;
  };
  const std::string bad_gate = TempDir() + "/bad-gate.toml";
  std::ofstream(bad_gate) << "[[metric]]\nname = \"x\"\n";
  const std::string bad_suites = TempDir() + "/bad-suites";
  std::filesystem::create_directories(bad_suites);
  std::ofstream(bad_suites + "/broken.jsonl") << "{\"qforge_suite\": 1, \"name\": \"b\", \"capability\": \"c\", \"version\": \"1\"}\n{not json\n";
  const Case cases[] = {
      {"eval --baseline /nonexistent.gguf --candidate " + TinyDir() + "tiny-llama-f32.gguf --report " + report,
       "/nonexistent.gguf"},
      {EvalArgs(TinyDir() + "eval.txt", report), "eval.txt"},
      {EvalArgs(TinyDir() + "tiny-llama-f32.gguf", report, "--gate " + bad_gate), "bad-gate.toml"},
      {"eval --baseline " + TinyDir() + "tiny-llama-f32.gguf --candidate " + TinyDir() + "tiny-llama-f32.gguf --report " +
           report + " --suites " + bad_suites + " --text none --no-serving",
       "broken.jsonl:2"},
      {"eval --baseline " + TinyDir() + "tiny-llama-f32.gguf --candidate " + testing::SmolLM2Path() + " --report " + report +
           " --suites none --text none --no-serving",
       "vocabulary"},
  };
  for (const Case& c : cases) {
    const auto r = RunCli(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("qforge: "), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(report + "/report.json"));
}

TEST(EvalCli, ServeBenchReportsLatencies) {
  const auto r = RunCli("serve-bench -m " + TinyDir() + "tiny-llama-f32.gguf --requests 4 --gen 4 -t 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["latency_ms"].size(), 4u);
  EXPECT_GT(j["gen_tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["p99_ms"].get<double>(), 0.0);
  EXPECT_GE(j["p99_ms"].get<double>(), j["p50_ms"].get<double>());
  EXPECT_GT(j["peak_rss_bytes"].get<double>(), 1e6);  // measured, not left at 0
}

// The serving child is forked from the eval process; its peak memory must be its own, not the
// parent's pages it shared until exec (getrusage's ru_maxrss counts those). So a parent holding
// 256 MiB more must not change the child's figure.
TEST(EvalCli, ServingPeakMemoryIsTheChildsOwn) {
  ServingOptions options;
  options.requests = 2;
  options.gen_tokens = 2;
  options.threads = 1;
  const std::string model = TinyDir() + "tiny-llama-f32.gguf";
  auto small_parent = MeasureServing(testing::CliPath(), model, options);
  ASSERT_TRUE(small_parent.ok()) << small_parent.error().message;
  std::vector<char> ballast(256u << 20);
  for (size_t i = 0; i < ballast.size(); i += 4096) ballast[i] = static_cast<char>(i >> 12);  // resident
  auto large_parent = MeasureServing(testing::CliPath(), model, options);
  ASSERT_TRUE(large_parent.ok()) << large_parent.error().message;
  EXPECT_GT(small_parent->peak_rss_bytes, 1000000u);
  const double difference = std::fabs(static_cast<double>(large_parent->peak_rss_bytes) -
                                      static_cast<double>(small_parent->peak_rss_bytes));
  EXPECT_LT(difference, 32.0 * 1048576) << small_parent->peak_rss_bytes << " vs " << large_parent->peak_rss_bytes
                                        << ": the parent's 256 MiB leaked into the child's figure";
  volatile char keep_alive = ballast[8192];  // the ballast stays resident past the measurement
  (void)keep_alive;
}

}  // namespace
}  // namespace qforge
