// OpenHfSource on tiny checkpoint directories written by the tests: names, shapes, metadata,
// the query/key permutation, dtypes, sharding, and one clear error per kind of bad input.
#include "qforge/quant/hf_source.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "qforge/core/fp16.h"
#include "qforge/io/gguf_reader.h"
#include "qforge/model/model.h"
#include "qforge/tokenizer/tokenizer.h"
#include "quant/hf_export_for_tests.h"
#include "test_paths.h"

namespace qforge {
namespace {

using Json = nlohmann::json;
using testing::RunCli;
using testing::TempDir;

constexpr int64_t kEmbd = 64, kHeads = 4, kKvHeads = 2, kHeadDim = 16, kFf = 96, kLayers = 2,
                  kVocab = 300;

struct TinySpec {
  std::string architecture = "LlamaForCausalLM";
  std::string model_type = "llama";
  bool tied = true;
  bool qkv_bias = false;
  std::string dtype = "F32";
  int shards = 1;
  Json pre_tokenizer = testing::SmolLMPreTokenizer();
  Json post_processor = {{"type", "ByteLevel"},
                         {"add_prefix_space", true},
                         {"trim_offsets", false},
                         {"use_regex", true}};
  Json merges = Json::array(
      {Json::array({"\u0120", "t"}), Json::array({"h", "e"}), Json::array({"\u0120t", "he"})});
  bool byte_fallback = false;
  Json normalizer = nullptr;
  Json rope_scaling = nullptr;
  double rope_theta = 10000.0;
  std::vector<std::string> extra_tensors;  // 1-D tensors with these names
  std::vector<std::string> skip_files;     // deleted after writing
};

// Rows labelled by their index, so a test can see where each row went.
std::vector<float> LabelledRows(int64_t rows, int64_t cols) {
  std::vector<float> v(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) std::fill_n(v.begin() + r * cols, cols, static_cast<float>(r));
  return v;
}

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

struct TinyTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

std::vector<TinyTensor> TinyTensors(const TinySpec& spec) {
  std::vector<TinyTensor> t;
  uint32_t seed = 1;
  auto add = [&](std::string name, std::vector<int64_t> shape, bool labelled = false) {
    const size_t n = static_cast<size_t>(shape.size() == 1 ? shape[0] : shape[0] * shape[1]);
    std::vector<float> v =
        labelled ? LabelledRows(shape[0], shape.size() > 1 ? shape[1] : 1) : Random(n, seed++);
    t.push_back({std::move(name), std::move(shape), std::move(v)});
  };
  add("model.embed_tokens.weight", {kVocab, kEmbd});
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {kEmbd});
    add(p + "post_attention_layernorm.weight", {kEmbd});
    add(p + "self_attn.q_proj.weight", {kHeads * kHeadDim, kEmbd}, true);
    add(p + "self_attn.k_proj.weight", {kKvHeads * kHeadDim, kEmbd}, true);
    add(p + "self_attn.v_proj.weight", {kKvHeads * kHeadDim, kEmbd}, true);
    add(p + "self_attn.o_proj.weight", {kEmbd, kHeads * kHeadDim});
    if (spec.qkv_bias) {
      add(p + "self_attn.q_proj.bias", {kHeads * kHeadDim});
      add(p + "self_attn.k_proj.bias", {kKvHeads * kHeadDim});
      add(p + "self_attn.v_proj.bias", {kKvHeads * kHeadDim});
    }
    add(p + "mlp.gate_proj.weight", {kFf, kEmbd});
    add(p + "mlp.up_proj.weight", {kFf, kEmbd});
    add(p + "mlp.down_proj.weight", {kEmbd, kFf});
  }
  add("model.norm.weight", {kEmbd});
  if (!spec.tied) add("lm_head.weight", {kVocab, kEmbd});
  for (const auto& name : spec.extra_tensors) add(name, {4});
  return t;
}

