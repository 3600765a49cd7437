#include "qforge/model/config.h"

#include <fmt/format.h>

#include <array>

namespace qforge {

namespace {

constexpr std::array<const char*, 4> kSupported = {"llama", "qwen2", "qwen3", "mistral"};

class KeyReader {
 public:
  KeyReader(const GgufFile& f, std::string arch) : f_(f), arch_(std::move(arch)) {}

  Expected<int> RequiredInt(const std::string& suffix, int min_value, int max_value) const {
    const std::string key = arch_ + "." + suffix;
    const auto v = f_.GetInt(key);
    if (!v) return MakeError(fmt::format("{}: missing or non-integer metadata '{}'", f_.path(), key));
    if (*v < min_value || *v > max_value) {
      return MakeError(fmt::format("{}: metadata '{}' = {} is outside [{}, {}]", f_.path(), key, *v,
                                   min_value, max_value));
    }
    return static_cast<int>(*v);
  }
  int OptionalInt(const std::string& suffix, int fallback) const {
    return static_cast<int>(f_.GetInt(arch_ + "." + suffix).value_or(fallback));
  }
  float OptionalFloat(const std::string& suffix, float fallback) const {
    return static_cast<float>(f_.GetFloat(arch_ + "." + suffix).value_or(fallback));
  }
  std::optional<std::string> OptionalString(const std::string& suffix) const {
    return f_.GetString(arch_ + "." + suffix);
  }

 private:
  const GgufFile& f_;
  std::string arch_;
};

}  // namespace

bool IsSupportedArchitecture(const std::string& arch) {
  for (const char* a : kSupported) {
    if (arch == a) return true;
  }
  return false;
}

Expected<ModelConfig> ReadModelConfig(const GgufFile& f) {
  ModelConfig c;
  const auto arch = f.GetString("general.architecture");
  if (!arch) return MakeError(f.path() + ": missing metadata 'general.architecture'");
  if (!IsSupportedArchitecture(*arch)) {
    return MakeError(fmt::format("{}: unsupported architecture '{}' (supported: llama, qwen2, "
                                 "qwen3, mistral)",
                                 f.path(), *arch));
  }
  c.arch = *arch;
  c.name = f.GetString("general.name").value_or("");
  const KeyReader k(f, c.arch);
  constexpr int kMaxDim = 1 << 20;

#define QF_READ_INT(field, key, lo, hi)        \
  {                                            \
    auto v = k.RequiredInt(key, lo, hi);       \
    if (!v) return v.error();                  \
    c.field = *v;                              \
  }
  QF_READ_INT(n_embd, "embedding_length", 1, kMaxDim);
  QF_READ_INT(n_layer, "block_count", 1, 4096);
  QF_READ_INT(n_head, "attention.head_count", 1, 4096);
  QF_READ_INT(n_ff, "feed_forward_length", 1, kMaxDim);
#undef QF_READ_INT
  c.n_head_kv = k.OptionalInt("attention.head_count_kv", c.n_head);
  if (c.n_head_kv < 1 || c.n_head % c.n_head_kv != 0) {
    return MakeError(fmt::format("{}: {} query heads cannot be grouped over {} key/value heads",
                                 f.path(), c.n_head, c.n_head_kv));
  }
  c.head_dim = k.OptionalInt("attention.key_length", c.n_embd / c.n_head);
  c.head_dim_v = k.OptionalInt("attention.value_length", c.head_dim);
  if (c.head_dim < 2 || c.head_dim % 2 != 0 || c.head_dim > 4096 || c.head_dim_v < 1 ||
      c.head_dim_v > 4096) {
    return MakeError(fmt::format("{}: head dimension {} is not supported", f.path(), c.head_dim));
  }
  c.n_ctx_train = k.OptionalInt("context_length", 2048);
  c.rms_eps = k.OptionalFloat("attention.layer_norm_rms_epsilon", 1e-5f);
  if (!(c.rms_eps > 0.0f && c.rms_eps < 1.0f)) {
    return MakeError(fmt::format("{}: RMSNorm epsilon {} is not in (0, 1)", f.path(), c.rms_eps));
  }

  RopeConfig& r = c.rope;
  r.ordering = (c.arch == "qwen2" || c.arch == "qwen3") ? RopeOrdering::kNeox : RopeOrdering::kNormal;
  r.n_rot = k.OptionalInt("rope.dimension_count", c.head_dim);
  if (r.n_rot < 2 || r.n_rot > c.head_dim || r.n_rot % 2 != 0) {
    return MakeError(fmt::format("{}: rope.dimension_count {} is not an even number <= head dim {}",
                                 f.path(), r.n_rot, c.head_dim));
  }
  r.freq_base = k.OptionalFloat("rope.freq_base", 10000.0f);
  const std::string scaling_type = k.OptionalString("rope.scaling.type").value_or("none");
  const float factor = k.OptionalFloat("rope.scaling.factor", 0.0f);
  const float scale_linear = k.OptionalFloat("rope.scale_linear", 0.0f);  // older key
  if (scaling_type == "none" || scaling_type.empty()) {
    r.scaling = RopeScaling::kNone;
    if (scale_linear > 0.0f) {
      r.scaling = RopeScaling::kLinear;
      r.freq_scale = 1.0f / scale_linear;
    }
  } else if (scaling_type == "linear") {
    r.scaling = RopeScaling::kLinear;
    r.freq_scale = factor > 0.0f ? 1.0f / factor : 1.0f;
  } else if (scaling_type == "yarn") {
    r.scaling = RopeScaling::kYarn;
    r.freq_scale = factor > 0.0f ? 1.0f / factor : 1.0f;
    r.yarn_ext_factor = 1.0f;
    r.yarn_attn_factor = k.OptionalFloat("rope.scaling.attn_factor", 1.0f);
    r.yarn_beta_fast = k.OptionalFloat("rope.scaling.yarn_beta_fast", 32.0f);
    r.yarn_beta_slow = k.OptionalFloat("rope.scaling.yarn_beta_slow", 1.0f);
  } else {
    return MakeError(fmt::format("{}: unsupported rope scaling type '{}'", f.path(), scaling_type));
  }
  r.n_ctx_orig = k.OptionalInt("rope.scaling.original_context_length", c.n_ctx_train);
  if (!(r.freq_base > 0.0f) || !(r.freq_scale > 0.0f)) {
    return MakeError(fmt::format("{}: invalid rope frequency base {} or scale {}", f.path(),
                                 r.freq_base, r.freq_scale));
  }

  const GgufArray* tokens = f.GetArray("tokenizer.ggml.tokens");
  c.n_vocab = static_cast<int>(k.OptionalInt("vocab_size", tokens ? static_cast<int>(tokens->size()) : 0));
  c.tied_embeddings = f.FindTensor("output.weight") == nullptr;
  c.qk_norm = f.FindTensor("blk.0.attn_q_norm.weight") != nullptr;
  c.qkv_bias = f.FindTensor("blk.0.attn_q.bias") != nullptr;
  c.chat_template = f.GetString("tokenizer.chat_template").value_or("");
  return c;
}

}  // namespace qforge
