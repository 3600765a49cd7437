#include "qforge/io/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "qforge/core/fp16.h"
#include "test_paths.h"

namespace qforge {
namespace {

using testing::TempDir;

// --- A small safetensors serializer, independent of the reader.

struct TestTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

template <class T>
std::vector<uint8_t> AsBytes(const std::vector<T>& values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// Length prefix + header text + data, exactly as given (for hand-made, possibly broken headers).
std::vector<uint8_t> RawFile(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(8 + header.size() + data.size());
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

// A valid file: tensors laid out back to back in the given order, header padded with spaces
// to a multiple of 8 bytes (as the Python library does) unless `pad` is false.
std::vector<uint8_t> Serialize(const std::vector<TestTensor>& tensors,
                               const std::map<std::string, std::string>& metadata = {},
                               bool pad = true) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<uint8_t> data;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype},
                      {"shape", t.shape},
                      {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data.insert(data.end(), t.bytes.begin(), t.bytes.end());
  }
  std::string text = header.dump();
  if (pad) text.resize((text.size() + 7) / 8 * 8, ' ');
  return RawFile(text, data);
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::string WriteTemp(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = TempDir() + "/" + name;
  WriteBytes(path, bytes);
  return path;
}

std::vector<float> RandomFloats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 2.f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// --- Reading valid files

TEST(Safetensors, ReadsF32BitExact) {
  std::vector<float> values = RandomFloats(6 * 7, 1);
  // Special values must pass through untouched, NaN payload and sign of zero included.
  values[0] = -0.0f;
  values[1] = std::numeric_limits<float>::infinity();
  values[2] = std::numeric_limits<float>::denorm_min();
  values[3] = BitsToFloat(0x7fc01234);  // NaN with a payload
  values[4] = std::numeric_limits<float>::max();
  const std::string path =
      WriteTemp("f32.safetensors", Serialize({{"w", "F32", {6, 7}, AsBytes(values)}}));

  auto file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  ASSERT_EQ(file->tensors().size(), 1u);
  const SafetensorsTensor* w = file->FindTensor("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, SafetensorsDtype::F32);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{6, 7}));
  EXPECT_EQ(w->n_elements(), 42);
  EXPECT_EQ(w->n_bytes, 42u * 4u);
  EXPECT_EQ(file->data_offset() % 8, 0u);
  EXPECT_NE(w->data, nullptr);
  EXPECT_EQ(std::memcmp(w->bytes().data(), values.data(), w->n_bytes), 0);

  auto read = file->ReadFloat32("w");
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(FloatToBits((*read)[i]), FloatToBits(values[i])) << i;
  }
}

// IEEE half, decoded from its definition rather than by bit manipulation.
double HalfByDefinition(uint16_t h) {
  const int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  double magnitude;
  if (exponent == 0x1f) {
    magnitude = mantissa ? std::nan("") : INFINITY;
  } else if (exponent == 0) {
    magnitude = std::ldexp(mantissa, -24);
  } else {
    magnitude = std::ldexp(1024 + mantissa, exponent - 25);
  }
  return sign ? -magnitude : magnitude;
}

TEST(Safetensors, ConvertsEveryF16AndBF16ValueExactly) {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  const std::string path = WriteTemp(
      "half.safetensors",
      Serialize({{"h", "F16", {256, 256}, AsBytes(all)}, {"b", "BF16", {65536}, AsBytes(all)}}));
  auto file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.error().message;

  auto h = file->ReadFloat32("h");
  ASSERT_TRUE(h.ok()) << h.error().message;
  ASSERT_EQ(h->size(), 65536u);
  for (uint32_t i = 0; i < 65536; ++i) {
    const double expected = HalfByDefinition(static_cast<uint16_t>(i));
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan((*h)[i])) << i;
    } else {
      ASSERT_EQ(static_cast<double>((*h)[i]), expected) << "f16 bits " << i;
      ASSERT_EQ(std::signbit((*h)[i]), i >= 0x8000) << i;
    }
  }
  // Anchors: 1.0, -2.0, the largest half, the smallest subnormal.
  EXPECT_EQ((*h)[0x3c00], 1.0f);
  EXPECT_EQ((*h)[0xc000], -2.0f);
  EXPECT_EQ((*h)[0x7bff], 65504.0f);
  EXPECT_EQ((*h)[0x0001], std::ldexp(1.0f, -24));

