#include "qforge/io/hf_config.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "qforge/io/mapped_file.h"

namespace qforge {

namespace {

using Json = nlohmann::json;

// Hyperparameters beyond this are corrupt, and keeping them below it keeps products such as
// hidden_size * vocab_size far from overflow downstream.
constexpr int64_t kMaxDimension = std::numeric_limits<int32_t>::max();

struct ModelTypeDefaults {
  std::string_view model_type;
  int64_t max_position_embeddings;
  int64_t head_dim;  // 0: hidden_size / num_attention_heads
};

// transformers' defaults for fields a config.json may omit.
constexpr std::array<ModelTypeDefaults, 4> kSupportedTypes = {{
    {"llama", 2048, 0},
    {"mistral", 4096 * 32, 0},
    {"qwen2", 32768, 0},
    {"qwen3", 32768, 128},
}};

std::string Describe(const Json& j) {
  std::string text = j.dump(-1, ' ', true);  // ASCII only
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  const char* type = j.is_number_integer() ? "integer"
                     : j.is_number_float() ? "number"
                                           : j.type_name();
  return fmt::format("{} {}", type, text);
}

// Typed access to the fields of one JSON object; an absent field and a null one are the same.
class Fields {
 public:
  Fields(const Json& object, const std::string& file, std::string prefix = "")
      : object_(object), file_(file), prefix_(std::move(prefix)) {}