// A byte-level vocabulary: the 256 byte characters, three control tokens, merged tokens, two
// non-special added tokens; ids 264..299 are unassigned.
Json TinyTokenizer(const TinySpec& spec) {
  Json vocab = Json::object();
  const auto bytes = testing::ByteLevelAlphabet();
  for (size_t b = 0; b < bytes.size(); ++b) vocab[bytes[b]] = b;
  vocab["<|endoftext|>"] = 256;
  vocab["<|im_start|>"] = 257;
  vocab["<|im_end|>"] = 258;
  vocab["\u0120t"] = 259;
  vocab["he"] = 260;
  vocab["\u0120the"] = 261;
  auto added = [](int id, const char* text, bool special) {
    return Json{{"id", id}, {"content", text}, {"special", special}, {"normalized", false}};
  };
  return {{"added_tokens",
           {added(256, "<|endoftext|>", true), added(257, "<|im_start|>", true),
            added(258, "<|im_end|>", true), added(262, "my\u2581tok", false),
            added(263, "<|fake|>", false)}},
          {"normalizer", spec.normalizer},
          {"pre_tokenizer", spec.pre_tokenizer},
          {"post_processor", spec.post_processor},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model",
           {{"type", "BPE"},
            {"byte_fallback", spec.byte_fallback},
            {"vocab", vocab},
            {"merges", spec.merges}}}};
}

std::string WriteTinyDir(const std::string& name, const TinySpec& spec = {}) {
  const std::string dir = TempDir() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Json config = {{"architectures", {spec.architecture}},
                 {"model_type", spec.model_type},
                 {"hidden_size", kEmbd},
                 {"intermediate_size", kFf},
                 {"num_hidden_layers", kLayers},
                 {"num_attention_heads", kHeads},
                 {"num_key_value_heads", kKvHeads},
                 {"max_position_embeddings", 512},
                 {"rms_norm_eps", 1e-5},
                 {"rope_theta", spec.rope_theta},
                 {"rope_scaling", spec.rope_scaling},
                 {"vocab_size", kVocab},
                 {"tie_word_embeddings", spec.tied},
                 {"bos_token_id", 257},
                 {"eos_token_id", 258}};
  EXPECT_TRUE(testing::WriteJson(dir + "/config.json", config).ok());
  EXPECT_TRUE(testing::WriteJson(dir + "/tokenizer.json", TinyTokenizer(spec)).ok());
  const Json tokenizer_config = {{"bos_token", "<|im_start|>"},
                                 {"eos_token", {{"content", "<|im_end|>"}}},
                                 {"pad_token", "<|endoftext|>"},
                                 {"clean_up_tokenization_spaces", false},
                                 {"chat_template", "{{ messages }}"}};
  EXPECT_TRUE(testing::WriteJson(dir + "/tokenizer_config.json", tokenizer_config).ok());

  const std::vector<TinyTensor> tensors = TinyTensors(spec);
  Json weight_map = Json::object();
  const size_t per_shard = (tensors.size() + spec.shards - 1) / spec.shards;
  for (int s = 0; s < spec.shards; ++s) {
    const std::string shard =
        spec.shards == 1 ? "model.safetensors" : "part-" + std::to_string(s) + ".safetensors";
    std::vector<testing::SafetensorsEntry> entries;
    std::vector<const TinyTensor*> members;
    for (size_t i = s * per_shard; i < std::min(tensors.size(), (s + 1) * per_shard); ++i) {
      entries.push_back({tensors[i].name, tensors[i].shape, spec.dtype});
      members.push_back(&tensors[i]);
      weight_map[tensors[i].name] = shard;
    }
    EXPECT_TRUE(
        testing::WriteSafetensors(dir + "/" + shard, entries, [&](size_t k, std::vector<float>& v) {
          v = members[k]->values;
          return Status::Ok();
        }).ok());
  }
  if (spec.shards > 1) {
    EXPECT_TRUE(
        testing::WriteJson(dir + "/model.safetensors.index.json", {{"weight_map", weight_map}})
            .ok());
  }
  for (const auto& f : spec.skip_files) std::filesystem::remove(dir + "/" + f);
  return dir;
}