  auto b = file->ReadFloat32("b");
  ASSERT_TRUE(b.ok()) << b.error().message;
  for (uint32_t i = 0; i < 65536; ++i) {
    ASSERT_EQ(FloatToBits((*b)[i]), i << 16) << "bf16 bits " << i;  // bf16 is the top half of f32
  }
  EXPECT_EQ((*b)[0x3f80], 1.0f);
  EXPECT_EQ((*b)[0xc040], -3.0f);
}

TEST(Safetensors, ListsTensorsDtypesAndMetadata) {
  std::vector<int64_t> ids = {1, -2, 1LL << 40};
  std::vector<uint8_t> fp8 = {0x38, 0xb8, 0x7e, 0x00};
  const auto bytes =
      Serialize({{"scalar", "F32", {}, AsBytes(std::vector<float>{2.5f})},
                 {"empty", "F16", {0, 5}, {}},
                 {"ids", "I64", {3}, AsBytes(ids)},
                 {"mask", "BOOL", {2, 2}, {1, 0, 0, 1}},
                 {"fp8", "F8_E4M3", {4}, fp8},
                 {"bf", "BF16", {1, 1, 1, 2}, AsBytes(std::vector<uint16_t>{0x3f80, 0x4000})}},
                {{"format", "pt"}, {"note", "héllo"}},
                /*pad=*/false);
  const std::string path = WriteTemp("mixed.safetensors", bytes);
  auto file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->file_size(), bytes.size());
  EXPECT_EQ(file->metadata().size(), 2u);
  ASSERT_NE(file->FindMetadata("format"), nullptr);
  EXPECT_EQ(*file->FindMetadata("format"), "pt");
  EXPECT_EQ(*file->FindMetadata("note"), "héllo");
  EXPECT_EQ(file->FindMetadata("absent"), nullptr);

  // Listed in file (offset) order, which Serialize made the declaration order.
  std::vector<std::string> names;
  for (const auto& t : file->tensors()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"scalar", "empty", "ids", "mask", "fp8", "bf"}));

  const SafetensorsTensor* scalar = file->FindTensor("scalar");
  ASSERT_NE(scalar, nullptr);
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(scalar->n_elements(), 1);
  EXPECT_EQ(file->ReadFloat32(*scalar)->at(0), 2.5f);

  const SafetensorsTensor* empty = file->FindTensor("empty");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->n_elements(), 0);
  EXPECT_TRUE(file->ReadFloat32(*empty)->empty());

  const SafetensorsTensor* id_tensor = file->FindTensor("ids");
  ASSERT_NE(id_tensor, nullptr);
  EXPECT_EQ(id_tensor->dtype, SafetensorsDtype::I64);
  EXPECT_EQ(std::memcmp(id_tensor->data, ids.data(), 24), 0);  // raw bytes stay readable
  EXPECT_EQ(file->FindTensor("fp8")->dtype, SafetensorsDtype::F8_E4M3);
  EXPECT_EQ(file->FindTensor("mask")->n_bytes, 4u);
  EXPECT_EQ(file->ReadFloat32("bf").value(), (std::vector<float>{1.0f, 2.0f}));

  // Types qforge does not compute with are listed but do not convert.
  for (const char* name : {"ids", "mask", "fp8"}) {
    auto converted = file->ReadFloat32(name);
    ASSERT_FALSE(converted.ok()) << name;
    const std::string& msg = converted.error().message;
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(std::string("'") + name + "'"), std::string::npos) << msg;
    const std::string dtype(SafetensorsDtypeName(file->FindTensor(name)->dtype));
    EXPECT_NE(msg.find("dtype " + dtype), std::string::npos) << msg;
  }
  auto missing = file->ReadFloat32("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no tensor named 'nope'"), std::string::npos);

  // A wrongly sized output span is refused.
  std::vector<float> small(1);
  EXPECT_FALSE(file->ReadFloat32(*file->FindTensor("bf"), small).ok());
}

