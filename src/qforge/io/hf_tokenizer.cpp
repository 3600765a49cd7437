#include "qforge/io/hf_tokenizer.h"

#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "qforge/io/mapped_file.h"
#include "qforge/tokenizer/tokenizer.h"

namespace qforge {

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

// Far above any real vocabulary (about 262k at most today), far below a memory blow-up.
constexpr int64_t kMaxVocab = int64_t{1} << 24;

// Real tokenizer files nest about 6 levels; a limit keeps hostile nesting away from the
// recursive code below (printing, walking pre-tokenizer sequences).
constexpr int kMaxJsonDepth = 32;
struct TooDeep {};

// `text` empty means the optional file is absent: an empty object.
Expected<Json> ParseObject(const std::string& text, const std::string& name, bool required) {
  if (text.empty() && !required) return Json::object();
  auto limit_depth = [](int depth, Json::parse_event_t event, Json&) {
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth) {
      throw TooDeep{};
    }
    return true;
  };
  Json j;
  try {
    j = Json::parse(text, limit_depth, /*allow_exceptions=*/false);
  } catch (const TooDeep&) {
    return MakeError(fmt::format("{}: JSON nested more than {} levels deep", name, kMaxJsonDepth));
  }
  if (j.is_discarded()) return MakeError(name + ": invalid JSON");
  if (!j.is_object()) return MakeError(name + ": not a JSON object");
  return j;
}

// The text of a file, or "" when it does not exist.
Expected<std::string> ReadOptional(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::string();
  return ReadTextFile(path.string());
}

// One-line rendering for messages (control characters escaped, long text cut).
std::string Show(const Json& j) {
  std::string s = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 160) s = s.substr(0, 157) + "...";
  return s;
}

