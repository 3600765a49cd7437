// libFuzzer target for the tokenizer.json converter: any input either converts into a
// vocabulary of exactly vocab_size tokens with known token types, or gives a one-line Error
// that starts with the name of one of the files.
#include <cstddef>
#include <cstdint>
#include <string>

#include "qforge/io/hf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr int64_t kVocab = 512;
  qforge::HfTokenizerFiles files;
  files.dir = "fuzz";
  files.tokenizer_json.assign(reinterpret_cast<const char*>(data), size);
  files.tokenizer_config = R"({"bos_token": "<s>", "eos_token": {"content": "</s>"}})";
  auto md = qforge::ParseHfTokenizer(files, kVocab);
  if (!md.ok()) {
    const std::string& message = md.error().message;
    if (message.rfind("fuzz/", 0) != 0 || message.find('\n') != std::string::npos) __builtin_trap();
    return 0;
  }
  for (const auto& [key, value] : *md) {
    const auto* array = std::get_if<qforge::GgufArray>(&value);
    if (key == "tokenizer.ggml.tokens" && (array == nullptr || array->size() != kVocab))
      __builtin_trap();
    if (key == "tokenizer.ggml.token_type") {
      const auto* types = array ? std::get_if<5>(&array->items) : nullptr;
      if (types == nullptr || types->size() != kVocab) __builtin_trap();
      for (int32_t t : *types) {
        if (t != 1 && t != 3 && t != 4 && t != 5) __builtin_trap();
      }
    }
    if (key.ends_with("_token_id")) {
      const auto id = qforge::AsInteger(value);
      if (!id || *id < 0 || *id >= kVocab) __builtin_trap();
    }
  }
  return 0;
}
