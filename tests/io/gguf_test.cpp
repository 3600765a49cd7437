#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "qforge/io/gguf_reader.h"
#include "qforge/io/gguf_writer.h"
#include "test_paths.h"

namespace qforge {
namespace {

using testing::SharedDir;
using testing::TempDir;

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

TEST(GgufReader, ReadsLlamaCppTinyModel) {
  auto file = GgufFile::Open(SharedDir() + "/testdata/llamacpp/tiny-llama-f32.gguf");
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->GetString("general.architecture"), "llama");
  EXPECT_EQ(file->GetInt("llama.embedding_length"), 256);
  EXPECT_EQ(file->GetInt("llama.feed_forward_length"), 768);
  EXPECT_EQ(file->GetInt("llama.block_count"), 2);
  EXPECT_EQ(file->GetInt("llama.attention.head_count"), 4);
  EXPECT_EQ(file->GetInt("llama.attention.head_count_kv"), 2);
  const GgufArray* tokens = file->GetArray("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->element_type(), GgufType::STRING);
  EXPECT_EQ(tokens->size(), 512u);
  const GgufTensorInfo* q = file->FindTensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, GgmlType::F32);
  EXPECT_EQ(q->shape, (std::vector<int64_t>{256, 256}));
  EXPECT_EQ(q->n_bytes, 256u * 256u * 4u);
  const GgufTensorInfo* k = file->FindTensor("blk.1.attn_k.weight");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->shape, (std::vector<int64_t>{256, 128}));  // 2 KV heads x 64
  // Every tensor's data lies inside the file and at an aligned offset.
  for (const auto& t : file->tensors()) {
    EXPECT_EQ(t.offset % file->alignment(), 0u) << t.name;
    EXPECT_LE(file->data_offset() + t.offset + t.n_bytes, file->file_size()) << t.name;
  }
}

TEST(GgufReader, ReadsEveryQuantizedReferenceFile) {
  const char* names[] = {"pure-Q4_0", "pure-Q4_1", "pure-Q5_0", "pure-Q5_1", "pure-Q8_0",
                         "pure-Q2_K", "pure-Q3_K_S", "pure-Q4_K_S", "pure-Q5_K_S", "pure-Q6_K",
                         "pure-IQ4_NL", "pure-IQ4_XS", "mix-imat-Q4_K_M"};
  for (const char* name : names) {
    auto file = GgufFile::Open(SharedDir() + "/testdata/llamacpp/quantized/" + name + ".gguf");
    ASSERT_TRUE(file.ok()) << file.error().message;
    EXPECT_EQ(file->tensors().size(), 2u * 9u + 3u) << name;  // 9 per layer + embd, norm, output
  }
}

GgufArray StringArray(std::vector<std::string> v) {
  GgufArray a;
  a.items.emplace<8>(std::move(v));
  return a;
}

TEST(GgufWriter, RoundTripsEveryValueTypeAndTensorData) {
  std::vector<std::pair<std::string, GgufValue>> metadata = {
      {"u8", uint8_t{200}},           {"i8", int8_t{-100}},
      {"u16", uint16_t{60000}},       {"i16", int16_t{-30000}},
      {"u32", uint32_t{4000000000u}}, {"i32", int32_t{-2000000000}},
      {"f32", 1.5f},                  {"bool", true},
      {"string", std::string("héllo\n")},
      {"u64", uint64_t{1} << 60},     {"i64", int64_t{-1} << 60},
      {"f64", 0.1},                   {"strings", StringArray({"a", "", "ccc"})},
  };
  GgufArray floats;
  floats.items.emplace<6>(std::vector<float>{1.f, -2.f, 3.5f});
  metadata.emplace_back("floats", floats);
  GgufArray nested;
  nested.items.emplace<9>(std::vector<GgufArray>{StringArray({"x"}), floats});
  metadata.emplace_back("nested", nested);
  GgufArray bools;
  bools.items.emplace<7>(std::vector<uint8_t>{1, 0, 1});
  metadata.emplace_back("bools", bools);

  std::vector<GgufTensorData> tensors;
  std::mt19937 rng(7);
  for (int i = 0; i < 3; ++i) {
    GgufTensorData t{"t" + std::to_string(i), GgmlType::F32, {static_cast<int64_t>(5 + i), 3}, {}};
    t.bytes.resize((5 + i) * 3 * 4);
    for (auto& b : t.bytes) b = static_cast<uint8_t>(rng());
    tensors.push_back(t);
  }
  tensors.push_back({"q", GgmlType::Q4_0, {64, 2}, std::vector<uint8_t>(2 * 2 * 18, 0x5a)});

  const std::string path = TempDir() + "/roundtrip.gguf";
  ASSERT_TRUE(WriteGgufFile(path, metadata, tensors, 64).ok());
  EXPECT_FALSE(testing::FileExists(path + ".tmp"));
  auto file = GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->alignment(), 64u);
  for (const auto& [key, value] : metadata) {
    const GgufValue* got = file->Find(key);
    ASSERT_NE(got, nullptr) << key;
    EXPECT_EQ(got->index(), value.index()) << key;
    EXPECT_EQ(FormatGgufValue(*got, 100), FormatGgufValue(value, 100)) << key;
  }
  ASSERT_EQ(file->tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = file->tensors()[i];
    EXPECT_EQ(t.name, tensors[i].name);
    EXPECT_EQ(t.shape, tensors[i].shape);
    EXPECT_EQ(t.offset % 64, 0u);
    ASSERT_EQ(t.n_bytes, tensors[i].bytes.size());
    EXPECT_EQ(std::memcmp(t.data, tensors[i].bytes.data(), t.n_bytes), 0);
  }
}

