#include "qforge/tokenizer/pretokenizer.h"

#include "qforge/tokenizer/unicode.h"

namespace qforge {

namespace {

using unicode::CharClass;

// Classes of every code point, looked up once per text.
class Text {
 public:
  explicit Text(const std::vector<uint32_t>& cps) : cps_(cps), classes_(cps.size()) {
    for (size_t i = 0; i < cps.size(); ++i) classes_[i] = unicode::Classify(cps[i]);
  }
  uint32_t cp(size_t i) const { return cps_[i]; }
  const CharClass& cls(size_t i) const { return classes_[i]; }

 private:
  const std::vector<uint32_t>& cps_;
  std::vector<CharClass> classes_;
};

// A view of one word being split: positions outside [begin, end) read as "no character",
// so patterns never look across the boundaries an earlier pass drew.
struct Segment {
  const Text& text;
  size_t begin, end;
  bool in(size_t p) const { return p >= begin && p < end; }
  bool letter(size_t p) const { return in(p) && text.cls(p).letter; }
  bool number(size_t p) const { return in(p) && text.cls(p).number; }
  bool space(size_t p) const { return in(p) && text.cls(p).whitespace; }
  bool punct(size_t p) const { return in(p) && text.cls(p).punctuation; }
  // [^\s\p{L}\p{N}]: any character that is neither whitespace, letter nor number.
  bool other(size_t p) const { return in(p) && !space(p) && !letter(p) && !number(p); }
  uint32_t cp(size_t p) const { return in(p) ? text.cp(p) : 0xFFFFFFFF; }
  bool newline(size_t p) const { return cp(p) == '\r' || cp(p) == '\n'; }
};

// Collects word ends, dropping empty words.
class Emitter {
 public:
  Emitter(WordRanges& out, size_t begin) : out_(out), last_(begin) {}
  size_t Cut(size_t end) {
    const size_t len = end - last_;
    if (len > 0) out_.emplace_back(last_, end);
    last_ = end;
    return len;
  }

