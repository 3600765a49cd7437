#include "qforge/tokenizer/tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <queue>

#include "qforge/tokenizer/unicode.h"

namespace qforge {

namespace {

constexpr const char* kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

// GPT-2's reversible mapping of bytes to printable characters: printable Latin-1 bytes map
// to themselves, the rest to U+0100 onwards in byte order.
struct ByteMapping {
  std::string to_char[256];
  std::unordered_map<uint32_t, uint8_t> to_byte;
  ByteMapping() {
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : next++;
      unicode::AppendUtf8(cp, to_char[b]);
      to_byte[cp] = static_cast<uint8_t>(b);
    }
  }
};

const ByteMapping& Bytes() {
  static const ByteMapping mapping;  // immutable after thread-safe initialisation
  return mapping;
}

}  // namespace

Expected<Tokenizer> Tokenizer::FromGguf(const GgufFile& f) {
  Tokenizer t;
  const std::string& path = f.path();
  const auto model = f.GetString("tokenizer.ggml.model");
  if (!model) return MakeError(path + ": missing metadata 'tokenizer.ggml.model'");
  if (*model == "llama") {
    t.model_ = Model::kSentencePiece;
  } else if (*model == "gpt2") {
    t.model_ = Model::kBytePairs;
  } else {
    return MakeError(fmt::format("{}: unsupported tokenizer model '{}' (supported: llama, gpt2)", path, *model));
  }
  const GgufArray* tokens = f.GetArray("tokenizer.ggml.tokens");
  const auto* token_strings = tokens ? std::get_if<8>(&tokens->items) : nullptr;
  if (token_strings == nullptr || token_strings->empty()) {
    return MakeError(path + ": 'tokenizer.ggml.tokens' is missing or not an array of strings");
  }
  t.tokens_ = *token_strings;
  const size_t n = t.tokens_.size();
  t.scores_.assign(n, 0.0f);
  if (const GgufArray* scores = f.GetArray("tokenizer.ggml.scores")) {
    const auto* v = std::get_if<6>(&scores->items);
    if (v == nullptr || v->size() != n) {
      return MakeError(fmt::format("{}: 'tokenizer.ggml.scores' must be {} f32 values", path, n));
    }
    t.scores_ = *v;
  }
  t.types_.assign(n, TokenType::kNormal);
  if (const GgufArray* types = f.GetArray("tokenizer.ggml.token_type")) {
    const auto* v = std::get_if<5>(&types->items);
    if (v == nullptr || v->size() != n) {
      return MakeError(fmt::format("{}: 'tokenizer.ggml.token_type' must be {} i32 values", path, n));
    }
    for (size_t i = 0; i < n; ++i) t.types_[i] = static_cast<TokenType>((*v)[i]);
  }
  for (size_t i = 0; i < n; ++i) t.index_.emplace(t.tokens_[i], static_cast<int32_t>(i));

  auto token_id = [&](const char* key, int32_t fallback) -> Expected<int32_t> {
    const auto v = f.GetInt(key);
    if (!v) return fallback;
    if (*v < 0 || static_cast<size_t>(*v) >= n) {
      return MakeError(fmt::format("{}: '{}' = {} is outside the vocabulary of {}", path, key, *v, n));
    }
    return static_cast<int32_t>(*v);
  };
  for (auto [key, field] : {std::pair{"tokenizer.ggml.bos_token_id", &t.bos_},
                            std::pair{"tokenizer.ggml.eos_token_id", &t.eos_},
                            std::pair{"tokenizer.ggml.unknown_token_id", &t.unk_}}) {
    auto id = token_id(key, -1);
    if (!id) return id.error();
    *field = *id;
  }

  if (t.model_ == Model::kSentencePiece) {
    t.add_bos_ = true;
    t.add_space_prefix_ = true;
  } else {
    const std::string pre = f.GetString("tokenizer.ggml.pre").value_or("default");
    const auto p = PreTokenizerFromName(pre);
    if (!p) return MakeError(fmt::format("{}: unsupported pre-tokenizer '{}'", path, pre));
    t.pre_ = *p;
    t.ignore_merges_ = t.pre_ == PreTokenizer::kLlama3;
    t.add_bos_ = t.pre_ == PreTokenizer::kLlama3;
    const GgufArray* merges = f.GetArray("tokenizer.ggml.merges");
    const auto* m = merges ? std::get_if<8>(&merges->items) : nullptr;
    if (m == nullptr) return MakeError(path + ": 'tokenizer.ggml.merges' is missing or not strings");
    t.merge_rank_.reserve(m->size());
    for (size_t i = 0; i < m->size(); ++i) t.merge_rank_.emplace((*m)[i], static_cast<int32_t>(i));
  }
  t.add_bos_ = f.GetBool("tokenizer.ggml.add_bos_token").value_or(t.add_bos_);
  t.add_eos_ = f.GetBool("tokenizer.ggml.add_eos_token").value_or(false);
  t.add_space_prefix_ = f.GetBool("tokenizer.ggml.add_space_prefix").value_or(t.add_space_prefix_);

  // Byte-fallback tokens "<0xNN>" (SentencePiece vocabularies).
  for (int b = 0; b < 256; ++b) {
    const auto it = t.index_.find(fmt::format("<0x{:02X}>", b));
    t.byte_tokens_[b] = it == t.index_.end() ? -1 : it->second;
  }
  // Tokens recognised inside raw text, longest first.
  for (size_t i = 0; i < n; ++i) {
    const TokenType type = t.types_[i];
    if ((type == TokenType::kControl || type == TokenType::kUserDefined || type == TokenType::kUnknown) &&
        !t.tokens_[i].empty()) {
      t.special_by_length_.push_back(static_cast<int32_t>(i));
    }
  }
  std::stable_sort(t.special_by_length_.begin(), t.special_by_length_.end(), [&](int32_t a, int32_t b) {
    return t.tokens_[a].size() > t.tokens_[b].size();
  });
  if (t.eos_ >= 0) t.end_of_generation_.push_back(t.eos_);
  if (auto eot = token_id("tokenizer.ggml.eot_token_id", -1); eot && *eot >= 0) t.end_of_generation_.push_back(*eot);
  for (const char* marker : {"<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|endoftext|>", "<|end|>"}) {
    if (auto id = t.FindToken(marker)) t.end_of_generation_.push_back(*id);
  }
  return t;
}