std::string Str(const Json& obj, const char* key) {
  if (!obj.is_object()) return {};
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// obj[key], or null when obj is not an object or lacks the key (never inserts, never throws).
const Json& At(const Json& obj, const char* key) {
  static const Json kNull;
  if (!obj.is_object()) return kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

bool Bool(const Json& obj, const char* key, bool fallback) {
  if (!obj.is_object()) return fallback;
  const auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

GgufValue StringArray(std::vector<std::string> v) {
  return GgufArray{GgufArrayStorage(std::in_place_index<8>, std::move(v))};
}
GgufValue Int32Array(std::vector<int32_t> v) {
  return GgufArray{GgufArrayStorage(std::in_place_index<5>, std::move(v))};
}

// --- Pre-tokenizer: tokenizer.json's steps, matched against the rules qforge implements.

// What ByteLevel with use_regex splits on (GPT-2's pattern).
constexpr std::string_view kGpt2Regex =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))re";
constexpr std::string_view kLlama3Regex =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr std::string_view kQwen2Regex =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// Some files hold a regex's line breaks as characters, others as the escapes \r and \n.
std::string Split(std::string_view regex) {
  std::string out = "split:";
  for (char c : regex) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Flattens a pre_tokenizer into steps: "split:<regex>" (Split, Isolated), "digits" (Digits
// with individual_digits), "bytes" (the byte-to-character mapping; with use_regex it also
// splits on GPT-2's pattern). Anything else becomes "other:<json>" and matches nothing.
void AppendSteps(const Json& p, std::vector<std::string>& steps) {
  const std::string type = Str(p, "type");
  if (type == "Sequence" && At(p, "pretokenizers").is_array()) {
    for (const Json& q : At(p, "pretokenizers")) AppendSteps(q, steps);
    return;
  }
  // Defaults are those of the tokenizers library when a field is absent.
  if (type == "ByteLevel" && !Bool(p, "add_prefix_space", true)) {
    if (Bool(p, "use_regex", true)) steps.push_back(Split(kGpt2Regex));
    steps.push_back("bytes");
    return;
  }
  if (type == "Digits" && Bool(p, "individual_digits", false)) {
    steps.push_back("digits");
    return;
  }
  if (type == "Split" && Str(p, "behavior") == "Isolated" && !Bool(p, "invert", false)) {
    const Json& regex = At(At(p, "pattern"), "Regex");
    if (regex.is_string()) {
      steps.push_back(Split(regex.get<std::string>()));
      return;
    }
  }
  steps.push_back("other:" + Show(p));
}

std::string DescribeSteps(const std::vector<std::string>& steps) {
  std::string out;
  for (const auto& s : steps) {
    if (!out.empty()) out += " + ";
    if (s.starts_with("split:")) {
      out += "Split(" + Show(Json(s.substr(6))) + ")";
    } else if (s == "digits") {
      out += "Digits(individual)";
    } else if (s == "bytes") {
      out += "ByteLevel";
    } else {
      out += s.substr(6);
    }
  }
  return out.empty() ? "none" : out;
}

// tokenizer.ggml.pre for the steps. Starcoder and SmolLM split alike; llama.cpp tells them
// apart by whether decoding cleans up spaces, which tokenizer_config.json states.
std::optional<std::string> PreTokenizerName(const std::vector<std::string>& steps,
                                            bool clean_up_spaces) {
  struct Known {
    const char* name;
    std::vector<std::string> steps;
  };
  static const std::vector<Known> known = {
      {"gpt-2", {Split(kGpt2Regex), "bytes"}},
      {"smollm", {"digits", Split(kGpt2Regex), "bytes"}},
      {"llama-bpe", {Split(kLlama3Regex), "bytes"}},
      {"qwen2", {Split(kQwen2Regex), "bytes"}},
      {"deepseek-coder",
       {Split("[\r\n]"), Split(R"(\s?\p{L}+)"), Split(R"(\s?\p{P}+)"),
        Split("[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+"), "digits", "bytes"}},
  };
  for (const auto& k : known) {
    if (k.steps != steps) continue;
    if (std::string_view(k.name) == "smollm" && clean_up_spaces) return "starcoder";
    return k.name;
  }
  return std::nullopt;
}

// llama.cpp ignores most normalizers (Qwen2's NFC, for one) and so does qforge; lowercasing
// and accent stripping, which the converter records for llama.cpp to apply, qforge's
// tokenizer lacks, so such a tokenizer is refused rather than converted wrongly.
std::optional<std::string> UnsupportedNormalizer(const Json& n) {
  const std::string type = Str(n, "type");
  if (type == "Sequence" && At(n, "normalizers").is_array()) {
    for (const Json& m : At(n, "normalizers")) {
      if (auto u = UnsupportedNormalizer(m)) return u;
    }
  }
  if (type == "Lowercase" || type == "StripAccents") return type;
  if (type == "BertNormalizer" && (Bool(n, "lowercase", true) || Bool(n, "strip_accents", false)))
    return type;
  return std::nullopt;
}

// --- Vocabulary

// The converter's guess for added tokens that are control tokens without saying so.
bool LooksSpecial(std::string_view t) {
  if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
  return (t.starts_with("<|") && t.ends_with("|>")) ||
         (t.starts_with("<\uff5c") && t.ends_with("\uff5c>")) ||
         (t.starts_with("<unused") && t.ends_with(">"));
}

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
};

Expected<Vocab> ReadVocab(const Json& tok, const std::string& file, int64_t vocab_size) {
  const Json& vocab = At(At(tok, "model"), "vocab");
  if (!vocab.is_object()) return MakeError(file + ": 'model.vocab' is missing or not an object");
  Vocab v;
  v.tokens.resize(static_cast<size_t>(vocab_size));
  v.types.assign(static_cast<size_t>(vocab_size), 0);
  auto place = [&](const Json& id, const std::string& text, TokenType type) -> Status {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab_size) {
      return MakeError(fmt::format("{}: token {} has id {}, outside config.json's vocab_size {}",
                                   file, Show(Json(text)), Show(id), vocab_size));
    }
    v.tokens[id.get<size_t>()] = text;
    v.types[id.get<size_t>()] = static_cast<int32_t>(type);
    return Status::Ok();
  };
  for (const auto& [text, id] : vocab.items())
    QF_RETURN_IF_ERROR(place(id, text, TokenType::kNormal));
  // Added tokens are matched in raw text: control tokens when special (or looking so),
  // user-defined otherwise, with SentencePiece's visible space turned back into a space.
  const Json& added = At(tok, "added_tokens");
  if (!added.is_array() && !added.is_null())
    return MakeError(file + ": 'added_tokens' is not a list");
  for (const Json& a : added) {
    if (!At(a, "content").is_string()) {
      return MakeError(fmt::format("{}: added token {} has no content", file, Show(a)));
    }
    std::string text = Str(a, "content");
    const bool control = Bool(a, "special", false) || LooksSpecial(text);
    if (!control) {
      for (size_t p; (p = text.find("\u2581")) != std::string::npos;) text.replace(p, 3, " ");
    }
    QF_RETURN_IF_ERROR(
        place(At(a, "id"), text, control ? TokenType::kControl : TokenType::kUserDefined));
  }
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.types[i] != 0) continue;
    v.tokens[i] = fmt::format("[PAD{}]", i);
    v.types[i] = static_cast<int32_t>(TokenType::kUnused);
  }
  return v;
}

