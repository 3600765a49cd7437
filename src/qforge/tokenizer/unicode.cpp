#include "qforge/tokenizer/unicode.h"

#include <unicode/uchar.h>

namespace qforge::unicode {

int Utf8Length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

std::vector<uint32_t> DecodeUtf8(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const int len = Utf8Length(lead);
    bool valid = len > 1 || lead < 0x80;
    uint32_t cp = len == 1 ? lead : lead & (0x7F >> len);
    if (len > 1) {
      if (i + len > s.size()) valid = false;
      for (int k = 1; valid && k < len; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0) != 0x80) valid = false;
        cp = (cp << 6) | (c & 0x3F);
      }
    }
    if (!valid) {
      out.push_back(0xFFFD);  // one replacement per invalid byte, then resynchronise
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string EncodeUtf8(const uint32_t* cps, size_t n) {
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) AppendUtf8(cps[i], out);
  return out;
}

CharClass Classify(uint32_t cp) {
  CharClass c;
  const auto mask = U_GET_GC_MASK(static_cast<UChar32>(cp));
  c.letter = (mask & U_GC_L_MASK) != 0;
  c.number = (mask & U_GC_N_MASK) != 0;
  c.punctuation = (mask & U_GC_P_MASK) != 0;
  c.whitespace = u_isUWhiteSpace(static_cast<UChar32>(cp)) != 0;
  return c;
}

uint32_t ToLower(uint32_t cp) { return static_cast<uint32_t>(u_tolower(static_cast<UChar32>(cp))); }

}  // namespace qforge::unicode
