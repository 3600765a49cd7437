// libFuzzer target for the config.json parser: any input either parses into a consistent
// configuration or gives a one-line Error that starts with the input's name.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "qforge/io/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kName = "config.json";  // constant, not mutable state
  auto config =
      qforge::ParseHfConfig(std::string_view(reinterpret_cast<const char*>(data), size), kName);
  if (!config.ok()) {
    const std::string& message = config.error().message;
    if (message.rfind(kName + ": ", 0) != 0 || message.find('\n') != std::string::npos) {
      __builtin_trap();
    }
    return 0;
  }
  const qforge::HfConfig& c = *config;
  if (c.hidden_size <= 0 || c.intermediate_size <= 0 || c.num_hidden_layers <= 0 ||
      c.vocab_size <= 0 || c.head_dim <= 0 || c.max_position_embeddings <= 0 ||
      c.num_attention_heads <= 0 || c.num_key_value_heads <= 0 ||
      c.num_attention_heads % c.num_key_value_heads != 0 || c.n_gqa() < 1 ||
      !(c.rms_norm_eps > 0) || !(c.rope_theta > 0)) {
    __builtin_trap();
  }
  if (c.rope_scaling && !(c.rope_scaling->factor > 0)) __builtin_trap();
  return 0;
}