  const Json* Get(std::string_view key) const {
    const auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  Error Fail(std::string_view key, const std::string& what) const {
    return MakeError(fmt::format("{}: field '{}{}': {}", file_, prefix_, key, what));
  }

  Status Int(std::string_view key, std::optional<int64_t>& out, int64_t min = 1,
             int64_t max = kMaxDimension) const {
    const Json* j = Get(key);
    if (j == nullptr) return Status::Ok();
    if (!j->is_number_integer()) return Fail(key, "expected an integer, got " + Describe(*j));
    const bool too_big =
        j->is_number_unsigned() &&
        j->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    const int64_t v = too_big ? std::numeric_limits<int64_t>::max() : j->get<int64_t>();
    if (too_big || v < min || v > max) {
      return Fail(key, fmt::format("{} is out of range [{}, {}]", j->dump(), min, max));
    }
    out = v;
    return Status::Ok();
  }

  Status RequiredInt(std::string_view key, int64_t& out) const {
    std::optional<int64_t> v;
    QF_RETURN_IF_ERROR(Int(key, v));
    if (!v) return Fail(key, "missing (required)");
    out = *v;
    return Status::Ok();
  }

  // Any finite JSON number (integers included: "rope_theta": 100000); `positive` demands > 0.
  Status Double(std::string_view key, std::optional<double>& out, bool positive = true) const {
    const Json* j = Get(key);
    if (j == nullptr) return Status::Ok();
    if (!j->is_number()) return Fail(key, "expected a number, got " + Describe(*j));
    const double v = j->get<double>();
    if (!std::isfinite(v) || (positive && !(v > 0))) {
      return Fail(key,
                  fmt::format("{} must be a finite number{}", j->dump(), positive ? " > 0" : ""));
    }
    out = v;
    return Status::Ok();
  }

  Status Double(std::string_view key, double& out) const {
    std::optional<double> v;
    QF_RETURN_IF_ERROR(Double(key, v));
    if (v) out = *v;
    return Status::Ok();
  }

  Status Bool(std::string_view key, bool& out) const {
    const Json* j = Get(key);
    if (j == nullptr) return Status::Ok();
    if (!j->is_boolean()) return Fail(key, "expected true or false, got " + Describe(*j));
    out = j->get<bool>();
    return Status::Ok();
  }

  Status String(std::string_view key, std::string& out) const {
    const Json* j = Get(key);
    if (j == nullptr) return Status::Ok();
    if (!j->is_string()) return Fail(key, "expected a string, got " + Describe(*j));
    out = j->get<std::string>();
    return Status::Ok();
  }

  // A token id, or (when `allow_list`) a list of them.
  Status TokenIds(std::string_view key, std::vector<int64_t>& out, bool allow_list) const {
    const Json* j = Get(key);
    if (j == nullptr) return Status::Ok();
    const int64_t max = std::numeric_limits<int64_t>::max();
    auto one = [&](const Json& item) -> Status {
      if (!item.is_number_integer() || (!item.is_number_unsigned() && item.get<int64_t>() < 0) ||
          (item.is_number_unsigned() && item.get<uint64_t>() > static_cast<uint64_t>(max))) {
        return Fail(key, "expected a non-negative integer token id, got " + Describe(item));
      }
      out.push_back(item.get<int64_t>());
      return Status::Ok();
    };
    if (allow_list && j->is_array()) {
      for (const Json& item : *j) QF_RETURN_IF_ERROR(one(item));
      return Status::Ok();
    }
    return one(*j);
  }

 private:
  const Json& object_;
  const std::string& file_;
  std::string prefix_;
};

// Reads rope_theta and the RoPE scaling. Older files have top-level "rope_theta" and
// "rope_scaling"; transformers 5 writes both into "rope_parameters" (rope_type "default" when
// unscaled). The older fields win when both are present.
Status ParseRope(const Fields& fields, const std::string& file, HfConfig& config) {
  QF_RETURN_IF_ERROR(fields.Double("rope_theta", config.rope_theta));
  const Json* params = fields.Get("rope_parameters");
  if (params != nullptr && !params->is_object()) {
    return fields.Fail("rope_parameters", "expected an object, got " + Describe(*params));
  }
  if (params != nullptr && fields.Get("rope_theta") == nullptr) {
    QF_RETURN_IF_ERROR(
        Fields(*params, file, "rope_parameters.").Double("rope_theta", config.rope_theta));
  }
  std::string key = "rope_scaling";
  const Json* j = fields.Get(key);
  if (j == nullptr && params != nullptr) {
    key = "rope_parameters";
    j = params;
  }
  if (j == nullptr) return Status::Ok();
  if (!j->is_object()) return fields.Fail(key, "expected an object, got " + Describe(*j));
  const Fields rope(*j, file, key + ".");
  HfRopeScaling scaling;
  std::string_view type_key = "rope_type";
  QF_RETURN_IF_ERROR(rope.String("rope_type", scaling.type));
  if (scaling.type.empty()) {
    type_key = "type";
    QF_RETURN_IF_ERROR(rope.String("type", scaling.type));
  }
  if (scaling.type.empty()) {
    if (key == "rope_parameters") return Status::Ok();  // only rope_theta: no scaling
    return rope.Fail("rope_type", "missing (required in rope_scaling)");
  }
  if (scaling.type == "default") return Status::Ok();
  if (scaling.type != "linear" && scaling.type != "dynamic" && scaling.type != "yarn" &&
      scaling.type != "llama3") {
    return rope.Fail(type_key, fmt::format("unsupported rope scaling type {} (linear, dynamic, "
                                           "yarn and llama3 are supported)",
                                           Json(scaling.type).dump(-1, ' ', true)));
  }
  std::optional<double> factor;
  QF_RETURN_IF_ERROR(rope.Double("factor", factor));
  if (!factor) return rope.Fail("factor", "missing (required for " + scaling.type + ")");
  scaling.factor = *factor;
  QF_RETURN_IF_ERROR(
      rope.Int("original_max_position_embeddings", scaling.original_max_position_embeddings));
  if (scaling.type == "llama3") {
    QF_RETURN_IF_ERROR(rope.Double("low_freq_factor", scaling.low_freq_factor));
    QF_RETURN_IF_ERROR(rope.Double("high_freq_factor", scaling.high_freq_factor));
    if (!scaling.low_freq_factor)
      return rope.Fail("low_freq_factor", "missing (required for llama3)");
    if (!scaling.high_freq_factor)
      return rope.Fail("high_freq_factor", "missing (required for llama3)");
    if (!scaling.original_max_position_embeddings) {
      return rope.Fail("original_max_position_embeddings", "missing (required for llama3)");
    }
    if (!(*scaling.high_freq_factor > *scaling.low_freq_factor)) {
      return rope.Fail("high_freq_factor",
                       fmt::format("{} must be greater than low_freq_factor {}",
                                   *scaling.high_freq_factor, *scaling.low_freq_factor));
    }
  }
  config.rope_scaling = std::move(scaling);
  return Status::Ok();
}

}  // namespace

Expected<HfConfig> ParseHfConfig(std::string_view json_text, const std::string& name) {
  Json root;
  try {
    root = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::exception& e) {
    std::string what = e.what();
    if (what.size() > 200) what = what.substr(0, 200) + "...";  // it may quote a long token
    for (char& c : what) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    }
    return MakeError(fmt::format("{}: invalid JSON: {}", name, what));
  }
  if (!root.is_object()) return MakeError(name + ": not a JSON object");
  const Fields f(root, name);
  HfConfig c;

  QF_RETURN_IF_ERROR(f.String("model_type", c.model_type));
  if (c.model_type.empty()) return f.Fail("model_type", "missing (required)");
  const ModelTypeDefaults* defaults = nullptr;
  for (const auto& d : kSupportedTypes) {
    if (d.model_type == c.model_type) defaults = &d;
  }
  if (defaults == nullptr) {
    return f.Fail("model_type",
                  fmt::format("unsupported model type {} (llama, mistral, qwen2 and qwen3 are "
                              "supported)",
                              Json(c.model_type).dump(-1, ' ', true)));
  }

