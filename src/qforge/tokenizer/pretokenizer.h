// Pre-tokenization for byte-level BPE vocabularies: splitting text into words before merges,
// with the rules llama.cpp applies for each `tokenizer.ggml.pre` name. Each rule is a pass
// that splits every current word further; text a pass does not match stays a word of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace qforge {

enum class PreTokenizer {
  kDefault,        // llama.cpp's fallback for BPE vocabularies without a known name
  kGpt2,           // 's|'t|...| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
  kLlama3,         // Llama 3: case-insensitive contractions, \p{N}{1,3}, newline handling
  kQwen2,          // Llama 3's rules with single digits
  kStarcoder,      // single digits, then GPT-2 (also SmolLM2's "smollm")
  kDeepseekCoder,  // newlines, letters, punctuation, CJK runs, single digits
};

std::optional<PreTokenizer> PreTokenizerFromName(std::string_view name);

// Word boundaries as half-open ranges of code point indices.
using WordRanges = std::vector<std::pair<size_t, size_t>>;
WordRanges PreTokenize(const std::vector<uint32_t>& cps, PreTokenizer type);

}  // namespace qforge
