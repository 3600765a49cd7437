#include "qforge/quant/hf_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numbers>
#include <optional>

#include "qforge/io/hf_config.h"
#include "qforge/io/hf_tokenizer.h"
#include "qforge/io/mapped_file.h"
#include "qforge/io/safetensors.h"

namespace qforge {

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

struct Architecture {
  const char* hf;    // config.json "architectures"
  const char* gguf;  // general.architecture
};
constexpr std::array<Architecture, 4> kArchitectures = {{
    {"LlamaForCausalLM", "llama"},
    {"MistralForCausalLM", "llama"},
    {"Qwen2ForCausalLM", "qwen2"},
    {"Qwen3ForCausalLM", "qwen3"},
}};

// --- Tensor names

constexpr std::array<std::pair<const char*, const char*>, 3> kGlobalNames = {{
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
}};

// Inside "model.layers.N.": checkpoint suffix -> GGUF suffix after "blk.N.".
constexpr std::array<std::pair<const char*, const char*>, 19> kLayerNames = {{
    {"input_layernorm.weight", "attn_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"mlp.gate_proj.bias", "ffn_gate.bias"},
    {"mlp.up_proj.bias", "ffn_up.bias"},
    {"mlp.down_proj.bias", "ffn_down.bias"},
    {"self_attn.rotary_emb.inv_freq", ""},  // recomputed by every runtime: not stored
}};

// The GGUF name of a checkpoint tensor: "" for tensors that are dropped, nullopt when unknown.
std::optional<std::string> GgufTensorName(const std::string& name, int64_t n_layer) {
  for (const auto& [hf, gguf] : kGlobalNames) {
    if (name == hf) return std::string(gguf);
  }
  constexpr std::string_view kPrefix = "model.layers.";
  if (!name.starts_with(kPrefix)) return std::nullopt;
  const char* begin = name.data() + kPrefix.size();
  const char* end = name.data() + name.size();
  int64_t layer = -1;
  const auto [p, ec] = std::from_chars(begin, end, layer);
  if (ec != std::errc() || p == begin || p == end || *p != '.' || layer < 0 || layer >= n_layer) {
    return std::nullopt;
  }
  const std::string_view suffix(p + 1, static_cast<size_t>(end - p - 1));
  for (const auto& [hf, gguf] : kLayerNames) {
    if (suffix != hf) continue;
    if (*gguf == '\0') return std::string();
    return fmt::format("blk.{}.{}", layer, gguf);
  }
  return std::nullopt;
}

// HF Llama checkpoints order each head's query/key rows as two halves (the rotary pairs are
// (i, i + d/2)); llama.cpp's "normal" RoPE rotates adjacent rows (2i, 2i + 1). Row
// h*d + j*d/2 + i moves to h*d + 2i + j, exactly as the converter's LlamaModel.permute.
void InterleaveRotaryHalves(std::vector<float>& w, int64_t rows, int64_t n_head) {
  const int64_t row_len = static_cast<int64_t>(w.size()) / rows;
  const int64_t head_dim = rows / n_head;
  const int64_t half = head_dim / 2;
  const std::vector<float> src = w;
  for (int64_t h = 0; h < n_head; ++h) {
    for (int64_t i = 0; i < half; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t from = h * head_dim + j * half + i;
        const int64_t to = h * head_dim + 2 * i + j;
        std::copy_n(src.begin() + from * row_len, row_len, w.begin() + to * row_len);
      }
    }
  }
}

// Llama 3's RoPE scaling as the converter stores it: one factor per rotary frequency in
// rope_freqs.weight, computed in float32 like its PyTorch code.
std::vector<float> Llama3RopeFactors(const HfConfig& c) {
  const HfRopeScaling& s = *c.rope_scaling;
  const double old_ctx = static_cast<double>(*s.original_max_position_embeddings);
  const float base = static_cast<float>(c.rope_theta);
  const float factor = static_cast<float>(s.factor);
  const float low = static_cast<float>(*s.low_freq_factor);
  const float low_wavelen = static_cast<float>(old_ctx / *s.low_freq_factor);
  const float high_wavelen = static_cast<float>(old_ctx / *s.high_freq_factor);
  const float span = static_cast<float>(*s.high_freq_factor - *s.low_freq_factor);
  const float two_pi = static_cast<float>(2.0 * std::numbers::pi);
  std::vector<float> out;
  for (int64_t i = 0; i < c.head_dim; i += 2) {
    const float freq =
        1.0f / std::pow(base, static_cast<float>(i) / static_cast<float>(c.head_dim));
    const float wavelen = two_pi / freq;
    if (wavelen < high_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      out.push_back(factor);
    } else {
      const float smooth = (static_cast<float>(old_ctx) / wavelen - low) / span;
      out.push_back(1.0f / ((1.0f - smooth) / factor + smooth));
    }
  }
  return out;
}

// --- Metadata

// llama.cpp's model hyperparameter keys, in the converter's order.
Expected<GgufMetadata> ModelMetadata(const HfConfig& c, const Json& raw, const std::string& arch,
                                     const std::string& name, const std::string& config_file) {
  auto u32 = [](int64_t v) { return GgufValue(static_cast<uint32_t>(v)); };
  auto f32 = [](double v) { return GgufValue(static_cast<float>(v)); };
  const std::string a = arch + ".";
  GgufMetadata md;
  md.emplace_back("general.architecture", arch);
  md.emplace_back("general.type", std::string("model"));
  md.emplace_back("general.name", name);
  md.emplace_back(a + "block_count", u32(c.num_hidden_layers));
  md.emplace_back(a + "context_length", u32(c.max_position_embeddings));
  md.emplace_back(a + "embedding_length", u32(c.hidden_size));
  md.emplace_back(a + "feed_forward_length", u32(c.intermediate_size));
  md.emplace_back(a + "attention.head_count", u32(c.num_attention_heads));
  md.emplace_back(a + "attention.head_count_kv", u32(c.num_key_value_heads));
  if (c.rope_scaling) {
    const HfRopeScaling& s = *c.rope_scaling;
    const Json& params = raw.contains("rope_scaling") && raw["rope_scaling"].is_object()
                             ? raw["rope_scaling"]
                         : raw.contains("rope_parameters") ? raw["rope_parameters"]
                                                           : Json::object();
    if (s.type == "linear") {
      md.emplace_back(a + "rope.scaling.type", std::string("linear"));
      md.emplace_back(a + "rope.scaling.factor", f32(s.factor));
    } else if (s.type == "yarn") {
      if (!s.original_max_position_embeddings) {
        return MakeError(config_file +
                         ": yarn rope scaling needs original_max_position_embeddings");
      }
      md.emplace_back(a + "rope.scaling.type", std::string("yarn"));
      md.emplace_back(a + "rope.scaling.factor", f32(s.factor));
      md.emplace_back(a + "rope.scaling.original_context_length",
                      u32(*s.original_max_position_embeddings));
      for (const auto& [hf, key] :
           {std::pair{"extrapolation_factor", "yarn_ext_factor"},
            std::pair{"attention_factor", "yarn_attn_factor"},
            std::pair{"attn_factor", "yarn_attn_factor"}, std::pair{"beta_fast", "yarn_beta_fast"},
            std::pair{"beta_slow", "yarn_beta_slow"}}) {
        const std::string name = a + "rope.scaling." + key;
        const bool set =
            std::any_of(md.begin(), md.end(), [&name](const auto& kv) { return kv.first == name; });
        if (!set && params.contains(hf) && params[hf].is_number())
          md.emplace_back(name, f32(params[hf].get<double>()));
      }
    } else if (s.type == "llama3" && arch != "llama") {
      return MakeError(
          fmt::format("{}: llama3 rope scaling is only converted for Llama models", config_file));
    }
    // "dynamic" has no GGUF keys (the converter writes none); "llama3" becomes rope_freqs.weight.
  }
  md.emplace_back(a + "rope.freq_base", f32(c.rope_theta));
  md.emplace_back(a + "attention.layer_norm_rms_epsilon", f32(c.rms_norm_eps));
  if (raw.contains("head_dim") && raw["head_dim"].is_number_integer()) {
    md.emplace_back(a + "attention.key_length", u32(c.head_dim));
    md.emplace_back(a + "attention.value_length", u32(c.head_dim));
  }
  if (arch == "llama") {
    md.emplace_back(a + "vocab_size", u32(c.vocab_size));
    md.emplace_back(a + "rope.dimension_count", u32(c.head_dim));
  }
  return md;
}

// --- The source

class HfSource final : public TensorSource {
 public:
  struct Origin {
    const SafetensorsFile* shard = nullptr;  // null for generated tensors
    const SafetensorsTensor* tensor = nullptr;
    int64_t permute_heads = 0;  // > 0: interleave the rotary halves of this many heads
    std::vector<float> generated;
  };