TEST(Safetensors, DtypeTable) {
  EXPECT_EQ(SafetensorsDtypeFromName("BF16"), SafetensorsDtype::BF16);
  EXPECT_EQ(SafetensorsDtypeFromName("bf16"), std::nullopt);  // names are case-sensitive
  EXPECT_EQ(SafetensorsDtypeSize(SafetensorsDtype::F8_E5M2), 1u);
  EXPECT_EQ(SafetensorsDtypeSize(SafetensorsDtype::I64), 8u);
  EXPECT_EQ(SafetensorsDtypeName(SafetensorsDtype::F8_E4M3), "F8_E4M3");
  EXPECT_TRUE(IsFloat32Convertible(SafetensorsDtype::F16));
  EXPECT_FALSE(IsFloat32Convertible(SafetensorsDtype::F64));
}

// --- Checkpoint directories

std::string MakeDir(const std::string& name) {
  const std::string dir = TempDir() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(SafetensorsCheckpoint, ShardedDirectoryWithIndex) {
  const std::string dir = MakeDir("sharded");
  const auto embd = RandomFloats(8 * 4, 2);
  const auto norm = RandomFloats(4, 3);
  const std::vector<uint16_t> q = {0x3c00, 0xc000, 0x3800, 0x0000};
  WriteBytes(dir + "/model-00001-of-00002.safetensors",
             Serialize({{"model.embed_tokens.weight", "F32", {8, 4}, AsBytes(embd)},
                        {"model.norm.weight", "F32", {4}, AsBytes(norm)}}));
  WriteBytes(dir + "/model-00002-of-00002.safetensors",
             Serialize({{"model.layers.0.self_attn.q_proj.weight", "F16", {2, 2}, AsBytes(q)}}));
  WriteBytes(dir + "/stray.safetensors",  // not in the index: ignored
             Serialize({{"model.norm.weight", "F32", {1}, AsBytes(std::vector<float>{1.f})}}));
  WriteText(dir + "/model.safetensors.index.json", R"({
    "metadata": {"total_size": 164},
    "weight_map": {
      "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
      "model.layers.0.self_attn.q_proj.weight": "model-00002-of-00002.safetensors",
      "model.norm.weight": "model-00001-of-00002.safetensors"
    }})");

  auto ckpt = SafetensorsCheckpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.error().message;
  EXPECT_EQ(ckpt->index_path(), dir + "/model.safetensors.index.json");
  EXPECT_EQ(ckpt->shards().size(), 2u);
  EXPECT_EQ(ckpt->tensor_count(), 3u);
  EXPECT_EQ(ckpt->tensors().size(), 3u);
  const SafetensorsTensor* t = ckpt->FindTensor("model.layers.0.self_attn.q_proj.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, SafetensorsDtype::F16);
  EXPECT_EQ(ckpt->ShardOf("model.layers.0.self_attn.q_proj.weight")->path(),
            dir + "/model-00002-of-00002.safetensors");
  EXPECT_EQ(ckpt->ReadFloat32("model.layers.0.self_attn.q_proj.weight").value(),
            (std::vector<float>{1.f, -2.f, 0.5f, 0.f}));
  EXPECT_EQ(ckpt->ReadFloat32("model.embed_tokens.weight").value(), embd);
  EXPECT_EQ(ckpt->ReadFloat32("model.norm.weight").value(), norm);
  auto missing = ckpt->ReadFloat32("lm_head.weight");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(dir), std::string::npos);
  EXPECT_NE(missing.error().message.find("'lm_head.weight'"), std::string::npos);
  EXPECT_EQ(ckpt->FindTensor("lm_head.weight"), nullptr);
}