  if (const Json* archs = f.Get("architectures")) {
    if (!archs->is_array())
      return f.Fail("architectures", "expected a list of strings, got " + Describe(*archs));
    for (const Json& a : *archs) {
      if (!a.is_string())
        return f.Fail("architectures", "expected a list of strings, got an element " + Describe(a));
      c.architectures.push_back(a.get<std::string>());
    }
  }
  QF_RETURN_IF_ERROR(f.String("hidden_act", c.hidden_act));
  QF_RETURN_IF_ERROR(f.String("torch_dtype", c.torch_dtype));
  if (c.torch_dtype.empty()) QF_RETURN_IF_ERROR(f.String("dtype", c.torch_dtype));

  QF_RETURN_IF_ERROR(f.RequiredInt("hidden_size", c.hidden_size));
  QF_RETURN_IF_ERROR(f.RequiredInt("intermediate_size", c.intermediate_size));
  QF_RETURN_IF_ERROR(f.RequiredInt("num_hidden_layers", c.num_hidden_layers));
  QF_RETURN_IF_ERROR(f.RequiredInt("num_attention_heads", c.num_attention_heads));
  QF_RETURN_IF_ERROR(f.RequiredInt("vocab_size", c.vocab_size));

  std::optional<int64_t> value;
  QF_RETURN_IF_ERROR(f.Int("num_key_value_heads", value));
  c.num_key_value_heads = value.value_or(c.num_attention_heads);
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return f.Fail("num_key_value_heads",
                  fmt::format("num_attention_heads {} is not a multiple of num_key_value_heads {}",
                              c.num_attention_heads, c.num_key_value_heads));
  }
  value.reset();
  QF_RETURN_IF_ERROR(f.Int("head_dim", value));
  if (value) {
    c.head_dim = *value;
  } else if (defaults->head_dim != 0) {
    c.head_dim = defaults->head_dim;
  } else {
    if (c.hidden_size % c.num_attention_heads != 0) {
      return f.Fail("head_dim", fmt::format("absent, and hidden_size {} is not a multiple of "
                                            "num_attention_heads {}",
                                            c.hidden_size, c.num_attention_heads));
    }
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  value.reset();
  QF_RETURN_IF_ERROR(f.Int("max_position_embeddings", value));
  c.max_position_embeddings = value.value_or(defaults->max_position_embeddings);

  QF_RETURN_IF_ERROR(f.Double("rms_norm_eps", c.rms_norm_eps));
  QF_RETURN_IF_ERROR(ParseRope(f, name, c));

  if (c.model_type == "mistral") {
    QF_RETURN_IF_ERROR(f.Int("sliding_window", c.sliding_window));
  } else if (c.model_type == "qwen2" || c.model_type == "qwen3") {
    bool use_sliding_window = false;
    QF_RETURN_IF_ERROR(f.Bool("use_sliding_window", use_sliding_window));
    if (use_sliding_window) {
      QF_RETURN_IF_ERROR(f.Int("sliding_window", c.sliding_window));
      if (!c.sliding_window)
        return f.Fail("sliding_window", "missing (use_sliding_window is true)");
    }
  }

  QF_RETURN_IF_ERROR(f.Bool("tie_word_embeddings", c.tie_word_embeddings));
  QF_RETURN_IF_ERROR(f.Bool("attention_bias", c.attention_bias));
  QF_RETURN_IF_ERROR(f.Bool("mlp_bias", c.mlp_bias));
  if (c.model_type == "llama" || c.model_type == "qwen3") {
    c.qkv_bias = c.o_bias = c.attention_bias;
  } else if (c.model_type == "qwen2") {
    c.qkv_bias = true;  // Qwen2 always has q/k/v biases and no output-projection bias
  }
  if (c.model_type != "llama") c.mlp_bias = false;  // only LlamaConfig has the flag
  c.qk_norm = c.model_type == "qwen3";

  std::vector<int64_t> bos;
  QF_RETURN_IF_ERROR(f.TokenIds("bos_token_id", bos, /*allow_list=*/false));
  if (!bos.empty()) c.bos_token_id = bos[0];
  QF_RETURN_IF_ERROR(f.TokenIds("eos_token_id", c.eos_token_ids, /*allow_list=*/true));
  return c;
}

Expected<HfConfig> LoadHfConfig(const std::string& path) {
  std::error_code ec;
  const std::string file = std::filesystem::is_directory(path, ec)
                               ? (std::filesystem::path(path) / "config.json").string()
                               : path;
  auto text = ReadTextFile(file);
  if (!text) return text.error();
  return ParseHfConfig(*text, file);
}

}  // namespace qforge
