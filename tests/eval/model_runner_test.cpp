// The eval runner on the tiny reference model: a model against itself differs by nothing, and
// llama.cpp's pure Q4_0 file against the F32 model reproduces llama.cpp's perplexity, with a
// mean KLD that is a lower bound close to llama.cpp's full-vocabulary figure.
#include "qforge/eval/model_runner.h"

#include <gtest/gtest.h>

#include "qforge/eval/kld.h"
#include "qforge/io/mapped_file.h"
#include "test_paths.h"

namespace qforge {
namespace {

struct Loaded {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

Loaded Load(const std::string& path) {
  auto model = Model::Load(path);
  EXPECT_TRUE(model.ok()) << (model.ok() ? "" : model.error().message);
  auto tok = Tokenizer::FromGguf((*model)->file());
  EXPECT_TRUE(tok.ok());
  return {std::move(*model), std::make_unique<Tokenizer>(std::move(*tok))};
}

std::vector<Suite> TinySuites() {
  Suite s;
  s.name = "tiny-inline";
  s.capability = "test";
  SuiteItem forced;
  forced.id = "forced";
  forced.prompt = "Once upon a time";
  forced.reference = " there was a little girl.";
  SuiteItem choice;
  choice.id = "choice";
  choice.prompt = "The sky is";
  choice.options = {" blue", " green", " made of cheese"};
  choice.answer_index = 0;
  SuiteItem gen;
  gen.id = "gen";
  gen.prompt = "One, two,";
  gen.max_tokens = 6;
  s.items = {forced, choice, gen};
  return {s};
}

RunInputs TinyInputs(const Tokenizer& tok, const std::vector<Suite>* suites) {
  RunInputs in;
  auto text = ReadTextFile(testing::SharedDir() + "/testdata/llamacpp/eval.txt");
  EXPECT_TRUE(text.ok());
  in.text_tokens = tok.Encode(*text, tok.add_bos_by_default(), false);
  in.n_ctx = 128;
  in.top_k = 64;
  in.suites = suites;
  return in;
}

TEST(ModelRunner, ModelAgainstItselfDiffersByNothing) {
  const std::string path = testing::SharedDir() + "/testdata/llamacpp/tiny-llama-f32.gguf";
  Loaded m = Load(path);
  const auto suites = TinySuites();
  RunInputs in = TinyInputs(*m.tokenizer, &suites);
  in.max_chunks = 4;
  ThreadPool pool(2);
  auto base = RunModel(*m.model, *m.tokenizer, in, nullptr, pool, nullptr);
  ASSERT_TRUE(base.ok()) << base.error().message;
  EXPECT_EQ(base->text.n_chunks, 4);
  EXPECT_EQ(base->text.dists.size(), 4u * 63);
  auto cand = RunModel(*m.model, *m.tokenizer, in, &*base, pool, nullptr);
  ASSERT_TRUE(cand.ok()) << cand.error().message;
  EXPECT_EQ(cand->text.ppl, base->text.ppl);
  for (const TokenDivergence& t : cand->text.divergence) {
    EXPECT_NEAR(t.kld, 0.0, 1e-6);
    EXPECT_TRUE(t.same_top);
  }
  const auto& b = base->suites[0].items;
  const auto& c = cand->suites[0].items;
  ASSERT_EQ(c.size(), 3u);
  EXPECT_GT(b[0].answer_tokens, 3);
  EXPECT_LT(b[0].answer_logprob, 0.0);
  EXPECT_NEAR(c[0].answer_logprob, b[0].answer_logprob, 1e-6);
  EXPECT_NEAR(c[0].answer_kld, 0.0, 1e-6);
  EXPECT_EQ(c[0].answer_top1, 100.0);
  ASSERT_EQ(c[1].option_logprobs.size(), 3u);
  EXPECT_EQ(c[1].chosen, b[1].chosen);
  EXPECT_TRUE(c[1].graded);
  EXPECT_TRUE(c[2].generated);
  EXPECT_EQ(c[2].text, b[2].text);
  EXPECT_GT(c[2].generated_tokens, 0);
}

// Items sharing a prefix reuse the context's keys and values; that must not change a single
// bit of what is measured, so every item scored after others matches the item scored alone.
TEST(ModelRunner, SharedPrefixesGiveTheSameResultsAsFreshContexts) {
  Loaded m = Load(testing::SharedDir() + "/testdata/llamacpp/tiny-llama-f32.gguf");
  Suite together;
  together.name = "together";
  together.capability = "test";
  const std::string shot = "Once upon a time there was a little girl who lived in a small house near the woods.";
  auto item = [&](std::string id, std::string prompt) {
    SuiteItem it;
    it.id = std::move(id);
    it.prompt = shot + prompt;
    return it;
  };
  SuiteItem a = item("a", " One day she");
  a.reference = " went to the park with her dog.";
  SuiteItem b = item("b", " One day she");
  b.options = {" ran", " jumped over the moon", " sat"};
  b.answer_index = 0;
  SuiteItem c = item("c", " One day he");
  c.max_tokens = 5;
  SuiteItem d = item("d", " One day she");
  d.reference = " went to the park with her cat.";
  d.max_tokens = 4;
  together.items = {a, b, c, d};
  ThreadPool pool(2);
  RunInputs in;
  in.top_k = 16;
  const std::vector<Suite> all = {together};
  in.suites = &all;
  auto joint = RunModel(*m.model, *m.tokenizer, in, nullptr, pool, nullptr);
  ASSERT_TRUE(joint.ok()) << joint.error().message;
  for (size_t i = 0; i < together.items.size(); ++i) {
    Suite alone = together;
    alone.items = {together.items[i]};
    const std::vector<Suite> one = {alone};
    in.suites = &one;
    auto fresh = RunModel(*m.model, *m.tokenizer, in, nullptr, pool, nullptr);
    ASSERT_TRUE(fresh.ok()) << fresh.error().message;
    const ItemRun& x = joint->suites[0].items[i];
    const ItemRun& y = fresh->suites[0].items[0];
    SCOPED_TRACE(x.id);
    EXPECT_EQ(x.answer_logprob, y.answer_logprob);
    ASSERT_EQ(x.answer_dists.size(), y.answer_dists.size());
    for (size_t j = 0; j < x.answer_dists.size(); ++j) {
      EXPECT_EQ(x.answer_dists[j].target_log_prob, y.answer_dists[j].target_log_prob);
      EXPECT_EQ(x.answer_dists[j].ids, y.answer_dists[j].ids);
      EXPECT_EQ(x.answer_dists[j].log_probs, y.answer_dists[j].log_probs);
    }
    EXPECT_EQ(x.option_logprobs, y.option_logprobs);
    EXPECT_EQ(x.text, y.text);
    EXPECT_EQ(x.generated_tokens, y.generated_tokens);
  }
}

// Generations advance together, one token of each busy slot per forward pass (four rows go
// through the four-row dot kernels). Each item's results must equal scoring the items one
// at a time: every field, bit for bit, on quantized weights of both kernel families.
TEST(ModelRunner, BatchedGenerationGivesTheSameResultsAsOneAtATime) {
  for (const char* file : {"pure-Q4_1.gguf", "mix-imat-Q4_K_M.gguf"}) {
    SCOPED_TRACE(file);
    Loaded m = Load(testing::SharedDir() + "/testdata/llamacpp/quantized/" + file);
    Suite suite;
    suite.name = "generations";
    suite.capability = "test";
    const char* prompts[] = {"Once upon a time", "The little dog", "One day, a girl named Lily", "Tom and Sue went",
                             "The sun was hot and", "She looked at the big tree"};
    int n = 0;
    for (const char* prompt : prompts) {
      SuiteItem it;
      it.id = "g" + std::to_string(n);
      it.prompt = prompt;
      it.max_tokens = 4 + 3 * (n % 3);  // different lengths: slots free up at different steps
      if (n == 2) it.reference = " went to the park.";
      suite.items.push_back(it);
      ++n;
    }
    const std::vector<Suite> suites = {suite};
    RunInputs in;
    in.top_k = 16;
    in.suites = &suites;
    ThreadPool pool(2);
    in.generation_slots = 1;
    auto one = RunModel(*m.model, *m.tokenizer, in, nullptr, pool, nullptr);
    ASSERT_TRUE(one.ok()) << one.error().message;
    in.generation_slots = 4;
    auto batched = RunModel(*m.model, *m.tokenizer, in, nullptr, pool, nullptr);
    ASSERT_TRUE(batched.ok()) << batched.error().message;
    for (size_t i = 0; i < suite.items.size(); ++i) {
      const ItemRun& x = batched->suites[0].items[i];
      const ItemRun& y = one->suites[0].items[i];
      SCOPED_TRACE(x.id);
      EXPECT_EQ(x.id, y.id);
      EXPECT_TRUE(x.generated);
      EXPECT_GT(x.generated_tokens, 0);
      EXPECT_EQ(x.text, y.text);
      EXPECT_EQ(x.generated_tokens, y.generated_tokens);
      EXPECT_EQ(x.answer_logprob, y.answer_logprob);
      ASSERT_EQ(x.answer_dists.size(), y.answer_dists.size());
      for (size_t j = 0; j < x.answer_dists.size(); ++j) {
        EXPECT_EQ(x.answer_dists[j].log_probs, y.answer_dists[j].log_probs);
      }
    }
  }
}

TEST(ModelRunner, QuantizedCandidateMatchesLlamaCppOnTheText) {
  const std::string dir = testing::SharedDir() + "/testdata/llamacpp/";
  Loaded base_m = Load(dir + "tiny-llama-f32.gguf");
  Loaded cand_m = Load(dir + "quantized/pure-Q4_0.gguf");
  RunInputs in = TinyInputs(*base_m.tokenizer, nullptr);
  // The random tiny model's distributions are nearly flat (PPL ~1100 over 512 tokens), so a
  // top-64 summary would keep little of them; keep the whole vocabulary to compare with
  // llama.cpp's full-vocabulary KLD.
  in.top_k = 512;
  ThreadPool pool(2);
  auto base = RunModel(*base_m.model, *base_m.tokenizer, in, nullptr, pool, nullptr);
  ASSERT_TRUE(base.ok()) << base.error().message;
  auto cand = RunModel(*cand_m.model, *cand_m.tokenizer, in, &*base, pool, nullptr);
  ASSERT_TRUE(cand.ok()) << cand.error().message;
  // reference.tsv: llama.cpp's PPL 1124.5299 (F32) and 1132.946093 (pure Q4_0), mean KLD 0.049412.
  EXPECT_NEAR(base->text.ppl, 1124.5299, 1124.5299 * 1e-4);
  EXPECT_NEAR(cand->text.ppl, 1132.946093, 1132.946093 * 1e-3);
  const DivergenceStats d = SummarizeDivergence(cand->text.divergence);
  EXPECT_EQ(d.n, 105u * 63);
  // llama.cpp stores its baseline log-probs as 16-bit values; a few parts in a thousand.
  EXPECT_NEAR(d.kld_mean.value, 0.049412, 0.049412 * 0.01);
  EXPECT_NEAR(d.same_top_pct.value, 68.526, 1.0);
}

}  // namespace
}  // namespace qforge