// Merges as "left right"; the newer pair form may hold spaces, which become U+0120 as in
// the byte-level alphabet.
Expected<std::vector<std::string>> ReadMerges(const Json& tok, const std::string& file) {
  const Json& merges = At(At(tok, "model"), "merges");
  if (!merges.is_array()) return MakeError(file + ": 'model.merges' is missing or not a list");
  std::vector<std::string> out;
  out.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const Json& m = merges[i];
    if (m.is_string()) {
      out.push_back(m.get<std::string>());
      continue;
    }
    if (!m.is_array() || m.size() != 2 || !m[0].is_string() || !m[1].is_string()) {
      return MakeError(
          fmt::format("{}: merge #{} is {}, not \"a b\" or [\"a\", \"b\"]", file, i, Show(m)));
    }
    std::string joined;
    for (int side = 0; side < 2; ++side) {
      if (side == 1) joined += ' ';
      for (char c : m[side].get<std::string>())
        joined += c == ' ' ? std::string("\u0120") : std::string(1, c);
    }
    out.push_back(std::move(joined));
  }
  return out;
}

// --- Special tokens and flags (the converter's SpecialVocab rules, for the cases that occur)

struct SpecialKind {
  const char* hf;  // tokenizer_config.json "<hf>_token", config.json "<hf>_token_id"
  const char* gguf_key;
};
constexpr std::array<SpecialKind, 6> kSpecialKinds = {{
    {"bos", "tokenizer.ggml.bos_token_id"},
    {"eos", "tokenizer.ggml.eos_token_id"},
    {"unk", "tokenizer.ggml.unknown_token_id"},
    {"sep", "tokenizer.ggml.seperator_token_id"},  // llama.cpp's spelling
    {"pad", "tokenizer.ggml.padding_token_id"},
    {"mask", "tokenizer.ggml.mask_token_id"},
}};

// tokenizer_config.json names a special token by its text, as a string or {"content": ...}.
std::string TokenText(const Json& cfg, const std::string& kind) {
  const auto it = cfg.find(kind + "_token");
  if (it == cfg.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return Str(*it, "content");
  return {};
}

struct AddFlags {
  std::optional<bool> bos, eos;
};

// What the post-processor adds around a sequence; may also name BOS/EOS texts not yet known.
AddFlags ReadPostProcessor(const Json& tok, bool have_config, std::string& bos, std::string& eos,
                           const std::string& cls) {
  AddFlags f;
  const Json& pp = At(tok, "post_processor");
  if (!pp.is_object()) return f;
  const Json steps = At(pp, "processors").is_array() ? At(pp, "processors") : Json::array({pp});
  for (const Json& p : steps) {
    const std::string type = Str(p, "type");
    if (type == "ByteLevel") {
      if (!f.bos) f.bos = false;
      if (!f.eos) f.eos = false;
    } else if (type == "RobertaProcessing") {
      f.bos = f.eos = true;
    } else if (type == "TemplateProcessing" && At(p, "single").is_array() &&
               At(p, "single").size() > 1) {
      const Json& single = At(p, "single");
      auto special_id = [](const Json& item) { return Str(At(item, "SpecialToken"), "id"); };
      if (const std::string first = special_id(single.front()); !first.empty()) {
        if (bos.empty() && have_config) bos = first;
        f.bos = first == bos || first == cls;
      }
      if (const std::string last = special_id(single.back()); !last.empty()) {
        if (eos.empty() && have_config) eos = last;
        f.eos = last == eos;
      }
    }
  }
  return f;
}

}  // namespace