  HfSource(std::string path, SafetensorsCheckpoint ckpt)
      : path_(std::move(path)), ckpt_(std::move(ckpt)) {}

  const std::string& path() const override { return path_; }
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const override {
    return metadata_;
  }
  const std::vector<Tensor>& tensors() const override { return tensors_; }

  Status ReadFloat(size_t index, std::vector<float>& out) override {
    const Origin& o = origins_[index];
    if (o.shard == nullptr) {
      out = o.generated;
      return Status::Ok();
    }
    out.resize(static_cast<size_t>(o.tensor->n_elements()));
    QF_RETURN_IF_ERROR(o.shard->ReadFloat32(*o.tensor, out));
    if (o.permute_heads > 0) InterleaveRotaryHalves(out, o.tensor->shape[0], o.permute_heads);
    return Status::Ok();
  }

  // Always requantized from floats: the checkpoint's bytes are never GGUF tensor data.
  std::span<const uint8_t> RawBytes(size_t) const override { return {}; }

  void Release(size_t index) override {
    const Origin& o = origins_[index];
    if (o.tensor == nullptr) return;
    DropMappedPages(o.tensor->data, o.tensor->data + o.tensor->n_bytes);
  }

  Status Build(const HfConfig& c, const std::string& arch, GgufMetadata metadata);