std::optional<int32_t> Tokenizer::FindToken(std::string_view text) const {
  const auto it = index_.find(std::string(text));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

bool Tokenizer::IsEndOfGeneration(int32_t id) const {
  return std::find(end_of_generation_.begin(), end_of_generation_.end(), id) != end_of_generation_.end();
}

std::vector<Tokenizer::Fragment> Tokenizer::SplitSpecial(std::string_view text, bool parse_special) const {
  std::vector<Fragment> fragments;
  if (!text.empty()) fragments.push_back({text, -1});
  for (int32_t id : special_by_length_) {
    const TokenType type = types_[id];
    if (!parse_special && type != TokenType::kUserDefined) continue;
    const std::string& pattern = tokens_[id];
    std::vector<Fragment> next;
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      size_t start = 0;
      for (size_t at = f.text.find(pattern); at != std::string_view::npos; at = f.text.find(pattern, start)) {
        if (at > start) next.push_back({f.text.substr(start, at - start), -1});
        next.push_back({{}, id});
        start = at + pattern.size();
      }
      if (start < f.text.size()) next.push_back({f.text.substr(start), -1});
    }
    fragments = std::move(next);
  }
  return fragments;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_bos, bool parse_special) const {
  std::vector<int32_t> out;
  if (add_bos && bos_ >= 0) out.push_back(bos_);
  bool after_special = true;  // SentencePiece adds its space prefix at the start and after specials
  for (const Fragment& f : SplitSpecial(text, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
      continue;
    }
    if (model_ == Model::kSentencePiece) {
      std::string s = (add_space_prefix_ && after_special) ? " " : "";
      s.append(f.text);
      EncodeSentencePiece(s, out);
    } else {
      EncodeBytePairs(f.text, out);
    }
    after_special = false;
  }
  if (add_bos && add_eos_ && eos_ >= 0) out.push_back(eos_);
  return out;
}

void Tokenizer::ByteFallback(std::string_view text, std::vector<int32_t>& out) const {
  for (unsigned char b : text) {
    if (byte_tokens_[b] >= 0) out.push_back(byte_tokens_[b]);
    else if (unk_ >= 0) out.push_back(unk_);
  }
}