TEST(SafetensorsCheckpoint, DirectoryWithoutIndexAndSingleFile) {
  const std::string dir = MakeDir("unindexed");
  WriteBytes(dir + "/b.safetensors",
             Serialize({{"x", "F32", {1}, AsBytes(std::vector<float>{1.f})}}));
  WriteBytes(dir + "/a.safetensors",
             Serialize({{"y", "BF16", {1}, AsBytes(std::vector<uint16_t>{0x4040})}}));
  WriteText(dir + "/config.json", "{}");
  auto ckpt = SafetensorsCheckpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.error().message;
  EXPECT_TRUE(ckpt->index_path().empty());
  ASSERT_EQ(ckpt->shards().size(), 2u);
  EXPECT_EQ(ckpt->shards()[0].path(), dir + "/a.safetensors");  // sorted by name
  EXPECT_EQ(ckpt->ReadFloat32("y").value(), std::vector<float>{3.f});

  auto single = SafetensorsCheckpoint::Open(dir + "/b.safetensors");
  ASSERT_TRUE(single.ok()) << single.error().message;
  EXPECT_EQ(single->tensor_count(), 1u);
  EXPECT_EQ(single->ReadFloat32("x").value(), std::vector<float>{1.f});
}

// Opens `path` as a checkpoint and expects an error containing `file` and `expected`.
void ExpectCheckpointError(const std::string& path, const std::string& file,
                           const std::string& expected) {
  auto ckpt = SafetensorsCheckpoint::Open(path);
  ASSERT_FALSE(ckpt.ok()) << "accepted " << path << "; expected: " << expected;
  EXPECT_NE(ckpt.error().message.find(file), std::string::npos) << ckpt.error().message;
  EXPECT_NE(ckpt.error().message.find(expected), std::string::npos) << ckpt.error().message;
}

TEST(SafetensorsCheckpoint, RejectsInconsistentCheckpoints) {
  const auto one = Serialize({{"x", "F32", {1}, AsBytes(std::vector<float>{1.f})}});
  {
    const std::string dir = MakeDir("dup");
    WriteBytes(dir + "/a.safetensors", one);
    WriteBytes(dir + "/b.safetensors", one);
    ExpectCheckpointError(dir, dir, "tensor 'x' is in two shards, a.safetensors and b.safetensors");
  }
  {
    const std::string dir = MakeDir("empty_dir");
    ExpectCheckpointError(dir, dir, "no *.safetensors files");
  }
  ExpectCheckpointError(TempDir() + "/does-not-exist", "does-not-exist", "no such file");
  {
    const std::string dir = MakeDir("bad_shard");
    WriteBytes(dir + "/model.safetensors", {1, 2, 3});
    ExpectCheckpointError(dir, dir + "/model.safetensors", "too short");
  }
  const std::string index = "/model.safetensors.index.json";
  {
    const std::string dir = MakeDir("missing_shard");
    WriteText(dir + index, R"({"weight_map": {"x": "model-2.safetensors"}})");
    ExpectCheckpointError(dir, dir + "/model-2.safetensors", "cannot open");
  }
  {
    const std::string dir = MakeDir("wrong_shard");
    WriteBytes(dir + "/a.safetensors", one);
    WriteBytes(dir + "/b.safetensors",
               Serialize({{"z", "F32", {1}, AsBytes(std::vector<float>{1.f})}}));
    WriteText(dir + index, R"({"weight_map": {"x": "b.safetensors", "z": "b.safetensors"}})");
    ExpectCheckpointError(dir, dir + index, "weight_map puts tensor 'x' in 'b.safetensors'");
  }
  {
    const std::string dir = MakeDir("escaping_index");
    WriteText(dir + index, R"({"weight_map": {"x": "../a.safetensors"}})");
    ExpectCheckpointError(dir, dir + index, "not a plain file name");
  }
  {
    const std::string dir = MakeDir("bad_index");
    WriteText(dir + index, R"({"weight_map": ["a.safetensors"]})");
    ExpectCheckpointError(dir, dir + index, "\"weight_map\" must be an object, not array");
    WriteText(dir + index, R"({"metadata": {}})");
    ExpectCheckpointError(dir, dir + index, "missing \"weight_map\"");
    WriteText(dir + index, R"({"weight_map": {"x": 3}})");
    ExpectCheckpointError(dir, dir + index, "weight_map entry 'x'");
    WriteText(dir + index, R"({"weight_map": {"x": "a.safetensors", "x": "a.safetensors"}})");
    ExpectCheckpointError(dir, dir + index, "duplicate JSON key 'x'");
    WriteText(dir + index, "{\"weight_map\": ");
    ExpectCheckpointError(dir, dir + index, "invalid JSON");
  }
}

