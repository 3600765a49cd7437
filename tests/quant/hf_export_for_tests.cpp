#include "quant/hf_export_for_tests.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "qforge/core/fp16.h"
#include "qforge/quant/tensor_source.h"

namespace qforge::testing {

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

size_t DtypeBytes(const std::string& dtype) {
  return dtype == "F32" ? 4 : 2;
}

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// GGUF name -> checkpoint name, written out independently of the importer's table.
std::string HfName(const std::string& gguf) {
  if (gguf == "token_embd.weight") return "model.embed_tokens.weight";
  if (gguf == "output_norm.weight") return "model.norm.weight";
  if (gguf == "output.weight") return "lm_head.weight";
  static const std::pair<const char*, const char*> kLayer[] = {
      {"attn_norm", "input_layernorm"}, {"ffn_norm", "post_attention_layernorm"},
      {"attn_q", "self_attn.q_proj"},   {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},   {"attn_output", "self_attn.o_proj"},
      {"ffn_gate", "mlp.gate_proj"},    {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},
  };
  int layer = -1;
  char part[64] = {};
  if (std::sscanf(gguf.c_str(), "blk.%d.%63[a-z_].weight", &layer, part) == 2) {
    for (const auto& [g, h] : kLayer) {
      if (std::string(part) == g) return fmt::format("model.layers.{}.{}.weight", layer, h);
    }
  }
  return "unmapped." + gguf;
}

// GGUF keeps each head's rotary pairs in adjacent rows; Hugging Face splits them into halves:
// row h*d + 2i + j goes back to h*d + j*d/2 + i.
std::vector<float> SplitRotaryPairs(const std::vector<float>& w, int64_t rows, int64_t n_head) {
  const int64_t row_len = static_cast<int64_t>(w.size()) / rows;
  const int64_t d = rows / n_head;
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < n_head; ++h) {
    for (int64_t r = 0; r < d; ++r) {
      const int64_t i = r / 2, j = r % 2;
      std::copy_n(w.begin() + (h * d + r) * row_len, row_len,
                  out.begin() + (h * d + j * d / 2 + i) * row_len);
    }
  }
  return out;
}

std::vector<std::string> Strings(const GgufFile& f, const std::string& key) {
  const GgufArray* a = f.GetArray(key);
  const auto* v = a ? std::get_if<8>(&a->items) : nullptr;
  return v ? *v : std::vector<std::string>{};
}

Json TokenizerJson(const GgufFile& f) {
  const std::vector<std::string> tokens = Strings(f, "tokenizer.ggml.tokens");
  const GgufArray* types_array = f.GetArray("tokenizer.ggml.token_type");
  const std::vector<int32_t> types = std::get<5>(types_array->items);
  Json vocab = Json::object();
  Json added = Json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    vocab[tokens[i]] = i;
    if (types[i] == 3 || types[i] == 4) {
      added.push_back({{"id", i},
                       {"content", tokens[i]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", types[i] == 3}});
    }
  }
  // The newer pair form of merges (transformers >= 4.45).
  Json merges = Json::array();
  for (const std::string& m : Strings(f, "tokenizer.ggml.merges")) {
    const size_t space = m.find(' ');
    merges.push_back({m.substr(0, space), m.substr(space + 1)});
  }
  const Json byte_level = {{"type", "ByteLevel"},
                           {"add_prefix_space", false},
                           {"trim_offsets", true},
                           {"use_regex", true}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", SmolLMPreTokenizer()},
          {"post_processor", byte_level},
          {"decoder", byte_level},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", vocab},
            {"merges", merges}}}};
}

Json TokenizerConfigJson(const GgufFile& f) {
  const std::vector<std::string> tokens = Strings(f, "tokenizer.ggml.tokens");
  Json cfg = {{"clean_up_tokenization_spaces", false}, {"tokenizer_class", "GPT2Tokenizer"}};
  for (const auto& [kind, key] : {std::pair{"bos_token", "tokenizer.ggml.bos_token_id"},
                                  std::pair{"eos_token", "tokenizer.ggml.eos_token_id"},
                                  std::pair{"unk_token", "tokenizer.ggml.unknown_token_id"},
                                  std::pair{"pad_token", "tokenizer.ggml.padding_token_id"}}) {
    if (auto id = f.GetInt(key)) cfg[kind] = tokens[static_cast<size_t>(*id)];
  }
  if (auto v = f.GetBool("tokenizer.ggml.add_space_prefix")) cfg["add_prefix_space"] = *v;
  if (auto v = f.GetBool("tokenizer.ggml.add_bos_token")) cfg["add_bos_token"] = *v;
  if (auto v = f.GetString("tokenizer.chat_template")) cfg["chat_template"] = *v;
  return cfg;
}

Json ConfigJson(const GgufFile& f, bool tied) {
  auto i = [&](const std::string& key) { return *f.GetInt("llama." + key); };
  Json c = {{"architectures", {"LlamaForCausalLM"}},
            {"model_type", "llama"},
            {"hidden_act", "silu"},
            {"hidden_size", i("embedding_length")},
            {"intermediate_size", i("feed_forward_length")},
            {"num_hidden_layers", i("block_count")},
            {"num_attention_heads", i("attention.head_count")},
            {"num_key_value_heads", i("attention.head_count_kv")},
            {"max_position_embeddings", i("context_length")},
            // float32 values written as the doubles they are, so they read back bit-exact.
            {"rms_norm_eps", *f.GetFloat("llama.attention.layer_norm_rms_epsilon")},
            {"rope_theta", *f.GetFloat("llama.rope.freq_base")},
            {"vocab_size", i("vocab_size")},
            {"tie_word_embeddings", tied},
            {"torch_dtype", "float32"}};
  for (const auto& [name, key] : {std::pair{"bos_token_id", "tokenizer.ggml.bos_token_id"},
                                  std::pair{"eos_token_id", "tokenizer.ggml.eos_token_id"},
                                  std::pair{"pad_token_id", "tokenizer.ggml.padding_token_id"}}) {
    if (auto id = f.GetInt(key)) c[name] = *id;
  }
  return c;
}

}  // namespace