Expected<HfTokenizerFiles> ReadHfTokenizerFiles(const std::string& dir) {
  HfTokenizerFiles f;
  f.dir = dir;
  const fs::path d(dir);
  auto tokenizer = ReadTextFile((d / "tokenizer.json").string());
  if (!tokenizer) return tokenizer.error();
  f.tokenizer_json = std::move(*tokenizer);
  for (auto [name, field] : {std::pair{"tokenizer_config.json", &f.tokenizer_config},
                             std::pair{"config.json", &f.model_config}}) {
    auto text = ReadOptional(d / name);
    if (!text) return text.error();
    *field = std::move(*text);
  }
  // Newer checkpoints keep the chat template in a file of its own.
  auto jinja = ReadOptional(d / "chat_template.jinja");
  if (!jinja) return jinja.error();
  f.chat_template = std::move(*jinja);
  if (f.chat_template.empty()) {
    auto text = ReadOptional(d / "chat_template.json");
    if (!text) return text.error();
    if (!text->empty()) {
      auto j = ParseObject(*text, (d / "chat_template.json").string(), true);
      if (!j) return j.error();
      f.chat_template = Str(*j, "chat_template");
    }
  }
  return f;
}

Expected<GgufMetadata> ConvertHfTokenizer(const std::string& dir, int64_t vocab_size) {
  auto files = ReadHfTokenizerFiles(dir);
  if (!files) return files.error();
  return ParseHfTokenizer(*files, vocab_size);
}