// --- Hostile input: each corruption gives an error naming the file and the problem.

class CorruptSafetensors : public ::testing::Test {
 protected:
  void ExpectError(const std::vector<uint8_t>& bytes, const std::string& expected) {
    const std::string path = TempDir() + "/corrupt.safetensors";
    WriteBytes(path, bytes);
    auto file = SafetensorsFile::Open(path);
    ASSERT_FALSE(file.ok()) << "accepted a corrupt file; expected: " << expected;
    EXPECT_EQ(file.error().message.rfind(path + ": ", 0), 0u) << file.error().message;
    EXPECT_NE(file.error().message.find(expected), std::string::npos) << file.error().message;
    EXPECT_EQ(file.error().message.find('\n'), std::string::npos) << file.error().message;
  }
  // One F32 tensor "a" of shape [2, 3] described by `info`, over `data_bytes` bytes of data.
  void ExpectInfoError(const std::string& info, const std::string& expected,
                       size_t data_bytes = 24) {
    ExpectError(RawFile("{\"a\": " + info + "}", std::vector<uint8_t>(data_bytes, 0)), expected);
  }
};

TEST_F(CorruptSafetensors, BadHeaderLength) {
  ExpectError({}, "too short");
  ExpectError({1, 2, 3, 4, 5, 6, 7}, "too short");
  auto valid = Serialize({{"a", "F32", {2}, AsBytes(std::vector<float>{1.f, 2.f})}});
  auto b = valid;
  const uint64_t past_end = valid.size() - 8 + 1;
  std::memcpy(b.data(), &past_end, 8);
  ExpectError(b, "header length " + std::to_string(past_end) + " exceeds the");
  const uint64_t huge = ~uint64_t{0};
  std::memcpy(b.data(), &huge, 8);
  ExpectError(b, "exceeds the 100000000-byte limit");
  const uint64_t zero = 0;
  std::memcpy(b.data(), &zero, 8);
  ExpectError(b, "too short for a JSON object");
}

TEST_F(CorruptSafetensors, TruncatedData) {
  auto b = Serialize({{"a", "F32", {4, 4}, AsBytes(RandomFloats(16, 4))}});
  b.resize(b.size() - 5);
  ExpectError(b, "tensor 'a': data_offsets [0, 64] run past the end of the 59-byte data section");
}