Status WriteSafetensors(const std::string& path, const std::vector<SafetensorsEntry>& entries,
                        const FillFn& fill) {
  Json header = Json::object();
  uint64_t offset = 0;
  for (const auto& e : entries) {
    const uint64_t n = static_cast<uint64_t>(Elements(e.shape)) * DtypeBytes(e.dtype);
    header[e.name] = {
        {"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');  // data starts 8-byte aligned, as the library does
  std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!out) return MakeError(path + ": cannot create");
  const uint64_t header_size = text.size();
  bool ok = std::fwrite(&header_size, 8, 1, out.get()) == 1 &&
            std::fwrite(text.data(), 1, text.size(), out.get()) == text.size();
  std::vector<float> values;
  std::vector<uint8_t> bytes;
  for (size_t i = 0; ok && i < entries.size(); ++i) {
    QF_RETURN_IF_ERROR(fill(i, values));
    if (static_cast<int64_t>(values.size()) != Elements(entries[i].shape)) {
      return MakeError(
          fmt::format("{}: tensor {} got {} values", path, entries[i].name, values.size()));
    }
    const std::string& dtype = entries[i].dtype;
    bytes.resize(values.size() * DtypeBytes(dtype));
    for (size_t k = 0; k < values.size(); ++k) {
      if (dtype == "F32") {
        std::memcpy(bytes.data() + 4 * k, &values[k], 4);
      } else {
        const uint16_t h = dtype == "F16" ? Fp32ToFp16(values[k]) : Fp32ToBf16(values[k]);
        std::memcpy(bytes.data() + 2 * k, &h, 2);
      }
    }
    ok = std::fwrite(bytes.data(), 1, bytes.size(), out.get()) == bytes.size();
  }
  if (!ok) return MakeError(path + ": write failed");
  return Status::Ok();
}

Status WriteJson(const std::string& path, const nlohmann::json& value) {
  std::ofstream out(path, std::ios::binary);
  out << value.dump(2);
  return out ? Status::Ok() : Status(MakeError(path + ": write failed"));
}

std::vector<std::string> ByteLevelAlphabet() {
  std::vector<std::string> out(256);
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable =
        (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    const uint32_t cp = printable ? static_cast<uint32_t>(b) : next++;
    // Code points below 0x800: one or two UTF-8 bytes.
    if (cp < 0x80) {
      out[b] = std::string(1, static_cast<char>(cp));
    } else {
      out[b] = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    }
  }
  return out;
}

nlohmann::json SmolLMPreTokenizer() {
  return {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Digits"}, {"individual_digits", true}},
            {{"type", "ByteLevel"},
             {"add_prefix_space", false},
             {"trim_offsets", true},
             {"use_regex", true}}}}};
}

Status ExportGgufAsHf(const std::string& gguf_path, const std::string& dir, int n_shards) {
  auto file = GgufFile::Open(gguf_path);
  if (!file) return file.error();
  auto source = OpenGgufSource(gguf_path);
  if (!source) return source.error();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return MakeError(dir + ": cannot create: " + ec.message());

  const auto& tensors = (*source)->tensors();
  bool tied = true;
  for (const auto& t : tensors) tied = tied && t.name != "output.weight";
  QF_RETURN_IF_ERROR(WriteJson(dir + "/config.json", ConfigJson(*file, tied)));
  QF_RETURN_IF_ERROR(WriteJson(dir + "/tokenizer.json", TokenizerJson(*file)));
  QF_RETURN_IF_ERROR(WriteJson(dir + "/tokenizer_config.json", TokenizerConfigJson(*file)));

  const int64_t n_head = *file->GetInt("llama.attention.head_count");
  const int64_t n_head_kv = *file->GetInt("llama.attention.head_count_kv");
  Json weight_map = Json::object();
  const size_t per_shard =
      (tensors.size() + static_cast<size_t>(n_shards) - 1) / static_cast<size_t>(n_shards);
  for (int s = 0; s < n_shards; ++s) {
    const std::string shard =
        n_shards == 1 ? "model.safetensors"
                      : fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, n_shards);
    std::vector<size_t> members;
    std::vector<SafetensorsEntry> entries;
    for (size_t i = s * per_shard; i < std::min(tensors.size(), (s + 1) * per_shard); ++i) {
      members.push_back(i);
      entries.push_back(
          {HfName(tensors[i].name), {tensors[i].shape.rbegin(), tensors[i].shape.rend()}, "F32"});
      weight_map[entries.back().name] = shard;
    }
    QF_RETURN_IF_ERROR(WriteSafetensors(
        dir + "/" + shard, entries, [&](size_t k, std::vector<float>& v) -> Status {
          const auto& t = tensors[members[k]];
          QF_RETURN_IF_ERROR((*source)->ReadFloat(members[k], v));
          const bool q = t.name.ends_with("attn_q.weight"), kk = t.name.ends_with("attn_k.weight");
          if (q || kk) v = SplitRotaryPairs(v, t.shape[1], q ? n_head : n_head_kv);
          return Status::Ok();
        }));
  }
  if (n_shards > 1) {
    QF_RETURN_IF_ERROR(WriteJson(dir + "/model.safetensors.index.json",
                                 {{"metadata", Json::object()}, {"weight_map", weight_map}}));
  }
  return Status::Ok();
}

}  // namespace qforge::testing
