// The forward pass reproduces llama.cpp's perplexity on the tiny reference model, using the
// exact token stream llama.cpp evaluated (stored in its --kl-divergence-base file).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "qforge/core/thread_pool.h"
#include "qforge/eval/perplexity.h"
#include "qforge/model/context.h"
#include "qforge/model/model.h"
#include "test_paths.h"

namespace qforge {
namespace {

std::vector<int32_t> TokensFromKldBase(const std::string& path, uint32_t* n_ctx) {
  std::ifstream in(path, std::ios::binary);
  char magic[8];
  int32_t n_vocab = 0, n_chunk = 0;
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(n_ctx), 4);
  in.read(reinterpret_cast<char*>(&n_vocab), 4);
  in.read(reinterpret_cast<char*>(&n_chunk), 4);
  std::vector<int32_t> tokens(static_cast<size_t>(*n_ctx) * n_chunk);
  in.read(reinterpret_cast<char*>(tokens.data()), tokens.size() * 4);
  EXPECT_TRUE(in.good());
  EXPECT_EQ(std::memcmp(magic, "_logits_", 8), 0);
  return tokens;
}

struct ReferenceRow {
  std::string file;
  double ppl;
  double ppl_err;
};

std::vector<ReferenceRow> ReadReference(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<ReferenceRow> rows;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    ReferenceRow r;
    fields >> r.file >> r.ppl >> r.ppl_err;
    rows.push_back(r);
  }
  return rows;
}

// Every model file llama.cpp measured: F32 within 0.01%, quantized within 0.1%.
TEST(TinyPerplexitySlow, EveryReferenceFileMatchesLlamaCpp) {
  const std::string dir = testing::SharedDir() + "/testdata/llamacpp/";
  uint32_t n_ctx = 0;
  const auto tokens = TokensFromKldBase(dir + "kld-base-f32.bin", &n_ctx);
  const auto rows = ReadReference(dir + "reference.tsv");
  ASSERT_EQ(rows.size(), 29u);
  ThreadPool pool(2);
  for (const auto& row : rows) {
    SCOPED_TRACE(row.file);
    auto model = Model::Load(dir + row.file);
    ASSERT_TRUE(model.ok()) << model.error().message;
    InferenceContext ctx(**model, 128, 128, pool);
    PerplexityOptions opt;
    opt.n_ctx = 128;
    opt.bos = 1;
    auto r = RunPerplexity(ctx, tokens, opt);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const double tolerance = row.file == "tiny-llama-f32.gguf" ? 1e-4 : 1e-3;
    EXPECT_NEAR(r->ppl, row.ppl, row.ppl * tolerance) << "qforge " << r->ppl << " llama.cpp " << row.ppl;
  }
}

TEST(TinyPerplexity, F32MatchesLlamaCpp) {
  const std::string dir = testing::SharedDir() + "/testdata/llamacpp/";
  uint32_t n_ctx = 0;
  const auto tokens = TokensFromKldBase(dir + "kld-base-f32.bin", &n_ctx);
  ASSERT_EQ(n_ctx, 128u);
  auto model = Model::Load(dir + "tiny-llama-f32.gguf");
  ASSERT_TRUE(model.ok()) << model.error().message;
  ThreadPool pool(2);
  InferenceContext ctx(**model, 128, 128, pool);
  PerplexityOptions opt;
  opt.n_ctx = 128;
  opt.bos = 1;
  auto r = RunPerplexity(ctx, tokens, opt);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->n_chunks, 105);
  std::printf("ppl %.6f +/- %.5f (%.1fs)\n", r->ppl, r->ppl_err, r->seconds);
  const double reference = 1124.5299;
  EXPECT_NEAR(r->ppl, reference, reference * 1e-4) << "ppl " << r->ppl;
  EXPECT_NEAR(r->ppl_err, 17.65620, 17.65620 * 1e-3);
}

}  // namespace
}  // namespace qforge