TEST(GgufWriter, UnfinishedWriterLeavesNoFile) {
  const std::string path = TempDir() + "/unfinished.gguf";
  {
    GgufWriter writer(path);
    ASSERT_TRUE(writer.AddTensor("a", GgmlType::F32, {4}).ok());
    ASSERT_TRUE(writer.Begin().ok());
  }
  EXPECT_FALSE(testing::FileExists(path));
  EXPECT_FALSE(testing::FileExists(path + ".tmp"));
}

TEST(GgufWriter, RejectsRowsThatDoNotFillBlocks) {
  GgufWriter writer(TempDir() + "/bad.gguf");
  const Status s = writer.AddTensor("w", GgmlType::Q4_K, {100, 2});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("not a multiple"), std::string::npos);
}

// --- Hostile input: each corruption must give an error naming the file and the problem.

class CorruptGguf : public ::testing::Test {
 protected:
  void SetUp() override {
    original_ = ReadBytes(SharedDir() + "/testdata/llamacpp/quantized/pure-Q4_0.gguf");
    ASSERT_GT(original_.size(), 1000u);
  }
  // Writes `bytes` to a file and expects the reader to fail with `expected` in the message.
  void ExpectError(const std::vector<uint8_t>& bytes, const std::string& expected) {
    const std::string path = TempDir() + "/corrupt.gguf";
    WriteBytes(path, bytes);
    auto file = GgufFile::Open(path);
    ASSERT_FALSE(file.ok()) << "accepted a corrupt file; expected: " << expected;
    EXPECT_NE(file.error().message.find(path), std::string::npos) << file.error().message;
    EXPECT_NE(file.error().message.find(expected), std::string::npos) << file.error().message;
  }
  template <class T>
  void Poke(std::vector<uint8_t>& bytes, size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
  }
  std::vector<uint8_t> original_;
};

TEST_F(CorruptGguf, BadMagic) {
  auto b = original_;
  b[0] = 'X';
  ExpectError(b, "not a GGUF file");
}

TEST_F(CorruptGguf, UnsupportedVersion) {
  auto b = original_;
  Poke<uint32_t>(b, 4, 1);
  ExpectError(b, "unsupported GGUF version 1");
}

TEST_F(CorruptGguf, HugeTensorCount) {
  auto b = original_;
  Poke<uint64_t>(b, 8, uint64_t{1} << 62);
  ExpectError(b, "tensor count");
}

TEST_F(CorruptGguf, HugeMetadataCount) {
  auto b = original_;
  Poke<uint64_t>(b, 16, ~uint64_t{0});
  ExpectError(b, "metadata count");
}

TEST_F(CorruptGguf, HugeKeyLength) {
  auto b = original_;
  Poke<uint64_t>(b, 24, uint64_t{1} << 40);  // length of the first key
  ExpectError(b, "metadata key length");
}

TEST_F(CorruptGguf, TruncatedData) {
  auto b = original_;
  b.resize(b.size() - 100);
  ExpectError(b, "runs past the end");
}

TEST_F(CorruptGguf, TruncatedHeader) {
  auto b = original_;
  b.resize(200);
  ExpectError(b, "truncated");
}

TEST_F(CorruptGguf, EmptyFile) { ExpectError({}, "too short"); }

// Locates the first tensor description by its name and returns the offset just after the name.
size_t AfterFirstTensorName(const std::vector<uint8_t>& b, const std::string& name) {
  const std::string needle = name;
  for (size_t i = 8; i + needle.size() < b.size(); ++i) {
    uint64_t len;
    std::memcpy(&len, b.data() + i - 8, 8);
    if (len == needle.size() && std::memcmp(b.data() + i, needle.data(), needle.size()) == 0) {
      return i + needle.size();
    }
  }
  return 0;
}

