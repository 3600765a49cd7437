// Dequantization reproduces llama.cpp's own output bit for bit: the reference files are
// libggml's to_float of two tensors from each of llama.cpp's pure-<TYPE> files.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "qforge/formats/registry.h"
#include "qforge/io/gguf_reader.h"
#include "test_paths.h"
#include "qforge/core/fp16.h"

namespace qforge {
namespace {

struct Case {
  const char* file;       // pure-<TYPE>
  const char* ggml_name;  // type name in the reference file names
};

constexpr Case kCases[] = {
    {"pure-Q4_0", "q4_0"},     {"pure-Q4_1", "q4_1"},     {"pure-Q5_0", "q5_0"},
    {"pure-Q5_1", "q5_1"},     {"pure-Q8_0", "q8_0"},     {"pure-Q2_K", "q2_K"},
    {"pure-Q3_K_S", "q3_K"},   {"pure-Q4_K_S", "q4_K"},   {"pure-Q5_K_S", "q5_K"},
    {"pure-Q6_K", "q6_K"},     {"pure-IQ4_NL", "iq4_nl"}, {"pure-IQ4_XS", "iq4_xs"},
};

std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

TEST(Dequantize, MatchesLlamaCppBitForBit) {
  const std::string dir = testing::SharedDir() + "/testdata/llamacpp/";
  for (const Case& c : kCases) {
    auto file = GgufFile::Open(dir + "quantized/" + c.file + ".gguf");
    ASSERT_TRUE(file.ok()) << file.error().message;
    for (const char* tensor : {"blk.0.ffn_down.weight", "blk.1.attn_k.weight"}) {
      SCOPED_TRACE(std::string(c.file) + " " + tensor);
      const GgufTensorInfo* t = file->FindTensor(tensor);
      ASSERT_NE(t, nullptr);
      EXPECT_EQ(GgmlTypeName(t->type), c.ggml_name);
      const FormatOps* ops = FindFormatOps(t->type);
      ASSERT_NE(ops, nullptr);
      const auto expected = ReadFloats(dir + "dequantized/" + c.file + "." + tensor + "." + c.ggml_name + ".f32");
      ASSERT_EQ(expected.size(), static_cast<size_t>(t->n_elements()));
      std::vector<float> got(expected.size());
      const size_t row_bytes = *RowBytes(t->type, t->row_length());
      for (int64_t r = 0; r < t->n_rows(); ++r) {
        ops->dequantize_row(t->data + r * row_bytes, got.data() + r * t->row_length(), t->row_length());
      }
      size_t mismatches = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        mismatches += FloatToBits(got[i]) != FloatToBits(expected[i]);
      }
      EXPECT_EQ(mismatches, 0u) << "of " << got.size() << " values";
    }
  }
}

}  // namespace
}  // namespace qforge
