// Writes the fuzzers' seed corpus: small valid GGUF, safetensors, config.json and
// tokenizer.json files.
// Usage: fuzz_seeds OUT_DIR  (creates OUT_DIR/gguf, OUT_DIR/safetensors, OUT_DIR/hf_config,
// OUT_DIR/hf_tokenizer)
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qforge/core/fp16.h"
#include "qforge/formats/ggml_type.h"
#include "qforge/io/gguf_writer.h"

namespace {

using qforge::GgmlType;
using qforge::GgufArray;
using qforge::GgufTensorData;
using qforge::GgufValue;

std::vector<uint8_t> PatternBytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(seed + i * 37);
  return bytes;
}

GgufTensorData Tensor(const std::string& name, GgmlType type, std::vector<int64_t> shape) {
  uint64_t rows = 1;
  for (size_t i = 1; i < shape.size(); ++i) rows *= static_cast<uint64_t>(shape[i]);
  const uint64_t row_bytes = qforge::RowBytes(type, static_cast<uint64_t>(shape[0])).value();
  return {name, type, std::move(shape),
          PatternBytes(row_bytes * rows, static_cast<uint8_t>(name.size()))};
}

template <size_t I, class T>
GgufValue Array(std::vector<T> items) {
  GgufArray a;
  a.items.emplace<I>(std::move(items));
  return a;
}

bool WriteGgufSeeds(const std::string& dir) {
  using Metadata = std::vector<std::pair<std::string, GgufValue>>;
  struct Seed {
    std::string name;
    Metadata metadata;
    std::vector<GgufTensorData> tensors;
    uint32_t alignment;
  };
  GgufArray nested;
  nested.items.emplace<9>(
      std::vector<GgufArray>{std::get<GgufArray>(Array<8>(std::vector<std::string>{"x"})),
                             std::get<GgufArray>(Array<6>(std::vector<float>{1.f, 2.f}))});
  const std::vector<Seed> seeds = {
      {"empty", {}, {}, 32},
      {"every_value_type",
       {{"u8", uint8_t{200}},
        {"i8", int8_t{-100}},
        {"u16", uint16_t{60000}},
        {"i16", int16_t{-30000}},
        {"u32", uint32_t{4000000000u}},
        {"i32", int32_t{-2000000000}},
        {"f32", 1.5f},
        {"bool", true},
        {"string", std::string("hello")},
        {"u64", uint64_t{1} << 60},
        {"i64", int64_t{-1} << 60},
        {"f64", 0.1},
        {"strings", Array<8>(std::vector<std::string>{"a", "", "ccc"})},
        {"floats", Array<6>(std::vector<float>{1.f, -2.f})},
        {"bools", Array<7>(std::vector<uint8_t>{1, 0})},
        {"i32s", Array<5>(std::vector<int32_t>{1, -1, 7})},
        {"nested", nested}},
       {Tensor("t", GgmlType::F32, {4})},
       32},
      {"llama_like",
       {{"general.architecture", std::string("llama")},
        {"general.name", std::string("seed")},
        {"llama.block_count", uint32_t{1}},
        {"llama.embedding_length", uint32_t{32}},
        {"llama.attention.head_count", uint32_t{2}},
        {"llama.rope.freq_base", 10000.f},
        {"tokenizer.ggml.model", std::string("llama")},
        {"tokenizer.ggml.tokens", Array<8>(std::vector<std::string>{"<unk>", "<s>", "</s>", "a"})},
        {"tokenizer.ggml.scores", Array<6>(std::vector<float>{0.f, 0.f, 0.f, -1.f})},
        {"tokenizer.ggml.token_type", Array<5>(std::vector<int32_t>{2, 3, 3, 1})}},
       {Tensor("token_embd.weight", GgmlType::F16, {32, 4}),
        Tensor("blk.0.attn_q.weight", GgmlType::Q4_0, {32, 2}),
        Tensor("blk.0.ffn_down.weight", GgmlType::Q8_0, {32, 1}),
        Tensor("blk.0.ffn_up.weight", GgmlType::Q4_K, {256, 1}),
        Tensor("blk.0.attn_norm.weight", GgmlType::F32, {32}),
        Tensor("output.weight", GgmlType::BF16, {32, 2, 1, 1})},
       32},
      {"aligned64",
       {{"general.architecture", std::string("llama")}},
       {Tensor("a", GgmlType::F32, {3}), Tensor("b", GgmlType::Q6_K, {256}),
        Tensor("c", GgmlType::IQ4_NL, {32, 2})},
       64},
  };
  for (const auto& seed : seeds) {
    const qforge::Status s = qforge::WriteGgufFile(dir + "/" + seed.name + ".gguf", seed.metadata,
                                                   seed.tensors, seed.alignment);
    if (!s.ok()) {
      std::fprintf(stderr, "fuzz_seeds: %s\n", s.error().message.c_str());
      return false;
    }
  }
  return true;
}