void Tokenizer::EncodeSentencePiece(std::string_view raw, std::vector<int32_t>& out) const {
  // Spaces become U+2581; symbols start as single UTF-8 characters and the adjacent pair whose
  // concatenation is the highest-scoring token is merged first (leftmost on ties).
  std::string text;
  text.reserve(raw.size() * 3);
  for (char c : raw) {
    if (c == ' ') text += kSpaceMarker;
    else text += c;
  }
  struct Symbol {
    size_t start, len;
    int prev, next;
  };
  std::vector<Symbol> symbols;
  for (size_t i = 0; i < text.size();) {
    const size_t len = std::min<size_t>(unicode::Utf8Length(static_cast<unsigned char>(text[i])), text.size() - i);
    symbols.push_back({i, len, static_cast<int>(symbols.size()) - 1, static_cast<int>(symbols.size()) + 1});
    i += len;
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;
  struct Bigram {
    int left, right;
    float score;
    size_t len;
  };
  auto worse = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  auto try_pair = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const std::string_view piece(text.data() + symbols[left].start, symbols[left].len + symbols[right].len);
    const auto it = index_.find(std::string(piece));
    if (it == index_.end()) return;
    queue.push({left, right, scores_[it->second], piece.size()});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_pair(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& left = symbols[b.left];
    Symbol& right = symbols[b.right];
    // Skip pairs made stale by an earlier merge.
    if (left.len == 0 || right.len == 0 || left.len + right.len != b.len) continue;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = b.left;
    try_pair(left.prev, b.left);
    try_pair(b.left, left.next);
  }
  // Every merged symbol is a token (pairs merge only into tokens); characters that are not
  // tokens fall back to byte tokens.
  for (int i = 0; i >= 0; i = symbols[i].next) {
    const std::string_view piece(text.data() + symbols[i].start, symbols[i].len);
    const auto it = index_.find(std::string(piece));
    if (it != index_.end()) out.push_back(it->second);
    else ByteFallback(piece, out);
  }
}

void Tokenizer::EncodeBytePairs(std::string_view text, std::vector<int32_t>& out) const {
  const std::vector<uint32_t> cps = unicode::DecodeUtf8(text);
  const ByteMapping& bytes = Bytes();
  for (const auto& [b, e] : PreTokenize(cps, pre_)) {
    // The word's UTF-8 bytes, each written as its GPT-2 character.
    std::string encoded;
    for (unsigned char c : unicode::EncodeUtf8(cps.data() + b, e - b)) encoded += bytes.to_char[c];
    EncodeBpeWord(encoded, out);
  }
}

void Tokenizer::EncodeBpeWord(const std::string& word, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    if (const auto it = index_.find(word); it != index_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  struct Symbol {
    size_t start, len;
    int prev, next;
  };
  std::vector<Symbol> symbols;
  for (size_t i = 0; i < word.size();) {
    const size_t len = std::min<size_t>(unicode::Utf8Length(static_cast<unsigned char>(word[i])), word.size() - i);
    symbols.push_back({i, len, static_cast<int>(symbols.size()) - 1, static_cast<int>(symbols.size()) + 1});
    i += len;
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;
  struct Bigram {
    int left, right;
    int32_t rank;
    size_t len;
  };
  auto worse = [](const Bigram& a, const Bigram& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  std::string key;
  auto try_pair = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    key.assign(word, symbols[left].start, symbols[left].len);
    key += ' ';
    key.append(word, symbols[right].start, symbols[right].len);
    const auto it = merge_rank_.find(key);
    if (it == merge_rank_.end()) return;
    queue.push({left, right, it->second, symbols[left].len + symbols[right].len});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_pair(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& left = symbols[b.left];
    Symbol& right = symbols[b.right];
    if (left.len == 0 || right.len == 0 || left.len + right.len != b.len) continue;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = b.left;
    try_pair(left.prev, b.left);
    try_pair(b.left, left.next);
  }
  for (int i = 0; i >= 0; i = symbols[i].next) {
    const std::string piece = word.substr(symbols[i].start, symbols[i].len);
    if (const auto it = index_.find(piece); it != index_.end()) {
      out.push_back(it->second);
      continue;
    }
    // Not a token: llama.cpp looks up each byte of the piece on its own.
    for (char c : piece) {
      if (const auto it = index_.find(std::string(1, c)); it != index_.end()) out.push_back(it->second);
    }
  }
}

std::string Tokenizer::TokenToPiece(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) return "";
  const std::string& text = tokens_[id];
  const TokenType type = types_[id];
  if (type == TokenType::kControl || type == TokenType::kUnknown) return text;
  if (model_ == Model::kSentencePiece) {
    if (type == TokenType::kByte && text.size() == 6 && text.rfind("<0x", 0) == 0) {
      return std::string(1, static_cast<char>(std::stoi(text.substr(3, 2), nullptr, 16)));
    }
    std::string out;
    for (size_t i = 0; i < text.size();) {
      if (text.compare(i, 3, kSpaceMarker) == 0) {
        out += ' ';
        i += 3;
      } else {
        out += text[i++];
      }
    }
    return out;
  }
  if (type == TokenType::kUserDefined) return text;
  // Byte-level BPE: map each character back to its byte.
  std::string out;
  const ByteMapping& bytes = Bytes();
  for (uint32_t cp : unicode::DecodeUtf8(text)) {
    const auto it = bytes.to_byte.find(cp);
    if (it != bytes.to_byte.end()) out += static_cast<char>(it->second);
    else unicode::AppendUtf8(cp, out);
  }
  return out;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) out += TokenToPiece(id);
  return out;
}

}  // namespace qforge