 private:
  WordRanges& out_;
  size_t last_;
};

// Length of a contraction ('s 't 're 've 'm 'll 'd) at p, or 0.
size_t Contraction(const Segment& s, size_t p, bool ignore_case) {
  if (s.cp(p) != '\'' || !s.in(p + 1)) return 0;
  auto lower = [&](size_t i) { return ignore_case ? unicode::ToLower(s.cp(i)) : s.cp(i); };
  const uint32_t a = lower(p + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (!s.in(p + 2)) return 0;
  const uint32_t b = lower(p + 2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// Whitespace handling shared by the GPT-2 and Llama 3 rules: \s+(?!\S) keeps the last space
// of a run for the next word; a run at the end of the word is taken whole (\s+).
bool SplitWhitespace(const Segment& s, size_t& pos, Emitter& out) {
  size_t n = 0;
  while (s.space(pos + n)) ++n;
  if (n > 1 && s.in(pos + n)) {
    pos += n - 1;
    out.Cut(pos);
    return true;
  }
  if (n > 0) {
    pos += n;
    out.Cut(pos);
    return true;
  }
  return false;
}

void SplitGpt2(const Segment& s, WordRanges& words) {
  Emitter out(words, s.begin);
  for (size_t pos = s.begin; pos < s.end;) {
    if (const size_t n = Contraction(s, pos, false)) {
      pos += out.Cut(pos + n);
      continue;
    }
    // An optional leading space joins the run that follows it.
    const size_t first = s.cp(pos) == ' ' ? pos + 1 : pos;
    if (s.letter(first)) {
      pos = first;
      while (s.letter(pos)) ++pos;
      out.Cut(pos);
      continue;
    }
    if (s.number(first)) {
      pos = first;
      while (s.number(pos)) ++pos;
      out.Cut(pos);
      continue;
    }
    if (s.other(first)) {
      pos = first;
      while (s.other(pos)) ++pos;
      out.Cut(pos);
      continue;
    }
    if (SplitWhitespace(s, pos, out)) continue;
    out.Cut(++pos);
  }
}

void SplitLlama3(const Segment& s, WordRanges& words, size_t max_digits) {
  Emitter out(words, s.begin);
  for (size_t pos = s.begin; pos < s.end;) {
    if (const size_t n = Contraction(s, pos, true)) {
      pos += out.Cut(pos + n);
      continue;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!s.newline(pos) && !s.number(pos) && (s.letter(pos) || s.letter(pos + 1))) {
      ++pos;
      while (s.letter(pos)) ++pos;
      out.Cut(pos);
      continue;
    }
    // \p{N}{1,max_digits}
    if (s.number(pos)) {
      size_t start = pos;
      while (s.number(pos)) {
        if (++pos - start >= max_digits) {
          out.Cut(pos);
          start = pos;
        }
      }
      out.Cut(pos);
      continue;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'; a lone trailing space also lands here.
    const size_t first = s.cp(pos) == ' ' ? pos + 1 : pos;
    if (s.other(first) || (first != pos && !s.in(first))) {
      pos = first;
      while (s.other(pos)) ++pos;
      while (s.newline(pos)) ++pos;
      out.Cut(pos);
      continue;
    }
    // \s*[\r\n]+: a whitespace run up to its last newline.
    size_t n = 0, last_newline = 0;
    while (s.space(pos + n)) {
      if (s.newline(pos + n)) last_newline = pos + n + 1;
      ++n;
    }
    if (last_newline > 0) {
      pos = last_newline;
      out.Cut(pos);
      continue;
    }
    if (SplitWhitespace(s, pos, out)) continue;
    out.Cut(++pos);
  }
}

// A generic "find every match" pass: `match(p)` returns the length of the match starting at
// p (0 for none); unmatched stretches in between stay words of their own.
template <class MatchFn>
void SplitByMatches(const Segment& s, WordRanges& words, MatchFn match) {
  Emitter out(words, s.begin);
  for (size_t pos = s.begin; pos < s.end;) {
    const size_t n = match(pos);
    if (n == 0) {
      ++pos;
      continue;
    }
    out.Cut(pos);
    pos += n;
    out.Cut(pos);
  }
  out.Cut(s.end);
}

template <class PassFn>
WordRanges ApplyPass(const Text& text, const WordRanges& in, PassFn pass) {
  WordRanges out;
  out.reserve(in.size() * 2);
  for (const auto& [b, e] : in) pass(Segment{text, b, e}, out);
  return out;
}

size_t RunWhile(const Segment& s, size_t p, bool (Segment::*pred)(size_t) const) {
  size_t q = p;
  while ((s.*pred)(q)) ++q;
  return q - p;
}

bool IsCjk(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x0800 && c <= 0x4E00) || (c >= 0xAC00 && c <= 0xD7FF);
}

}  // namespace

std::optional<PreTokenizer> PreTokenizerFromName(std::string_view name) {
  if (name == "default") return PreTokenizer::kDefault;
  if (name == "gpt-2" || name == "gpt2" || name == "phi-2") return PreTokenizer::kGpt2;
  if (name == "llama-bpe" || name == "llama3" || name == "llama-v3") return PreTokenizer::kLlama3;
  if (name == "qwen2") return PreTokenizer::kQwen2;
  if (name == "starcoder" || name == "smollm" || name == "refact") return PreTokenizer::kStarcoder;
  if (name == "deepseek-coder") return PreTokenizer::kDeepseekCoder;
  return std::nullopt;
}

WordRanges PreTokenize(const std::vector<uint32_t>& cps, PreTokenizer type) {
  const Text text(cps);
  WordRanges words;
  if (!cps.empty()) words.emplace_back(0, cps.size());
  auto single_digits = [](const Segment& s, WordRanges& out) {
    SplitByMatches(s, out, [&](size_t p) -> size_t { return s.number(p) ? 1 : 0; });
  };
  switch (type) {
    case PreTokenizer::kGpt2:
      return ApplyPass(text, words, SplitGpt2);
    case PreTokenizer::kLlama3:
      return ApplyPass(text, words, [](const Segment& s, WordRanges& out) { SplitLlama3(s, out, 3); });
    case PreTokenizer::kQwen2:
      return ApplyPass(text, words, [](const Segment& s, WordRanges& out) { SplitLlama3(s, out, 1); });
    case PreTokenizer::kStarcoder:
      words = ApplyPass(text, words, single_digits);
      return ApplyPass(text, words, SplitGpt2);
    case PreTokenizer::kDeepseekCoder:
      words = ApplyPass(text, words, [](const Segment& s, WordRanges& out) {
        SplitByMatches(s, out, [&](size_t p) -> size_t { return s.newline(p) ? 1 : 0; });
      });
      // \s?\p{L}+ and \s?\p{P}+
      for (auto cls : {&Segment::letter, &Segment::punct}) {
        words = ApplyPass(text, words, [cls](const Segment& s, WordRanges& out) {
          SplitByMatches(s, out, [&](size_t p) -> size_t {
            if (s.space(p) && (s.*cls)(p + 1)) return 1 + RunWhile(s, p + 1, cls);
            return RunWhile(s, p, cls);
          });
        });
      }
      words = ApplyPass(text, words, [](const Segment& s, WordRanges& out) {
        SplitByMatches(s, out, [&](size_t p) -> size_t {
          size_t q = p;
          while (s.in(q) && IsCjk(s.cp(q))) ++q;
          return q - p;
        });
      });
      return ApplyPass(text, words, single_digits);
    case PreTokenizer::kDefault:
      // [\p{P}$+<=>^~|]+, then GPT-2, then \p{N}+, then [0-9]{3}
      words = ApplyPass(text, words, [](const Segment& s, WordRanges& out) {
        SplitByMatches(s, out, [&](size_t p) -> size_t {
          size_t q = p;
          while (s.in(q)) {
            const uint32_t c = s.cp(q);
            const bool extra = c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' ||
                               c == '~' || c == '|';
            if (!s.punct(q) && !extra) break;
            ++q;
          }
          return q - p;
        });
      });
      words = ApplyPass(text, words, SplitGpt2);
      words = ApplyPass(text, words, [](const Segment& s, WordRanges& out) {
        SplitByMatches(s, out, [&](size_t p) -> size_t { return RunWhile(s, p, &Segment::number); });
      });
      return ApplyPass(text, words, [](const Segment& s, WordRanges& out) {
        SplitByMatches(s, out, [&](size_t p) -> size_t {
          for (size_t k = 0; k < 3; ++k) {
            if (!s.in(p + k) || s.cp(p + k) < '0' || s.cp(p + k) > '9') return 0;
          }
          return 3;
        });
      });
  }
  return words;
}

}  // namespace qforge