struct StTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  size_t element_size;
};

// Tensors back to back, header padded to 8 bytes.
bool WriteSafetensors(const std::string& path, const std::vector<StTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<uint8_t> data;
  for (const auto& t : tensors) {
    size_t n = t.element_size;
    for (int64_t d : t.shape) n *= static_cast<size_t>(d);
    std::vector<uint8_t> bytes = PatternBytes(n, static_cast<uint8_t>(t.name.size()));
    if (t.dtype == "F16" || t.dtype == "BF16") {
      for (size_t i = 0; i + 1 < n; i += 2) {
        const uint16_t h = t.dtype == "F16" ? qforge::Fp32ToFp16(0.25f * static_cast<float>(i))
                                            : qforge::Fp32ToBf16(-0.5f * static_cast<float>(i));
        std::memcpy(bytes.data() + i, &h, 2);
      }
    }
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + n}}};
    data.insert(data.end(), bytes.begin(), bytes.end());
  }
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');
  const uint64_t n = text.size();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  return static_cast<bool>(out);
}

bool WriteSafetensorsSeeds(const std::string& dir) {
  bool ok = WriteSafetensors(dir + "/empty.safetensors", {}, {});
  ok = ok && WriteSafetensors(dir + "/llama_like.safetensors",
                              {{"model.embed_tokens.weight", "BF16", {8, 4}, 2},
                               {"model.layers.0.self_attn.q_proj.weight", "F16", {4, 4}, 2},
                               {"model.norm.weight", "F32", {4}, 4}},
                              {{"format", "pt"}});
  ok = ok && WriteSafetensors(dir + "/every_dtype.safetensors",
                              {{"bool", "BOOL", {2}, 1},
                               {"u8", "U8", {3}, 1},
                               {"i8", "I8", {1, 2}, 1},
                               {"e4m3", "F8_E4M3", {2}, 1},
                               {"e5m2", "F8_E5M2", {2}, 1},
                               {"e8m0", "F8_E8M0", {1}, 1},
                               {"i16", "I16", {2}, 2},
                               {"u16", "U16", {1}, 2},
                               {"i32", "I32", {2}, 4},
                               {"u32", "U32", {1}, 4},
                               {"i64", "I64", {1}, 8},
                               {"u64", "U64", {1}, 8},
                               {"f64", "F64", {1}, 8},
                               {"c64", "C64", {1}, 8},
                               {"scalar", "F32", {}, 4},
                               {"zero", "F16", {0, 3}, 2}},
                              {{"a", "b"}, {"format", "pt"}});
  return ok;
}