TEST_F(CorruptSafetensors, OffsetsOutOfRange) {
  ExpectInfoError(R"({"dtype": "F32", "shape": [2, 3], "data_offsets": [8, 32]})",
                  "data_offsets [8, 32] run past the end of the 24-byte data section");
  ExpectInfoError(R"({"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 18446744073709551615]})",
                  "run past the end");
  ExpectInfoError(R"({"dtype": "F32", "shape": [2, 3], "data_offsets": [24, 0]})",
                  "begin is after end");
  ExpectInfoError(R"({"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 1e3]})",
                  "\"data_offsets\" is not an array of two non-negative integers");
  ExpectInfoError(R"({"dtype": "F32", "shape": [2, 3], "data_offsets": [-1, 23]})",
                  "\"data_offsets\" is not an array");
  ExpectInfoError(R"({"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24, 48]})",
                  "\"data_offsets\" is not an array");
  ExpectInfoError(R"({"dtype": "F32", "shape": [2, 3]})", "tensor 'a': missing \"data_offsets\"");
}

TEST_F(CorruptSafetensors, OverlappingTensors) {
  ExpectError(RawFile(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                          "b": {"dtype": "F16", "shape": [4], "data_offsets": [14, 22]}})",
                      std::vector<uint8_t>(22)),
              "tensors 'a' [0, 16) and 'b' [14, 22) overlap");
  // Also when one tensor lies wholly inside an earlier, longer one.
  ExpectError(RawFile(R"({"big": {"dtype": "U8", "shape": [32], "data_offsets": [0, 32]},
                          "mid": {"dtype": "U8", "shape": [4], "data_offsets": [20, 24]},
                          "small": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}})",
                      std::vector<uint8_t>(32)),
              "overlap");
}

TEST_F(CorruptSafetensors, ShapeSizeMismatch) {
  ExpectInfoError(R"({"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 24]})",
                  "tensor 'a': shape [2,4] of F32 needs 32 bytes but data_offsets [0, 24] hold 24");
  ExpectInfoError(
      R"({"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 24]})",
      "shape overflows");
  ExpectInfoError(R"({"dtype": "F32", "shape": [2, -3], "data_offsets": [0, 24]})",
                  "shape entry -3 is not a non-negative 64-bit integer");
  ExpectInfoError(R"({"dtype": "F32", "shape": [2, 3.0], "data_offsets": [0, 24]})", "shape entry");
  ExpectInfoError(
      R"({"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,6], "data_offsets": [0, 24]})",
      "shape has 17 dimensions");
  ExpectInfoError(R"({"dtype": "F32", "shape": "2x3", "data_offsets": [0, 24]})",
                  "\"shape\" must be an array, not string");
  ExpectInfoError(R"({"dtype": "F32", "data_offsets": [0, 24]})", "missing \"shape\"");
}