Expected<GgufMetadata> ParseHfTokenizer(const HfTokenizerFiles& files, int64_t vocab_size) {
  const fs::path dir(files.dir);
  const std::string file = (dir / "tokenizer.json").string();
  if (vocab_size < 1 || vocab_size > kMaxVocab) {
    return MakeError(fmt::format("{}: vocab_size {} is outside [1, {}]",
                                 (dir / "config.json").string(), vocab_size, kMaxVocab));
  }
  auto tok = ParseObject(files.tokenizer_json, file, true);
  if (!tok) return tok.error();
  auto cfg = ParseObject(files.tokenizer_config, (dir / "tokenizer_config.json").string(), false);
  if (!cfg) return cfg.error();
  auto model_cfg = ParseObject(files.model_config, (dir / "config.json").string(), false);
  if (!model_cfg) return model_cfg.error();

  const Json& model = At(*tok, "model");
  if (!model.is_object()) return MakeError(file + ": 'model' is missing or not an object");
  if (Str(model, "type") != "BPE") {
    return MakeError(
        fmt::format("{}: tokenizer model {} is not supported (qforge converts byte-level BPE)",
                    file, Show(At(model, "type"))));
  }
  if (Bool(model, "byte_fallback", false)) {
    return MakeError(file +
                     ": SentencePiece-style BPE (byte_fallback) needs the token scores of "
                     "tokenizer.model, which qforge does not read; convert with llama.cpp's "
                     "convert_hf_to_gguf.py and quantize that GGUF");
  }
  if (auto n = UnsupportedNormalizer(At(*tok, "normalizer"))) {
    return MakeError(
        fmt::format("{}: normalizer {} is not supported (qforge's tokenizer does not lowercase "
                    "or strip accents)",
                    file, *n));
  }
  std::vector<std::string> steps;
  if (!At(*tok, "pre_tokenizer").is_null()) AppendSteps(At(*tok, "pre_tokenizer"), steps);
  // transformers cleaned up spaces by default before version 4.45.
  const auto pre = PreTokenizerName(steps, Bool(*cfg, "clean_up_tokenization_spaces", true));
  if (!pre) {
    return MakeError(
        fmt::format("{}: pre-tokenizer not recognised: {} (qforge implements those of gpt-2, "
                    "smollm, starcoder, llama-bpe, qwen2 and deepseek-coder)",
                    file, DescribeSteps(steps)));
  }
  auto vocab = ReadVocab(*tok, file, vocab_size);
  if (!vocab) return vocab.error();
  auto merges = ReadMerges(*tok, file);
  if (!merges) return merges.error();

  // Special token texts come from tokenizer_config.json, ids from the added tokens; config.json's
  // "<kind>_token_id" fills the kinds still unknown.
  std::array<std::string, kSpecialKinds.size()> text;
  for (size_t k = 0; k < kSpecialKinds.size(); ++k) text[k] = TokenText(*cfg, kSpecialKinds[k].hf);
  const std::string cls = TokenText(*cfg, "cls");
  if (text[0].empty()) text[0] = cls;
  if (text[1].empty()) text[1] = TokenText(*cfg, "sep");
  AddFlags add = ReadPostProcessor(*tok, !cfg->empty(), text[0], text[1], cls);
  if (!add.bos && At(*cfg, "add_bos_token").is_boolean())
    add.bos = Bool(*cfg, "add_bos_token", false);
  if (!add.eos && At(*cfg, "add_eos_token").is_boolean())
    add.eos = Bool(*cfg, "add_eos_token", false);

  GgufMetadata md;
  if (At(*cfg, "add_prefix_space").is_boolean()) {
    md.emplace_back("tokenizer.ggml.add_space_prefix", Bool(*cfg, "add_prefix_space", false));
  }
  md.emplace_back("tokenizer.ggml.model", std::string("gpt2"));
  md.emplace_back("tokenizer.ggml.pre", *pre);
  md.emplace_back("tokenizer.ggml.tokens", StringArray(std::move(vocab->tokens)));
  md.emplace_back("tokenizer.ggml.token_type", Int32Array(std::move(vocab->types)));
  md.emplace_back("tokenizer.ggml.merges", StringArray(std::move(*merges)));

  const Json& added = At(*tok, "added_tokens");
  for (size_t k = 0; k < kSpecialKinds.size(); ++k) {
    std::optional<int64_t> id;
    for (const Json& a : added) {
      if (!text[k].empty() && Str(a, "content") == text[k]) {
        id = At(a, "id").get<int64_t>();
        break;
      }
    }
    const std::string id_key = std::string(kSpecialKinds[k].hf) + "_token_id";
    if (!id && At(*model_cfg, id_key.c_str()).is_number_integer()) {
      id = At(*model_cfg, id_key.c_str()).get<int64_t>();
      if (*id < 0 || *id >= vocab_size) {
        return MakeError(fmt::format("{}: {} = {} is outside the vocabulary of {}",
                                     (dir / "config.json").string(), id_key, *id, vocab_size));
      }
    }
    if (id) md.emplace_back(kSpecialKinds[k].gguf_key, static_cast<uint32_t>(*id));
  }
  if (add.bos) md.emplace_back("tokenizer.ggml.add_bos_token", *add.bos);
  if (add.eos) md.emplace_back("tokenizer.ggml.add_eos_token", *add.eos);

  // The chat template: tokenizer_config.json's (one string, or named templates), else the
  // separate files newer checkpoints use.
  const Json& tmpl = At(*cfg, "chat_template");
  if (tmpl.is_string()) {
    md.emplace_back("tokenizer.chat_template", tmpl.get<std::string>());
  } else if (tmpl.is_array()) {
    std::vector<std::string> names;
    std::optional<std::string> fallback;
    for (const Json& t : tmpl) {
      const std::string name = Str(t, "name");
      if (name.empty() || !At(t, "template").is_string()) continue;
      if (name == "default") {
        fallback = Str(t, "template");
      } else {
        names.push_back(name);
        md.emplace_back("tokenizer.chat_template." + name, Str(t, "template"));
      }
    }
    if (!names.empty()) md.emplace_back("tokenizer.chat_templates", StringArray(names));
    if (fallback) md.emplace_back("tokenizer.chat_template", *fallback);
  } else if (!files.chat_template.empty()) {
    md.emplace_back("tokenizer.chat_template", files.chat_template);
  }
  return md;
}

}  // namespace qforge
