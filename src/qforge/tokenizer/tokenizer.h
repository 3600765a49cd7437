// Tokenizers built from GGUF metadata, tokenizing exactly as llama.cpp does:
// SentencePiece-style vocabularies (tokenizer.ggml.model = "llama": score-driven merges of
// characters, U+2581 for spaces, byte fallback) and byte-level BPE ("gpt2": a pre-tokenizer
// per tokenizer.ggml.pre, then merges by rank over GPT-2's byte-to-character mapping).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/io/gguf_reader.h"
#include "qforge/tokenizer/pretokenizer.h"

namespace qforge {

enum class TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

class Tokenizer {
 public:
  enum class Model { kSentencePiece, kBytePairs };

  static Expected<Tokenizer> FromGguf(const GgufFile& file);

  // `add_bos`: prepend BOS (and append EOS when the vocabulary asks for it).
  // `parse_special`: control tokens written in the text (e.g. "<|im_start|>") become those
  // tokens; user-defined tokens are always recognised, as in llama.cpp.
  std::vector<int32_t> Encode(std::string_view text, bool add_bos, bool parse_special) const;

  // The bytes a token stands for (control tokens give their text).
  std::string TokenToPiece(int32_t id) const;
  std::string Decode(std::span<const int32_t> ids) const;

  std::optional<int32_t> FindToken(std::string_view text) const;
  size_t vocab_size() const { return tokens_.size(); }
  Model model() const { return model_; }
  int32_t bos_id() const { return bos_; }
  int32_t eos_id() const { return eos_; }
  bool add_bos_by_default() const { return add_bos_; }
  // End of generation: EOS, EOT and the end-of-turn markers of common chat formats.
  bool IsEndOfGeneration(int32_t id) const;
  TokenType token_type(int32_t id) const { return types_[static_cast<size_t>(id)]; }

 private:
  struct Fragment {
    std::string_view text;  // raw text, or empty when `token` is set
    int32_t token = -1;
  };
  std::vector<Fragment> SplitSpecial(std::string_view text, bool parse_special) const;
  void EncodeSentencePiece(std::string_view text, std::vector<int32_t>& out) const;
  void EncodeBytePairs(std::string_view text, std::vector<int32_t>& out) const;
  void EncodeBpeWord(const std::string& word, std::vector<int32_t>& out) const;
  void ByteFallback(std::string_view text, std::vector<int32_t>& out) const;

  Model model_ = Model::kSentencePiece;
  PreTokenizer pre_ = PreTokenizer::kDefault;
  std::vector<std::string> tokens_;
  std::vector<float> scores_;
  std::vector<TokenType> types_;
  std::unordered_map<std::string, int32_t> index_;
  std::unordered_map<std::string, int32_t> merge_rank_;  // "left right" -> rank
  std::vector<int32_t> special_by_length_;                // tokens matched in raw text
  std::vector<int32_t> end_of_generation_;
  int32_t bos_ = -1, eos_ = -1, unk_ = -1;
  int32_t byte_tokens_[256];
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false;
  bool ignore_merges_ = false;  // Llama 3: a word that is itself a token is not merged
};

}  // namespace qforge
