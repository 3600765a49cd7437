// The baseline cache: a saved run reads back identically; a missing file is a miss, a
// truncated or foreign one an error naming the file.
#include "qforge/eval/eval_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace qforge {
namespace {

ModelRun SampleRun() {
  ModelRun run;
  run.text.n_ctx = 128;
  run.text.n_chunks = 3;
  run.text.ppl = 12.5;
  run.text.ppl_err = 0.25;
  for (int i = 0; i < 5; ++i) {
    TopKDistribution d;
    d.ids = {i, i + 1, i + 2};
    d.log_probs = {-0.1f * i, -1.0f, -2.5f};
    d.target_log_prob = -1.0f;
    d.tail_mass = 0.01f * i;
    run.text.dists.push_back(d);
  }
  SuiteRun s;
  s.name = "math-test";
  ItemRun item;
  item.id = "q1";
  item.answer_tokens = 2;
  item.answer_logprob = -0.75;
  item.answer_dists = {run.text.dists[1], run.text.dists[2]};
  item.option_logprobs = {-1.0, -0.5};
  item.chosen = 1;
  item.generated = true;
  item.text = "The answer is 18.\n\xe2\x82\xac";
  item.generated_tokens = 7;
  item.graded = true;
  item.pass = true;
  item.detail = "";
  s.items.push_back(item);
  run.suites.push_back(s);
  run.seconds = 3.5;
  return run;
}

TEST(EvalCache, RoundTrip) {
  const std::string path = (std::filesystem::temp_directory_path() / "qforge-cache-test/run.bin").string();
  std::filesystem::remove(path);
  auto missing = LoadBaselineRun(path);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->found);

  const ModelRun run = SampleRun();
  ASSERT_TRUE(SaveBaselineRun(path, run).ok());
  auto loaded = LoadBaselineRun(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_TRUE(loaded->found);
  const ModelRun& r = loaded->run;
  EXPECT_EQ(r.text.n_ctx, 128);
  EXPECT_EQ(r.text.n_chunks, 3);
  EXPECT_EQ(r.text.ppl, 12.5);
  ASSERT_EQ(r.text.dists.size(), 5u);
  EXPECT_EQ(r.text.dists[3].ids, run.text.dists[3].ids);
  EXPECT_EQ(r.text.dists[3].log_probs, run.text.dists[3].log_probs);
  EXPECT_EQ(r.text.dists[4].tail_mass, run.text.dists[4].tail_mass);
  ASSERT_EQ(r.suites.size(), 1u);
  const ItemRun& it = r.suites[0].items.at(0);
  EXPECT_EQ(r.suites[0].name, "math-test");
  EXPECT_EQ(it.id, "q1");
  EXPECT_EQ(it.answer_logprob, -0.75);
  EXPECT_EQ(it.answer_dists.size(), 2u);
  EXPECT_EQ(it.option_logprobs, run.suites[0].items[0].option_logprobs);
  EXPECT_EQ(it.text, run.suites[0].items[0].text);
  EXPECT_TRUE(it.pass);
  EXPECT_EQ(r.seconds, 3.5);
}

TEST(EvalCache, TruncatedOrForeignFilesAreErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "qforge-cache-test";
  std::filesystem::create_directories(dir);
  const std::string good = (dir / "good.bin").string();
  ASSERT_TRUE(SaveBaselineRun(good, SampleRun()).ok());
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t cut : {size_t{4}, size_t{40}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string path = (dir / ("cut-" + std::to_string(cut) + ".bin")).string();
    std::ofstream(path, std::ios::binary) << bytes.substr(0, cut);
    auto r = LoadBaselineRun(path);
    ASSERT_FALSE(r.ok()) << "cut at " << cut;
    EXPECT_NE(r.error().message.find(path), std::string::npos);
  }
  const std::string foreign = (dir / "foreign.bin").string();
  std::ofstream(foreign, std::ios::binary) << "GGUF and then some bytes";
  auto r = LoadBaselineRun(foreign);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a qforge baseline cache"), std::string::npos);
}

// A cache written by another version of the format is recomputed (a miss), not an error.
TEST(EvalCache, OlderFormatIsAMiss) {
  const auto dir = std::filesystem::temp_directory_path() / "qforge-cache-test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "older.bin").string();
  ASSERT_TRUE(SaveBaselineRun(path, SampleRun()).ok());
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  ASSERT_EQ(bytes.substr(0, 6), "QFBASE");
  bytes[7] = static_cast<char>(bytes[7] - 1);
  std::ofstream(path, std::ios::binary) << bytes;
  auto r = LoadBaselineRun(path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->found);
}

}  // namespace
}  // namespace qforge
