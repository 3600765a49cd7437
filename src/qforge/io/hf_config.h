// Hugging Face config.json for the Llama family (llama, mistral, qwen2, qwen3): the
// hyperparameters a model needs, with the defaults transformers applies when a field is absent
// or null. Missing required fields, wrong JSON types, out-of-range values and unsupported
// model types give an Error naming the file and the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qforge/core/status.h"

namespace qforge {

// rope_scaling (or transformers 5's rope_parameters). `type` comes from "rope_type" (or the older
// "type"); "default" or an absent / null rope_scaling means no scaling, and
// HfConfig::rope_scaling is then nullopt.
struct HfRopeScaling {
  std::string type;  // "linear", "dynamic", "yarn", "longrope" or "llama3"
  double factor = 1.0;
  std::optional<int64_t> original_max_position_embeddings;
  // llama3 only (required there).
  std::optional<double> low_freq_factor;
  std::optional<double> high_freq_factor;
};

struct HfConfig {
  std::string model_type;                  // required: "llama", "mistral", "qwen2", "qwen3"
  std::vector<std::string> architectures;  // e.g. {"LlamaForCausalLM"}; may be empty
  std::string hidden_act = "silu";
  std::string torch_dtype;  // "bfloat16", ... ("dtype" in newer files); may be empty

  int64_t hidden_size = 0;              // required
  int64_t intermediate_size = 0;        // required
  int64_t num_hidden_layers = 0;        // required
  int64_t num_attention_heads = 0;      // required
  int64_t num_key_value_heads = 0;      // default: num_attention_heads
  int64_t head_dim = 0;                 // default: hidden_size / num_attention_heads
  int64_t vocab_size = 0;               // required
  int64_t max_position_embeddings = 0;  // default: transformers' default for the model type

  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;  // top level, or in rope_parameters (transformers 5)
  std::optional<HfRopeScaling> rope_scaling;
  std::optional<int64_t> sliding_window;  // when the model uses one (mistral, qwen2 opt-in)

  bool tie_word_embeddings = false;
  // Which projections carry a bias. llama: attention_bias sets q/k/v/o; qwen2: q/k/v always,
  // o never; qwen3: attention_bias sets q/k/v/o; mistral: none. mlp_bias (llama) for the MLP.
  bool attention_bias = false;  // the file's flag as read (false when absent)
  bool qkv_bias = false;
  bool o_bias = false;
  bool mlp_bias = false;
  bool qk_norm = false;  // per-head RMSNorm on q and k (qwen3)

  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // eos_token_id may be one id or a list

  int64_t n_gqa() const { return num_attention_heads / num_key_value_heads; }
};

// Parses config.json text; `name` (the file) prefixes every error.
Expected<HfConfig> ParseHfConfig(std::string_view json_text, const std::string& name);
// Reads `path`, a config.json file or a directory holding one.
Expected<HfConfig> LoadHfConfig(const std::string& path);

}  // namespace qforge