TEST_F(CorruptGguf, BadDimensionCount) {
  auto b = original_;
  const size_t p = AfterFirstTensorName(b, "token_embd.weight");
  ASSERT_GT(p, 0u);
  Poke<uint32_t>(b, p, 9);
  ExpectError(b, "dimensions");
}

TEST_F(CorruptGguf, OverflowingDimensions) {
  auto b = original_;
  const size_t p = AfterFirstTensorName(b, "token_embd.weight");
  ASSERT_GT(p, 0u);
  Poke<uint64_t>(b, p + 4 + 8, uint64_t{1} << 62);  // second dimension
  ExpectError(b, "");  // either "overflow" or "past the end", both name the file
}

TEST_F(CorruptGguf, UnknownTensorType) {
  auto b = original_;
  const size_t p = AfterFirstTensorName(b, "token_embd.weight");
  ASSERT_GT(p, 0u);
  uint32_t n_dims;
  std::memcpy(&n_dims, b.data() + p, 4);
  Poke<uint32_t>(b, p + 4 + 8 * n_dims, 77);
  ExpectError(b, "unknown type id 77");
}

TEST_F(CorruptGguf, MisalignedOffset) {
  auto b = original_;
  const size_t p = AfterFirstTensorName(b, "token_embd.weight");
  ASSERT_GT(p, 0u);
  uint32_t n_dims;
  std::memcpy(&n_dims, b.data() + p, 4);
  Poke<uint64_t>(b, p + 4 + 8 * n_dims + 4, 3);
  ExpectError(b, "not a multiple of the alignment");
}

TEST_F(CorruptGguf, OffsetPastEnd) {
  auto b = original_;
  const size_t p = AfterFirstTensorName(b, "token_embd.weight");
  ASSERT_GT(p, 0u);
  uint32_t n_dims;
  std::memcpy(&n_dims, b.data() + p, 4);
  Poke<uint64_t>(b, p + 4 + 8 * n_dims + 4, uint64_t{1} << 40);
  ExpectError(b, "runs past the end");
}

// Random byte flips and truncations must never crash the reader (run under ASan in CI).
TEST_F(CorruptGguf, SeededRandomCorruptionNeverCrashes) {
  std::mt19937_64 rng(1234);
  const std::string path = TempDir() + "/fuzzed.gguf";
  const size_t header = 4096;  // corrupt the header region, where the structure lives
  int rejected = 0;
  for (int iter = 0; iter < 300; ++iter) {
    auto b = original_;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < flips; ++i) b[rng() % header] = static_cast<uint8_t>(rng());
    if (rng() % 4 == 0) b.resize(rng() % b.size());
    auto file = GgufFile::Parse(b.data(), b.size(), path);
    if (!file.ok()) {
      ++rejected;
      EXPECT_EQ(file.error().message.rfind(path, 0), 0u) << file.error().message;
    } else {
      for (const auto& t : file->tensors()) {
        ASSERT_LE(t.data + t.n_bytes, b.data() + b.size());
      }
    }
  }
  EXPECT_GT(rejected, 50);  // most random corruptions of the header are detected
}

}  // namespace
}  // namespace qforge

namespace qforge {
namespace {

TEST_F(CorruptGguf, OverlappingTensors) {
  // Point the second tensor's offset at the first tensor's data.
  auto b = original_;
  const size_t p = AfterFirstTensorName(b, "output_norm.weight");
  ASSERT_GT(p, 0u);
  uint32_t n_dims;
  std::memcpy(&n_dims, b.data() + p, 4);
  Poke<uint64_t>(b, p + 4 + 8 * n_dims + 4, 0);
  ExpectError(b, "overlap");
}

TEST_F(CorruptGguf, ControlCharactersInNamesStayOnOneLine) {
  auto b = original_;
  const size_t p = AfterFirstTensorName(b, "token_embd.weight");
  ASSERT_GT(p, 0u);
  b[p - 5] = '\n';  // inside the name
  uint32_t n_dims;
  std::memcpy(&n_dims, b.data() + p, 4);
  Poke<uint32_t>(b, p + 4 + 8 * n_dims, 77);  // and an error that names it
  const std::string path = TempDir() + "/newline.gguf";
  WriteBytes(path, b);
  auto file = GgufFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().message.find('\n'), std::string::npos) << file.error().message;
  EXPECT_NE(file.error().message.find("\\x0a"), std::string::npos) << file.error().message;
}

}  // namespace
}  // namespace qforge
