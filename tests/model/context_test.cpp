// The context's sequences: batched decoding (one token of several sequences per forward pass)
// gives each sequence the logits it gets alone, bit for bit, and the checks on bad requests.
#include "qforge/model/context.h"

#include <gtest/gtest.h>

#include <cstring>

#include "qforge/core/thread_pool.h"
#include "qforge/model/model.h"
#include "test_paths.h"

namespace qforge {
namespace {

std::unique_ptr<Model> LoadTiny(const std::string& name) {
  auto model = Model::Load(testing::SharedDir() + "/testdata/llamacpp/" + name);
  EXPECT_TRUE(model.ok()) << (model.ok() ? "" : model.error().message);
  return model.ok() ? std::move(*model) : nullptr;
}

bool SameBits(const std::vector<float>& a, const float* b, size_t n) {
  return a.size() >= n && std::memcmp(a.data(), b, n * sizeof(float)) == 0;
}

// Five sequences with prompts of different lengths advance three steps together; every row of
// logits equals the single-sequence context's. Five rows exercise the four-row kernels and the
// single-row tail in the same pass.
TEST(InferenceContext, DecodeStepMatchesEachSequenceAlone) {
  for (const char* name : {"tiny-llama-f32.gguf", "quantized/pure-Q4_1.gguf", "quantized/mix-imat-Q4_K_M.gguf",
                           "quantized/pure-Q8_0.gguf"}) {
    SCOPED_TRACE(name);
    auto model = LoadTiny(name);
    ASSERT_NE(model, nullptr);
    const int n_vocab = model->config().n_vocab;
    ThreadPool pool(2);
    const std::vector<std::vector<int32_t>> prompts = {
        {1, 15, 27}, {1, 300, 301, 302, 303, 9}, {1}, {1, 44, 45, 46}, {1, 7, 8}};
    const std::vector<std::vector<int32_t>> steps = {{11, 12, 13, 14, 15}, {21, 22, 23, 24, 25}, {31, 32, 33, 34, 35}};
    const int n_seq = static_cast<int>(prompts.size());
    InferenceContext batched(*model, 32, 32, pool, n_seq);
    std::vector<float> unused;
    for (int s = 0; s < n_seq; ++s) ASSERT_TRUE(batched.Evaluate(s, prompts[s], prompts[s].size(), &unused).ok());
    std::vector<std::vector<float>> batched_logits;
    std::vector<int> seqs = {0, 1, 2, 3, 4};
    for (const auto& tokens : steps) {
      std::vector<float> logits;
      ASSERT_TRUE(batched.DecodeStep(seqs, tokens, &logits).ok());
      ASSERT_EQ(logits.size(), static_cast<size_t>(n_seq) * n_vocab);
      batched_logits.push_back(std::move(logits));
    }
    for (int s = 0; s < n_seq; ++s) {
      EXPECT_EQ(batched.n_past(s), static_cast<int>(prompts[s].size() + steps.size()));
      InferenceContext alone(*model, 32, 32, pool);
      ASSERT_TRUE(alone.Evaluate(prompts[s], prompts[s].size(), &unused).ok());
      for (size_t step = 0; step < steps.size(); ++step) {
        std::vector<float> logits;
        ASSERT_TRUE(alone.Evaluate(std::span<const int32_t>(&steps[step][s], 1), 0, &logits).ok());
        EXPECT_TRUE(SameBits(logits, batched_logits[step].data() + static_cast<size_t>(s) * n_vocab, n_vocab))
            << "sequence " << s << " step " << step;
      }
    }
  }
}

TEST(InferenceContext, DecodeStepRejectsBadRequests) {
  auto model = LoadTiny("tiny-llama-f32.gguf");
  ASSERT_NE(model, nullptr);
  ThreadPool pool(1);
  InferenceContext ctx(*model, 4, 4, pool, 2);
  std::vector<float> logits;
  const std::vector<int> twice = {0, 0}, missing = {2}, one = {1};
  const std::vector<int32_t> two_tokens = {1, 2}, one_token = {1}, bad_token = {-5};
  EXPECT_FALSE(ctx.DecodeStep(twice, two_tokens, &logits).ok());
  EXPECT_FALSE(ctx.DecodeStep(missing, one_token, &logits).ok());
  EXPECT_FALSE(ctx.DecodeStep(one, two_tokens, &logits).ok());
  EXPECT_FALSE(ctx.DecodeStep(one, bad_token, &logits).ok());
  EXPECT_FALSE(ctx.Evaluate(2, one_token, 0, &logits).ok());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(ctx.DecodeStep(one, one_token, &logits).ok());
  EXPECT_EQ(ctx.n_past(1), 4);
  EXPECT_EQ(ctx.n_past(0), 0);
  const auto full = ctx.DecodeStep(one, one_token, &logits);
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().message.find("overflow"), std::string::npos) << full.error().message;
}

}  // namespace
}  // namespace qforge
