// The default model exported to a Hugging Face directory (F32, two shards, query/key rows in
// Hugging Face's order) and imported back: every tensor must come back bit-identical, the
// metadata must equal the GGUF's, and quantizing the directory must give the same file as
// quantizing the GGUF.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <type_traits>

#include "qforge/io/gguf_reader.h"
#include "qforge/model/model.h"
#include "qforge/quant/hf_source.h"
#include "quant/hf_export_for_tests.h"
#include "test_paths.h"

namespace qforge {
namespace {

using testing::RunCli;
using testing::SmolLM2Path;
using testing::TempDir;

// Deletes the exported checkpoint (about 540 MB) however the test ends.
struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

bool SameValue(const GgufValue& a, const GgufValue& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, GgufArray>) {
          const GgufArray& y = std::get<GgufArray>(b);
          if (x.items.index() != y.items.index()) return false;
          if (const auto* s = std::get_if<8>(&x.items)) return *s == std::get<8>(y.items);
          if (const auto* i = std::get_if<5>(&x.items)) return *i == std::get<5>(y.items);
          return FormatGgufValue(a, 1u << 30) == FormatGgufValue(b, 1u << 30);
        } else {
          return x == std::get<T>(b);
        }
      },
      a);
}

std::map<std::string, const GgufValue*> MetadataMap(
    const std::vector<std::pair<std::string, GgufValue>>& md) {
  std::map<std::string, const GgufValue*> m;
  for (const auto& [k, v] : md) m[k] = &v;
  return m;
}

TEST(HfSourceSlow, SmolLM2ExportedAndImportedBack) {
  QF_REQUIRE_MODEL(SmolLM2Path());
  const std::string dir = TempDir() + "/SmolLM2-135M-Instruct";
  RemoveOnExit cleanup{dir};
  const Status exported = testing::ExportGgufAsHf(SmolLM2Path(), dir, 2);
  ASSERT_TRUE(exported.ok()) << exported.error().message;
  ASSERT_TRUE(testing::FileExists(dir + "/model.safetensors.index.json"));

  auto gguf = OpenGgufSource(SmolLM2Path());
  ASSERT_TRUE(gguf.ok()) << gguf.error().message;
  auto hf = OpenHfSource(dir);
  ASSERT_TRUE(hf.ok()) << hf.error().message;

  // Metadata: every model and tokenizer key of the GGUF, equal. general.* keys describe the
  // file (name, license, ...) and are not derived from a checkpoint.
  const auto want = MetadataMap((*gguf)->metadata());
  const auto got = MetadataMap((*hf)->metadata());
  EXPECT_EQ(std::get<std::string>(*got.at("general.architecture")), "llama");
  size_t compared = 0;
  for (const auto& [key, value] : want) {
    if (key.starts_with("general.")) continue;
    ASSERT_TRUE(got.count(key)) << "missing " << key;
    EXPECT_TRUE(SameValue(*value, *got.at(key)))
        << key << ": " << FormatGgufValue(*value) << " vs " << FormatGgufValue(*got.at(key));
    ++compared;
  }
  EXPECT_GE(compared, 20u);
  for (const auto& [key, value] : got) {
    // The only extra key: ByteLevel post-processing says "no EOS", as the converter writes.
    if (key.starts_with("general.") || want.count(key)) continue;
    EXPECT_EQ(key, "tokenizer.ggml.add_eos_token");
    EXPECT_FALSE(std::get<bool>(*value));
  }

  // Tensors: same names and shapes; values bit-identical after the two permutations.
  std::map<std::string, size_t> hf_index;
  for (size_t i = 0; i < (*hf)->tensors().size(); ++i) hf_index[(*hf)->tensors()[i].name] = i;
  ASSERT_EQ(hf_index.size(), (*gguf)->tensors().size());
  std::vector<float> a, b;
  for (size_t i = 0; i < (*gguf)->tensors().size(); ++i) {
    const auto& t = (*gguf)->tensors()[i];
    ASSERT_TRUE(hf_index.count(t.name)) << t.name;
    const size_t j = hf_index.at(t.name);
    EXPECT_EQ((*hf)->tensors()[j].shape, t.shape) << t.name;
    EXPECT_EQ((*hf)->tensors()[j].type, GgmlType::F32) << t.name;
    ASSERT_TRUE((*gguf)->ReadFloat(i, a).ok());
    ASSERT_TRUE((*hf)->ReadFloat(j, b).ok());
    ASSERT_EQ(a.size(), b.size()) << t.name;
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << t.name << " differs";
    (*hf)->Release(j);
  }

  // The command line: the directory and the GGUF quantize to the same tensors. Plain rounding
  // keeps this fast (the fitted Q8_0 search takes minutes here); what is compared is the
  // source, and HfSourceCli.QuantizesADirectory runs the fitted path on a directory.
  const std::string from_hf = TempDir() + "/smollm2-from-hf.q8_0.gguf";
  const std::string from_gguf = TempDir() + "/smollm2-from-gguf.q8_0.gguf";
  RemoveOnExit cleanup_a{from_hf}, cleanup_b{from_gguf};
  auto r = RunCli("quantize " + dir + " " + from_hf + " --type Q8_0 --reference-quantizer");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCli("quantize " + SmolLM2Path() + " " + from_gguf + " --type Q8_0 --reference-quantizer");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto model = Model::Load(from_hf);
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto reference = GgufFile::Open(from_gguf);
  ASSERT_TRUE(reference.ok()) << reference.error().message;
  const GgufFile& out = (*model)->file();
  EXPECT_EQ(out.GetString("tokenizer.ggml.pre"), "smollm");
  EXPECT_EQ(out.GetArray("tokenizer.ggml.tokens")->size(), 49152u);
  EXPECT_EQ(out.GetString("tokenizer.chat_template"),
            reference->GetString("tokenizer.chat_template"));
  ASSERT_EQ(out.tensors().size(), reference->tensors().size());
  for (const auto& t : reference->tensors()) {
    const GgufTensorInfo* u = out.FindTensor(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    EXPECT_EQ(u->type, t.type) << t.name;
    EXPECT_EQ(u->shape, t.shape) << t.name;
    ASSERT_EQ(u->n_bytes, t.n_bytes) << t.name;
    EXPECT_EQ(std::memcmp(u->data, t.data, t.n_bytes), 0) << t.name << " bytes differ";
  }
  // And they generate the same text.
  const std::string args = " -p \"The capital of France is\" -n 12 --temp 0 -q -t 2";
  const auto gen_hf = RunCli("generate -m " + from_hf + args);
  const auto gen_gguf = RunCli("generate -m " + from_gguf + args);
  ASSERT_EQ(gen_hf.exit_code, 0) << gen_hf.err;
  ASSERT_EQ(gen_gguf.exit_code, 0) << gen_gguf.err;
  EXPECT_FALSE(gen_hf.out.empty());
  EXPECT_EQ(gen_hf.out, gen_gguf.out);
}

}  // namespace
}  // namespace qforge