std::unique_ptr<TensorSource> OpenOk(const std::string& dir) {
  auto source = OpenHfSource(dir);
  EXPECT_TRUE(source.ok()) << source.error().message;
  return source.ok() ? std::move(*source) : nullptr;
}

const GgufValue* Find(const TensorSource& s, const std::string& key) {
  for (const auto& [k, v] : s.metadata()) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::optional<int64_t> Int(const TensorSource& s, const std::string& key) {
  const GgufValue* v = Find(s, key);
  return v ? AsInteger(*v) : std::nullopt;
}

template <int kIndex>
const auto& ArrayOf(const TensorSource& s, const std::string& key) {
  const GgufValue* v = Find(s, key);
  EXPECT_NE(v, nullptr) << key;
  return std::get<kIndex>(std::get<GgufArray>(*v).items);
}

std::map<std::string, std::vector<int64_t>> Shapes(const TensorSource& s) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& t : s.tensors()) out[t.name] = t.shape;
  return out;
}

size_t IndexOf(const TensorSource& s, const std::string& name) {
  for (size_t i = 0; i < s.tensors().size(); ++i) {
    if (s.tensors()[i].name == name) return i;
  }
  ADD_FAILURE() << "no tensor " << name;
  return 0;
}

// The label (first value) of each row of a tensor read through the source.
std::vector<float> RowLabels(TensorSource& s, const std::string& name) {
  const size_t i = IndexOf(s, name);
  std::vector<float> values;
  EXPECT_TRUE(s.ReadFloat(i, values).ok());
  const int64_t row = s.tensors()[i].shape[0];
  std::vector<float> labels;
  for (size_t r = 0; r * row < values.size(); ++r) labels.push_back(values[r * row]);
  return labels;
}

void ExpectErrorMentions(const std::string& dir, std::initializer_list<std::string> fragments) {
  auto source = OpenHfSource(dir);
  ASSERT_FALSE(source.ok());
  const std::string& m = source.error().message;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  for (const auto& f : fragments)
    EXPECT_NE(m.find(f), std::string::npos) << "'" << f << "' not in: " << m;
}

