// The Unicode facts tokenization needs: UTF-8 decoding (invalid bytes become U+FFFD, as in
// llama.cpp) and the character classes the pre-tokenizer patterns use (\p{L}, \p{N}, \p{P},
// \s), from ICU's character database.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qforge::unicode {

std::vector<uint32_t> DecodeUtf8(std::string_view text);
void AppendUtf8(uint32_t cp, std::string& out);
std::string EncodeUtf8(const uint32_t* cps, size_t n);
// Bytes in the UTF-8 sequence starting with `lead` (1 for invalid lead bytes).
int Utf8Length(unsigned char lead);

struct CharClass {
  bool letter = false;       // \p{L}
  bool number = false;       // \p{N}
  bool punctuation = false;  // \p{P}
  bool whitespace = false;   // \s (the White_Space property)
};

CharClass Classify(uint32_t cp);
uint32_t ToLower(uint32_t cp);

}  // namespace qforge::unicode