bool WriteConfigSeeds(const std::string& dir) {
  const std::map<std::string, std::string> configs = {
      {"smollm2",
       R"({"architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 1,
 "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 576, "intermediate_size": 1536,
 "max_position_embeddings": 8192, "mlp_bias": false, "model_type": "llama",
 "num_attention_heads": 9, "num_hidden_layers": 30, "num_key_value_heads": 3,
 "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 100000,
 "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 49152})"},
      {"qwen2",
       R"({"architectures": ["Qwen2ForCausalLM"], "bos_token_id": 151643, "eos_token_id": 151645,
 "hidden_size": 896, "intermediate_size": 4864, "max_position_embeddings": 32768,
 "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
 "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
 "sliding_window": 32768, "tie_word_embeddings": true, "use_sliding_window": true,
 "vocab_size": 151936})"},
      {"llama31",
       R"({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
 "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
 "vocab_size": 128256, "head_dim": 128, "eos_token_id": [128001, 128008, 128009],
 "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
 "original_max_position_embeddings": 8192, "rope_type": "llama3"}})"},
      {"mistral",
       R"({"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336,
 "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
 "vocab_size": 32000, "sliding_window": 4096, "rope_scaling": {"type": "yarn", "factor": 4}})"},
      {"qwen3",
       R"({"model_type": "qwen3", "hidden_size": 1024, "intermediate_size": 3072,
 "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8,
 "head_dim": 128, "vocab_size": 151936, "attention_bias": false, "dtype": "bfloat16"})"},
  };
  for (const auto& [name, text] : configs) {
    std::ofstream out(dir + "/" + name + ".json");
    out << text;
    if (!out) return false;
  }
  return true;
}

// Small byte-level BPE tokenizers (ids below the fuzz target's vocab_size of 512), one per
// kind of pre-tokenizer and merge list.
bool WriteTokenizerSeeds(const std::string& dir) {
  using Json = nlohmann::json;
  Json vocab = {{"a", 0}, {"b", 1}, {"ab", 2}, {"\u0120", 3}, {"\u0120ab", 4}, {"<s>", 5}, {"</s>", 6}};
  const Json added = Json::array({{{"id", 5}, {"content", "<s>"}, {"special", true}},
                                  {{"id", 6}, {"content", "</s>"}, {"special", true}},
                                  {{"id", 7}, {"content", "user token"}, {"special", false}}});
  const Json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  const Json smollm = {{"type", "Sequence"},
                       {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level}}};
  const Json llama3 = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"},
         {"pattern",
          {{"Regex",
            R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re"}}},
         {"behavior", "Isolated"},
         {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  const Json template_bos = {{"type", "TemplateProcessing"},
                             {"single", {{{"SpecialToken", {{"id", "<s>"}}}}, {{"Sequence", {{"id", "A"}}}}}}};
  const std::map<std::string, Json> seeds = {
      {"gpt2", {{"added_tokens", added}, {"pre_tokenizer", byte_level}, {"post_processor", byte_level},
                {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b", "\u0120 ab"}}}}}},
      {"smollm", {{"added_tokens", added}, {"pre_tokenizer", smollm},
                  {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", Json::array({Json::array({"a", "b"}), Json::array({"\u0120", "ab"})})}}}}},
      {"llama3", {{"added_tokens", added}, {"pre_tokenizer", llama3}, {"post_processor", template_bos},
                  {"model", {{"type", "BPE"}, {"ignore_merges", true}, {"vocab", vocab}, {"merges", {"a b"}}}}}},
  };
  for (const auto& [name, json] : seeds) {
    std::ofstream out(dir + "/" + name + ".json");
    out << json.dump(1);
    if (!out) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string root = argv[1];
  std::error_code ec;
  for (const char* sub : {"gguf", "safetensors", "hf_config", "hf_tokenizer"}) {
    std::filesystem::create_directories(root + "/" + sub, ec);
    if (ec) {
      std::fprintf(stderr, "fuzz_seeds: %s/%s: %s\n", root.c_str(), sub, ec.message().c_str());
      return 1;
    }
  }
  const bool ok = WriteGgufSeeds(root + "/gguf") && WriteSafetensorsSeeds(root + "/safetensors") &&
                  WriteConfigSeeds(root + "/hf_config") && WriteTokenizerSeeds(root + "/hf_tokenizer");
  if (!ok) {
    std::fprintf(stderr, "fuzz_seeds: failed to write the corpus under %s\n", root.c_str());
    return 1;
  }
  return 0;
}