TEST(HfSource, NamesShapesAndModelMetadata) {
  auto s = OpenOk(WriteTinyDir("names"));
  ASSERT_TRUE(s);
  const auto shapes = Shapes(*s);
  EXPECT_EQ(shapes.size(), 2u + 9u * kLayers);
  EXPECT_EQ(shapes.at("token_embd.weight"), (std::vector<int64_t>{kEmbd, kVocab}));
  EXPECT_EQ(shapes.at("output_norm.weight"), (std::vector<int64_t>{kEmbd}));
  EXPECT_EQ(shapes.at("blk.1.attn_norm.weight"), (std::vector<int64_t>{kEmbd}));
  EXPECT_EQ(shapes.at("blk.1.ffn_norm.weight"), (std::vector<int64_t>{kEmbd}));
  EXPECT_EQ(shapes.at("blk.0.attn_q.weight"), (std::vector<int64_t>{kEmbd, kHeads * kHeadDim}));
  EXPECT_EQ(shapes.at("blk.0.attn_k.weight"), (std::vector<int64_t>{kEmbd, kKvHeads * kHeadDim}));
  EXPECT_EQ(shapes.at("blk.0.attn_v.weight"), (std::vector<int64_t>{kEmbd, kKvHeads * kHeadDim}));
  EXPECT_EQ(shapes.at("blk.0.attn_output.weight"),
            (std::vector<int64_t>{kHeads * kHeadDim, kEmbd}));
  EXPECT_EQ(shapes.at("blk.1.ffn_gate.weight"), (std::vector<int64_t>{kEmbd, kFf}));
  EXPECT_EQ(shapes.at("blk.1.ffn_up.weight"), (std::vector<int64_t>{kEmbd, kFf}));
  EXPECT_EQ(shapes.at("blk.1.ffn_down.weight"), (std::vector<int64_t>{kFf, kEmbd}));
  EXPECT_EQ(shapes.count("output.weight"), 0u) << "tied embeddings have no output tensor";
  for (const auto& t : s->tensors()) EXPECT_EQ(t.type, GgmlType::F32) << t.name;
  EXPECT_TRUE(s->RawBytes(0).empty());

  EXPECT_EQ(std::get<std::string>(*Find(*s, "general.architecture")), "llama");
  EXPECT_EQ(std::get<std::string>(*Find(*s, "general.name")), "names");
  EXPECT_EQ(Int(*s, "llama.block_count"), kLayers);
  EXPECT_EQ(Int(*s, "llama.context_length"), 512);
  EXPECT_EQ(Int(*s, "llama.embedding_length"), kEmbd);
  EXPECT_EQ(Int(*s, "llama.feed_forward_length"), kFf);
  EXPECT_EQ(Int(*s, "llama.attention.head_count"), kHeads);
  EXPECT_EQ(Int(*s, "llama.attention.head_count_kv"), kKvHeads);
  EXPECT_EQ(Int(*s, "llama.vocab_size"), kVocab);
  EXPECT_EQ(Int(*s, "llama.rope.dimension_count"), kHeadDim);
  EXPECT_EQ(std::get<float>(*Find(*s, "llama.rope.freq_base")), 10000.0f);
  EXPECT_EQ(std::get<float>(*Find(*s, "llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  EXPECT_EQ(Find(*s, "llama.attention.key_length"), nullptr)
      << "only written when config.json has head_dim";
  EXPECT_EQ(Find(*s, "general.file_type"), nullptr) << "the quantizer sets it";
}

TEST(HfSource, TokenizerMetadata) {
  auto s = OpenOk(WriteTinyDir("tokenizer"));
  ASSERT_TRUE(s);
  EXPECT_EQ(std::get<std::string>(*Find(*s, "tokenizer.ggml.model")), "gpt2");
  EXPECT_EQ(std::get<std::string>(*Find(*s, "tokenizer.ggml.pre")), "smollm");
  const auto& tokens = ArrayOf<8>(*s, "tokenizer.ggml.tokens");
  const auto& types = ArrayOf<5>(*s, "tokenizer.ggml.token_type");
  ASSERT_EQ(tokens.size(), static_cast<size_t>(kVocab));
  ASSERT_EQ(types.size(), static_cast<size_t>(kVocab));
  EXPECT_EQ(tokens[65], "A");
  EXPECT_EQ(tokens[32], "\u0120") << "the space byte's character";
  EXPECT_EQ(types[65], 1);
  EXPECT_EQ(tokens[257], "<|im_start|>");
  EXPECT_EQ(types[257], 3) << "special added token: control";
  EXPECT_EQ(tokens[261], "\u0120the");
  EXPECT_EQ(types[261], 1);
  EXPECT_EQ(tokens[262], "my tok") << "non-special added token: visible space back to a space";
  EXPECT_EQ(types[262], 4) << "user-defined";
  EXPECT_EQ(types[263], 3) << "<|...|> looks special even when not flagged";
  EXPECT_EQ(tokens[299], "[PAD299]");
  EXPECT_EQ(types[299], 5) << "unused";
  const auto& merges = ArrayOf<8>(*s, "tokenizer.ggml.merges");
  EXPECT_EQ(merges, (std::vector<std::string>{"\u0120 t", "h e", "\u0120t he"}));
  EXPECT_EQ(Int(*s, "tokenizer.ggml.bos_token_id"), 257);
  EXPECT_EQ(Int(*s, "tokenizer.ggml.eos_token_id"), 258) << "given as {\"content\": ...}";
  EXPECT_EQ(Int(*s, "tokenizer.ggml.padding_token_id"), 256);
  EXPECT_EQ(Find(*s, "tokenizer.ggml.unknown_token_id"), nullptr);
  EXPECT_EQ(std::get<bool>(*Find(*s, "tokenizer.ggml.add_bos_token")), false)
      << "ByteLevel post-processor";
  EXPECT_EQ(std::get<std::string>(*Find(*s, "tokenizer.chat_template")), "{{ messages }}");
}

TEST(HfSource, MergesAsStringsAndOtherPreTokenizers) {
  const std::string llama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const std::string qwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  auto split_then_bytes = [](const std::string& regex) {
    return Json{{"type", "Sequence"},
                {"pretokenizers",
                 {{{"type", "Split"},
                   {"pattern", {{"Regex", regex}}},
                   {"behavior", "Isolated"},
                   {"invert", false}},
                  {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  };
  struct Case {
    Json pre;
    const char* name;
  };
  const Case cases[] = {
      {split_then_bytes(llama3), "llama-bpe"},
      {split_then_bytes(qwen2), "qwen2"},
      {{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}, "gpt-2"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TinySpec spec;
    spec.pre_tokenizer = c.pre;
    spec.merges = {"\u0120 t", "h e", "\u0120t he"};
    // Llama 3 style: BOS added by a template.
    spec.post_processor = {{"type", "TemplateProcessing"},
                           {"single",
                            {{{"SpecialToken", {{"id", "<|im_start|>"}, {"type_id", 0}}}},
                             {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}}};
    auto s = OpenOk(WriteTinyDir("pre", spec));
    ASSERT_TRUE(s);
    EXPECT_EQ(std::get<std::string>(*Find(*s, "tokenizer.ggml.pre")), c.name);
    EXPECT_EQ(ArrayOf<8>(*s, "tokenizer.ggml.merges"),
              (std::vector<std::string>{"\u0120 t", "h e", "\u0120t he"}));
    EXPECT_EQ(std::get<bool>(*Find(*s, "tokenizer.ggml.add_bos_token")), true);
  }
}

TEST(HfSource, PermutesQueryAndKeyRowsLikeTheConverter) {
  auto s = OpenOk(WriteTinyDir("permute"));
  ASSERT_TRUE(s);
  // Per head of 16 rows: the halves 0..7 and 8..15 are interleaved as 0, 8, 1, 9, ..., 7, 15.
  auto expected = [](int64_t n_head) {
    std::vector<float> rows;
    for (int64_t h = 0; h < n_head; ++h) {
      for (int64_t i = 0; i < kHeadDim / 2; ++i) {
        rows.push_back(static_cast<float>(h * kHeadDim + i));
        rows.push_back(static_cast<float>(h * kHeadDim + kHeadDim / 2 + i));
      }
    }
    return rows;
  };
  const std::vector<float> q = RowLabels(*s, "blk.1.attn_q.weight");
  EXPECT_EQ(q, expected(kHeads));
  EXPECT_EQ(std::vector<float>(q.begin(), q.begin() + 4), (std::vector<float>{0, 8, 1, 9}));
  EXPECT_EQ(RowLabels(*s, "blk.0.attn_k.weight"), expected(kKvHeads))
      << "key rows use the key/value head count";
  const std::vector<float> v = RowLabels(*s, "blk.0.attn_v.weight");
  for (size_t r = 0; r < v.size(); ++r)
    EXPECT_EQ(v[r], static_cast<float>(r)) << "values keep their order";
}

TEST(HfSource, Qwen2KeepsRowOrderAndMapsBiases) {
  TinySpec spec;
  spec.architecture = "Qwen2ForCausalLM";
  spec.model_type = "qwen2";
  spec.qkv_bias = true;
  spec.normalizer = {{"type", "NFC"}};  // ignored, as llama.cpp does
  auto s = OpenOk(WriteTinyDir("qwen2", spec));
  ASSERT_TRUE(s);
  EXPECT_EQ(std::get<std::string>(*Find(*s, "general.architecture")), "qwen2");
  EXPECT_EQ(Int(*s, "qwen2.block_count"), kLayers);
  EXPECT_EQ(Int(*s, "qwen2.attention.head_count_kv"), kKvHeads);
  EXPECT_EQ(Find(*s, "qwen2.vocab_size"), nullptr) << "the converter writes it for llama only";
  const auto shapes = Shapes(*s);
  EXPECT_EQ(shapes.at("blk.0.attn_q.bias"), (std::vector<int64_t>{kHeads * kHeadDim}));
  EXPECT_EQ(shapes.at("blk.1.attn_k.bias"), (std::vector<int64_t>{kKvHeads * kHeadDim}));
  EXPECT_EQ(shapes.at("blk.1.attn_v.bias"), (std::vector<int64_t>{kKvHeads * kHeadDim}));
  const std::vector<float> q = RowLabels(*s, "blk.0.attn_q.weight");
  for (size_t r = 0; r < q.size(); ++r)
    EXPECT_EQ(q[r], static_cast<float>(r)) << "Qwen uses NeoX order: no permutation";
}

TEST(HfSource, Bf16ShardedAndUntied) {
  TinySpec spec;
  spec.dtype = "BF16";
  spec.shards = 3;
  spec.tied = false;
  const std::string dir = WriteTinyDir("bf16", spec);
  auto s = OpenOk(dir);
  ASSERT_TRUE(s);
  const auto shapes = Shapes(*s);
  EXPECT_EQ(shapes.at("output.weight"), (std::vector<int64_t>{kEmbd, kVocab}));
  for (const auto& t : s->tensors()) {
    EXPECT_EQ(t.type, t.shape.size() == 1 ? GgmlType::F32 : GgmlType::BF16)
        << t.name << ": vectors are stored as F32";
  }
  // Values are the BF16-rounded originals, exactly.
  const std::vector<TinyTensor> originals = TinyTensors(spec);
  std::vector<float> got;
  ASSERT_TRUE(s->ReadFloat(IndexOf(*s, "blk.1.ffn_down.weight"), got).ok());
  const auto& want = std::find_if(originals.begin(), originals.end(), [](const auto& t) {
                       return t.name == "model.layers.1.mlp.down_proj.weight";
                     })->values;
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], Bf16ToFp32(Fp32ToBf16(want[i]))) << i;
}

TEST(HfSource, SkipsRotaryInverseFrequencies) {
  TinySpec spec;
  spec.extra_tensors = {"model.layers.0.self_attn.rotary_emb.inv_freq"};
  auto s = OpenOk(WriteTinyDir("inv_freq", spec));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->tensors().size(), 2u + 9u * kLayers);
}

TEST(HfSource, RopeScaling) {
  {
    TinySpec spec;
    spec.rope_scaling = {{"rope_type", "linear"}, {"factor", 2.0}};
    auto s = OpenOk(WriteTinyDir("rope_linear", spec));
    ASSERT_TRUE(s);
    EXPECT_EQ(std::get<std::string>(*Find(*s, "llama.rope.scaling.type")), "linear");
    EXPECT_EQ(std::get<float>(*Find(*s, "llama.rope.scaling.factor")), 2.0f);
  }
  {
    TinySpec spec;
    spec.rope_scaling = {{"type", "yarn"},
                         {"factor", 4.0},
                         {"original_max_position_embeddings", 128},
                         {"beta_fast", 16.0},
                         {"attention_factor", 1.5}};
    auto s = OpenOk(WriteTinyDir("rope_yarn", spec));
    ASSERT_TRUE(s);
    EXPECT_EQ(std::get<std::string>(*Find(*s, "llama.rope.scaling.type")), "yarn");
    EXPECT_EQ(std::get<float>(*Find(*s, "llama.rope.scaling.factor")), 4.0f);
    EXPECT_EQ(Int(*s, "llama.rope.scaling.original_context_length"), 128);
    EXPECT_EQ(std::get<float>(*Find(*s, "llama.rope.scaling.yarn_beta_fast")), 16.0f);
    EXPECT_EQ(std::get<float>(*Find(*s, "llama.rope.scaling.yarn_attn_factor")), 1.5f);
    EXPECT_EQ(Find(*s, "llama.rope.scaling.yarn_beta_slow"), nullptr);
  }
  {
    TinySpec spec;
    spec.rope_scaling = {{"rope_type", "dynamic"}, {"factor", 2.0}};
    auto s = OpenOk(WriteTinyDir("rope_dynamic", spec));
    ASSERT_TRUE(s);
    EXPECT_EQ(Find(*s, "llama.rope.scaling.type"), nullptr)
        << "the converter writes nothing for dynamic";
  }
  {
    // Llama 3: a factor per rotary frequency in rope_freqs.weight, listed first.
    TinySpec spec;
    spec.rope_theta = 500000.0;
    spec.rope_scaling = {{"rope_type", "llama3"},
                         {"factor", 8.0},
                         {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 8192}};
    auto s = OpenOk(WriteTinyDir("rope_llama3", spec));
    ASSERT_TRUE(s);
    EXPECT_EQ(Find(*s, "llama.rope.scaling.type"), nullptr);
    ASSERT_EQ(s->tensors()[0].name, "rope_freqs.weight");
    EXPECT_EQ(s->tensors()[0].shape, (std::vector<int64_t>{kHeadDim / 2}));
    std::vector<float> got;
    ASSERT_TRUE(s->ReadFloat(0, got).ok());
    ASSERT_EQ(got.size(), static_cast<size_t>(kHeadDim / 2));
    // Wavelengths below 8192/4 keep factor 1, above 8192 get 8, in between are smoothed.
    for (int64_t k = 0; k < kHeadDim / 2; ++k) {
      const double wavelen = 2.0 * 3.14159265358979323846 * std::pow(500000.0, 2.0 * k / kHeadDim);
      double want = 8.0;
      if (wavelen < 2048.0) want = 1.0;
      if (wavelen >= 2048.0 && wavelen <= 8192.0) {
        const double smooth = (8192.0 / wavelen - 1.0) / 3.0;
        want = 1.0 / ((1.0 - smooth) / 8.0 + smooth);
      }
      EXPECT_NEAR(got[k], want, 1e-5 * want) << k;
    }
    EXPECT_EQ(got[3], 1.0f);
    EXPECT_GT(got[4], 1.0f);
    EXPECT_LT(got[4], 8.0f);
    EXPECT_EQ(got[5], 8.0f);
  }
}

TEST(HfSource, ErrorsNameTheFile) {
  {
    TinySpec spec;
    spec.skip_files = {"config.json"};
    const std::string dir = WriteTinyDir("no_config", spec);
    ExpectErrorMentions(dir, {dir + "/config.json", "not found"});
  }
  {
    TinySpec spec;
    spec.skip_files = {"tokenizer.json"};
    const std::string dir = WriteTinyDir("no_tokenizer", spec);
    ExpectErrorMentions(dir, {dir + "/tokenizer.json", "not found"});
  }
  {
    TinySpec spec;
    spec.skip_files = {"model.safetensors"};
    const std::string dir = WriteTinyDir("no_weights", spec);
    ExpectErrorMentions(dir, {dir, "no *.safetensors"});
  }
  {
    TinySpec spec;
    spec.architecture = "GPT2LMHeadModel";
    const std::string dir = WriteTinyDir("gpt2_arch", spec);
    ExpectErrorMentions(dir, {dir + "/config.json", "unsupported architecture 'GPT2LMHeadModel'"});
  }
  {
    TinySpec spec;
    spec.pre_tokenizer = {{"type", "Whitespace"}};
    const std::string dir = WriteTinyDir("whitespace_pre", spec);
    ExpectErrorMentions(dir,
                        {dir + "/tokenizer.json", "pre-tokenizer not recognised", "Whitespace"});
  }
  {
    TinySpec spec;
    spec.pre_tokenizer = {
        {"type", "Split"}, {"pattern", {{"Regex", "\\d+"}}}, {"behavior", "Isolated"}};
    const std::string dir = WriteTinyDir("regex_pre", spec);
    ExpectErrorMentions(dir, {dir + "/tokenizer.json", "Split(\"\\\\d+\")"});
  }
  {
    TinySpec spec;
    for (int i = 0; i < 40; ++i) spec.pre_tokenizer = Json::array({spec.pre_tokenizer});
    const std::string dir = WriteTinyDir("deep", spec);
    ExpectErrorMentions(dir, {dir + "/tokenizer.json", "nested more than"});
  }
  {
    TinySpec spec;
    spec.byte_fallback = true;
    const std::string dir = WriteTinyDir("spm", spec);
    ExpectErrorMentions(dir, {dir + "/tokenizer.json", "byte_fallback", "tokenizer.model"});
  }
  {
    TinySpec spec;
    spec.normalizer = {{"type", "Sequence"},
                       {"normalizers", {{{"type", "NFC"}}, {{"type", "Lowercase"}}}}};
    const std::string dir = WriteTinyDir("lowercase", spec);
    ExpectErrorMentions(dir, {dir + "/tokenizer.json", "normalizer Lowercase"});
  }
  {
    TinySpec spec;
    spec.extra_tensors = {"model.layers.0.self_attn.mystery.weight"};
    const std::string dir = WriteTinyDir("mystery", spec);
    ExpectErrorMentions(dir,
                        {dir + "/model.safetensors", "'model.layers.0.self_attn.mystery.weight'"});
  }
  {
    TinySpec spec;
    spec.extra_tensors = {"model.layers.7.input_layernorm.weight"};  // past num_hidden_layers
    const std::string dir = WriteTinyDir("layer7", spec);
    ExpectErrorMentions(dir, {"'model.layers.7.input_layernorm.weight'", "2 layers"});
  }
}

// --- Through the command line

TEST(HfSourceCli, QuantizesADirectory) {
  const std::string dir = WriteTinyDir("cli_tiny");
  const std::string out = TempDir() + "/cli_tiny.q8_0.gguf";
  const auto r = RunCli("quantize " + dir + " " + out + " --type Q8_0 -t 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto model = Model::Load(out);
  ASSERT_TRUE(model.ok()) << model.error().message;
  EXPECT_EQ((*model)->config().n_layer, kLayers);
  EXPECT_TRUE((*model)->config().tied_embeddings);
  const GgufFile& f = (*model)->file();
  EXPECT_EQ(f.GetInt("general.file_type"), 7) << "llama.cpp's MOSTLY_Q8_0";
  EXPECT_EQ(f.FindTensor("blk.0.attn_q.weight")->type, GgmlType::Q8_0);
  EXPECT_EQ(f.FindTensor("blk.0.attn_norm.weight")->type, GgmlType::F32);
  auto tokenizer = Tokenizer::FromGguf(f);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message;
  EXPECT_EQ(tokenizer->Encode(" the", false, false), (std::vector<int32_t>{261}));
  EXPECT_EQ(tokenizer->Encode("<|im_end|>", false, true), (std::vector<int32_t>{258}));
  EXPECT_EQ(tokenizer->bos_id(), 257);
}

TEST(HfSourceCli, OneLineErrors) {
  TinySpec spec;
  spec.skip_files = {"config.json"};
  const std::string dir = WriteTinyDir("cli_no_config", spec);
  const std::string out = TempDir() + "/never.gguf";
  auto r = RunCli("quantize " + dir + " " + out + " --type Q8_0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  EXPECT_NE(r.err.find(dir + "/config.json"), std::string::npos) << r.err;
  EXPECT_FALSE(testing::FileExists(out));
  // A path that is not a directory is read as GGUF and keeps GGUF's message.
  r = RunCli("quantize /nonexistent/model " + out + " --type Q8_0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/model"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qforge