 private:
  std::string path_;
  SafetensorsCheckpoint ckpt_;
  GgufMetadata metadata_;
  std::vector<Tensor> tensors_;
  std::vector<Origin> origins_;
};

Status HfSource::Build(const HfConfig& c, const std::string& arch, GgufMetadata metadata) {
  metadata_ = std::move(metadata);
  if (c.rope_scaling && c.rope_scaling->type == "llama3") {
    Origin o;
    o.generated = Llama3RopeFactors(c);
    tensors_.push_back(
        {"rope_freqs.weight", {static_cast<int64_t>(o.generated.size())}, GgmlType::F32});
    origins_.push_back(std::move(o));
  }
  // Shard by shard, names sorted within each, as the converter lists them.
  for (const SafetensorsFile& shard : ckpt_.shards()) {
    std::vector<const SafetensorsTensor*> list;
    for (const auto& t : shard.tensors()) list.push_back(&t);
    std::sort(list.begin(), list.end(), [](auto* x, auto* y) { return x->name < y->name; });
    for (const SafetensorsTensor* t : list) {
      if (c.tie_word_embeddings && t->name == "lm_head.weight")
        continue;  // a copy of the embeddings
      const auto name = GgufTensorName(t->name, c.num_hidden_layers);
      if (!name) {
        return MakeError(fmt::format(
            "{}: tensor '{}' is not part of a {} model ({} layers) that qforge converts",
            shard.path(), t->name, arch, c.num_hidden_layers));
      }
      if (name->empty()) continue;
      if (!IsFloat32Convertible(t->dtype)) {
        return MakeError(fmt::format("{}: tensor '{}' has dtype {}; qforge reads F32, F16 and BF16",
                                     shard.path(), t->name, SafetensorsDtypeName(t->dtype)));
      }
      if (t->shape.empty() || t->n_elements() == 0) {
        return MakeError(
            fmt::format("{}: tensor '{}' is empty or a scalar", shard.path(), t->name));
      }
      Origin o{&shard, t, 0, {}};
      // Only Llama's query and key need the permutation (Qwen's checkpoints use NeoX order).
      const bool is_q = name->find(".attn_q.") != std::string::npos;
      const bool is_k = name->find(".attn_k.") != std::string::npos;
      if (arch == "llama" && (is_q || is_k)) {
        o.permute_heads = is_q ? c.num_attention_heads : c.num_key_value_heads;
        if (t->shape[0] != o.permute_heads * c.head_dim || c.head_dim % 2 != 0) {
          return MakeError(fmt::format("{}: tensor '{}' has {} rows, expected {} heads of {}",
                                       shard.path(), t->name, t->shape[0], o.permute_heads,
                                       c.head_dim));
        }
      }
      // ggml lists dimensions innermost first; vectors are stored as F32 like the converter does.
      std::vector<int64_t> shape(t->shape.rbegin(), t->shape.rend());
      GgmlType type = GgmlType::F32;
      if (shape.size() > 1 && t->dtype == SafetensorsDtype::F16) type = GgmlType::F16;
      if (shape.size() > 1 && t->dtype == SafetensorsDtype::BF16) type = GgmlType::BF16;
      tensors_.push_back({*name, std::move(shape), type});
      origins_.push_back(std::move(o));
    }
  }
  return Status::Ok();
}

std::string ModelName(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

}  // namespace

Expected<std::unique_ptr<TensorSource>> OpenHfSource(const std::string& dir) {
  const std::string config_file = (fs::path(dir) / "config.json").string();
  const std::string tokenizer_file = (fs::path(dir) / "tokenizer.json").string();
  for (const std::string& f : {config_file, tokenizer_file}) {
    std::error_code ec;
    if (!fs::is_regular_file(f, ec)) {
      return MakeError(
          f +
          ": not found (a Hugging Face model directory holds config.json, tokenizer.json "
          "and *.safetensors)");
    }
  }
  // The architecture first, so an unsupported model is named as such rather than by a field.
  auto text = ReadTextFile(config_file);
  if (!text) return text.error();
  const Json raw = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (raw.is_discarded() || !raw.is_object()) return MakeError(config_file + ": invalid JSON");
  const Json archs = raw.contains("architectures") ? raw["architectures"] : Json();
  if (!archs.is_array() || archs.empty() || !archs[0].is_string()) {
    return MakeError(config_file + ": no \"architectures\" list naming the model class");
  }
  const std::string hf_arch = archs[0].get<std::string>();
  const Architecture* found = nullptr;
  for (const auto& a : kArchitectures) {
    if (hf_arch == a.hf) found = &a;
  }
  if (found == nullptr) {
    return MakeError(
        fmt::format("{}: unsupported architecture '{}' (supported: LlamaForCausalLM, "
                    "MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)",
                    config_file, hf_arch));
  }
  auto config = ParseHfConfig(*text, config_file);
  if (!config) return config.error();

  auto metadata = ModelMetadata(*config, raw, found->gguf, ModelName(dir), config_file);
  if (!metadata) return metadata.error();
  auto tokenizer = ConvertHfTokenizer(dir, config->vocab_size);
  if (!tokenizer) return tokenizer.error();
  metadata->insert(metadata->end(), tokenizer->begin(), tokenizer->end());

  auto ckpt = SafetensorsCheckpoint::Open(dir);
  if (!ckpt) return ckpt.error();
  auto source = std::make_unique<HfSource>(dir, std::move(*ckpt));
  QF_RETURN_IF_ERROR(source->Build(*config, found->gguf, std::move(*metadata)));
  return std::unique_ptr<TensorSource>(std::move(source));
}

}  // namespace qforge
