// llama.cpp's tokenizer test vectors: every text must tokenize to exactly the ids llama.cpp
// produced (no BOS, special tokens not parsed), for every vocabulary we support.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "qforge/io/gguf_reader.h"
#include "qforge/tokenizer/tokenizer.h"
#include "test_paths.h"

namespace qforge {
namespace {

struct Vector {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<Vector> ReadVectors(const std::string& base) {
  std::ifstream inp(base + ".inp", std::ios::binary), out(base + ".out");
  std::string raw{std::istreambuf_iterator<char>(inp), {}};
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(raw.substr(pos));
      break;
    }
    texts.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<Vector> vectors;
  std::string line;
  for (size_t i = 0; std::getline(out, line); ++i) {
    Vector v;
    v.text = i < texts.size() ? texts[i] : "";
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) v.ids.push_back(id);
    vectors.push_back(v);
  }
  EXPECT_EQ(vectors.size(), texts.size()) << base;
  return vectors;
}

std::string Show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += " " + std::to_string(id);
  return s;
}

void CheckVocabulary(const std::string& gguf_path, const std::string& vectors_base) {
  auto file = GgufFile::Open(gguf_path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto tokenizer = Tokenizer::FromGguf(*file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message;
  const auto vectors = ReadVectors(vectors_base);
  ASSERT_GE(vectors.size(), 40u);
  int passed = 0;
  for (const auto& v : vectors) {
    const auto got = tokenizer->Encode(v.text, false, false);
    EXPECT_EQ(got, v.ids) << "text: '" << v.text << "'\n got:" << Show(got) << "\nwant:" << Show(v.ids);
    passed += got == v.ids;
  }
  ::testing::Test::RecordProperty("passed", passed);
}

class TokenizerVectors : public ::testing::TestWithParam<const char*> {};

TEST_P(TokenizerVectors, MatchLlamaCpp) {
  const std::string base = testing::SharedDir() + "/data/tokenizer-vectors/" + GetParam();
  CheckVocabulary(base, base);
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, TokenizerVectors,
                         ::testing::Values("ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-bpe.gguf",
                                           "ggml-vocab-gpt-2.gguf", "ggml-vocab-qwen2.gguf",
                                           "ggml-vocab-starcoder.gguf", "ggml-vocab-deepseek-coder.gguf",
                                           "ggml-vocab-phi-3.gguf"),
                         [](const auto& info) {
                           std::string name = info.param;
                           name = name.substr(11, name.size() - 16);  // between "ggml-vocab-" and ".gguf"
                           for (char& c : name) if (c == '-') c = '_';
                           return name;
                         });

TEST(TokenizerModels, SmolLM2MatchesLlamaCpp) {
  QF_REQUIRE_MODEL(testing::SmolLM2Path());
  CheckVocabulary(testing::SmolLM2Path(),
                  testing::SharedDir() + "/data/tokenizer-vectors/SmolLM2-135M-Instruct.Q4_1.gguf");
}

TEST(TokenizerModels, Gemma3MatchesLlamaCpp) {
  const std::string path = testing::ModelsDir() + "/gemma-3-270m-q4_k_m.gguf";
  QF_REQUIRE_MODEL(path);
  CheckVocabulary(path, testing::SharedDir() + "/data/tokenizer-vectors/gemma-3-270m-q4_k_m.gguf");
}

}  // namespace
}  // namespace qforge
