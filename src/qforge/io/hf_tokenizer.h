// Hugging Face tokenizer files turned into the GGUF tokenizer metadata that llama.cpp's
// convert_hf_to_gguf.py writes, so a model quantized straight from a checkpoint tokenizes like
// one converted with the Python script.
//
// Supported: byte-level BPE tokenizer.json (tokenizer.ggml.model "gpt2") whose pre-tokenizer
// is one qforge implements (gpt-2, smollm/starcoder, llama-bpe, qwen2, deepseek-coder).
// SentencePiece-style tokenizer.json (BPE with byte_fallback, Llama 2 / Mistral) needs the
// scores of tokenizer.model, which qforge does not read, and is rejected with an error.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/io/gguf_value.h"

namespace qforge {

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

// The text of a checkpoint's tokenizer files; the optional ones are empty when absent.
struct HfTokenizerFiles {
  std::string dir;               // names the files in errors
  std::string tokenizer_json;    // tokenizer.json (required)
  std::string tokenizer_config;  // tokenizer_config.json
  std::string model_config;      // config.json, for special token ids
  std::string chat_template;     // chat_template.jinja, or chat_template.json's template
};

// Reads `dir`/tokenizer.json (required) and, when present, the other files.
Expected<HfTokenizerFiles> ReadHfTokenizerFiles(const std::string& dir);

// The GGUF tokenizer metadata. `vocab_size` is config.json's: ids without a token become
// "[PAD<id>]" tokens of type unused, as in the converter.
Expected<GgufMetadata> ParseHfTokenizer(const HfTokenizerFiles& files, int64_t vocab_size);

// ReadHfTokenizerFiles, then ParseHfTokenizer.
Expected<GgufMetadata> ConvertHfTokenizer(const std::string& dir, int64_t vocab_size);

}  // namespace qforge