TEST_F(CorruptSafetensors, NonJsonHeader) {
  ExpectError(RawFile("{\"a\": {\"dtype\": ", {}), "header: invalid JSON");
  ExpectError(RawFile("{\"a\": 1} trailing", {}), "invalid JSON");
  ExpectError(RawFile("{\"a\": \"\xff\xfe\"}", {}), "invalid JSON");  // bad UTF-8
  {
    // A long unterminated token is not echoed in full: the message stays one short line.
    const auto b = RawFile("{\"" + std::string(5000, 'k'), {});
    auto file = SafetensorsFile::Parse(b.data(), b.size(), "long.safetensors");
    ASSERT_FALSE(file.ok());
    EXPECT_NE(file.error().message.find("invalid JSON"), std::string::npos);
    EXPECT_LT(file.error().message.size(), 300u) << file.error().message;
  }
  ExpectError(RawFile("GGUF\x03\0\0\0", {}), "does not start with '{'");
  ExpectError(RawFile(std::string(200, '['), {}), "does not start with '{'");
  ExpectError(RawFile("{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}", {}),
              "nested more than 16 levels");
  ExpectError(RawFile(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                          "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                      std::vector<uint8_t>(8)),
              "duplicate JSON key 'a'");
  ExpectError(
      RawFile(R"({"a": {"dtype": "F32", "dtype": "F16", "shape": [1], "data_offsets": [0, 4]}})",
              std::vector<uint8_t>(4)),
      "duplicate JSON key 'dtype'");
  ExpectError(RawFile(R"({"a": [1, 2]})", {}), "tensor 'a': entry must be an object, not array");
  ExpectError(RawFile(R"({"__metadata__": {"format": 1}})", {}),
              "__metadata__ 'format' must be a string, not non-negative integer");
  ExpectError(RawFile(R"({"__metadata__": "pt"})", {}),
              "\"__metadata__\" must be an object, not string");
  ExpectError(RawFile(R"({"": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}})", {}),
              "empty name");
}

TEST_F(CorruptSafetensors, WrongDtype) {
  ExpectInfoError(R"({"dtype": "F33", "shape": [2, 3], "data_offsets": [0, 24]})",
                  "tensor 'a': unknown dtype 'F33'");
  ExpectInfoError(R"({"dtype": "f32", "shape": [2, 3], "data_offsets": [0, 24]})",
                  "unknown dtype 'f32'");
  ExpectInfoError(R"({"dtype": 0, "shape": [2, 3], "data_offsets": [0, 24]})",
                  "\"dtype\" must be a string, not non-negative integer");
  ExpectInfoError(R"({"shape": [2, 3], "data_offsets": [0, 24]})", "missing \"dtype\"");
  // Control characters in names are escaped so the message stays on one line.
  ExpectError(
      RawFile("{\"a\\nb\": {\"dtype\": \"X\", \"shape\": [], \"data_offsets\": [0, 0]}}", {}),
      "tensor 'a\\x0ab': unknown dtype 'X'");
}

// Random byte changes and truncations never crash the parser (run under ASan in CI), and
// whatever it accepts lies inside the buffer.
TEST_F(CorruptSafetensors, SeededRandomCorruptionNeverCrashes) {
  const auto original =
      Serialize({{"embed", "BF16", {16, 8}, AsBytes(std::vector<uint16_t>(128, 0x3f80))},
                 {"norm", "F32", {8}, AsBytes(RandomFloats(8, 5))},
                 {"q", "F16", {4, 8}, AsBytes(std::vector<uint16_t>(32, 0x3c00))},
                 {"ids", "I64", {2}, AsBytes(std::vector<int64_t>{7, 9})}},
                {{"format", "pt"}});
  uint64_t header_size = 0;
  std::memcpy(&header_size, original.data(), 8);
  const std::string name = "fuzzed.safetensors";
  const std::string alphabet = "{}[]\":, 0123456789-.eE";
  std::mt19937_64 rng(20240607);
  int rejected = 0, accepted = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> b = original;
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < edits; ++i) {
      const size_t pos =
          rng() % (8 + header_size);  // the length and the JSON, where the structure is
      switch (rng() % 3) {
        case 0:
          b[pos] = static_cast<uint8_t>(rng());
          break;
        case 1:
          b[pos] = static_cast<uint8_t>(alphabet[rng() % alphabet.size()]);
          break;
        default:
          b[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
      }
    }
    if (rng() % 5 == 0) b.resize(rng() % (b.size() + 1));
    auto file = SafetensorsFile::Parse(b.data(), b.size(), name);
    if (!file.ok()) {
      ++rejected;
      ASSERT_EQ(file.error().message.rfind(name + ": ", 0), 0u) << file.error().message;
      continue;
    }
    ++accepted;
    for (const auto& t : file->tensors()) {
      ASSERT_GE(t.data, b.data() + file->data_offset());
      ASSERT_LE(t.data + t.n_bytes, b.data() + b.size());
      if (IsFloat32Convertible(t.dtype)) {
        auto values = file->ReadFloat32(t);
        ASSERT_TRUE(values.ok()) << values.error().message;
        ASSERT_EQ(values->size(), static_cast<size_t>(t.n_elements()));
      }
    }
  }
  EXPECT_GT(rejected, 1500);  // most corruptions of the header are detected...
  EXPECT_GT(accepted, 10);    // ...and some (e.g. in padding or string contents) are harmless
}

}  // namespace
}  // namespace qforge
