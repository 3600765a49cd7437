// The generated long-context recall suite: a fact (a pass key, or where a person lives) hidden at
// a chosen relative depth of a window of filler text, then a question that the model completes.
// Everything random comes from std::mt19937_64 (whose output the C++ standard fixes) through
// our own mapping to a range, so the items are identical with every standard library.
#include <cmath>
#include <random>

#include "qforge/core/sha256.h"
#include "qforge/eval/suite_adapters.h"
#include "qforge/io/mapped_file.h"

namespace qforge::suite_internal {

namespace {

using nlohmann::json;

constexpr int kCharsPerToken = 4;  // rough size of an English token, for window lengths
constexpr int kMaxLength = 1 << 20;

// Names and cities that do not occur in the default filler (Frankenstein), so the answer can
// only come from the inserted fact.
constexpr const char* kNames[] = {"Maria",  "Kenji", "Amara",  "Diego", "Priya", "Lars",
                                  "Fatima", "Tomas", "Ingrid", "Kofi",  "Mei",   "Rafael",
                                  "Olga",   "Samir", "Nora",   "Pedro"};
constexpr const char* kCities[] = {"Lisbon",   "Oslo",    "Nairobi", "Lima",     "Hanoi", "Denver",
                                   "Osaka",    "Seville", "Krakow",  "Montreal", "Cairo", "Sydney",
                                   "Helsinki", "Bogota",  "Manila",  "Chicago"};

// Uniform in [0, n): the high 64 bits of a 64x64-bit product (no modulo bias to speak of,
// and no dependence on the library's distribution classes).
uint64_t Uniform(std::mt19937_64& rng, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
}

bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

// The filler with every run of whitespace turned into one space.
std::string CollapseWhitespace(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (IsSpace(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

struct Fact {
  std::string kind;      // "passkey" or "namecity", used in item ids
  std::string sentence;  // inserted into the filler
  std::string question;  // ends where the answer starts
  std::string answer;    // what the check looks for
};

Fact MakeFact(const std::string& kind, std::mt19937_64& rng) {
  Fact f;
  if (kind == "pass_key") {
    const std::string key = std::to_string(10000 + Uniform(rng, 90000));
    f.kind = "passkey";
    f.sentence = "The pass key is " + key + ". Remember it. " + key + " is the pass key.";
    f.question = "What is the pass key? The pass key is";
    f.answer = key;
  } else {
    const std::string name = kNames[Uniform(rng, std::size(kNames))];
    const std::string city = kCities[Uniform(rng, std::size(kCities))];
    f.kind = "namecity";
    f.sentence = "Remember this: " + name + " lives in " + city + ".";
    f.question = "Where does " + name + " live? " + name + " lives in";
    f.answer = city;
  }
  return f;
}

}  // namespace

Expected<AdapterResult> LongContextItems(const AdapterRequest& r) {
  const std::string where = r.suite_path + ": source";
  QF_RETURN_IF_ERROR(
      OnlyKeys(r.source, {"adapter", "filler", "lengths", "depths", "seed", "facts"}, where));
  const auto& src = r.source;
  if (!src.contains("filler") || !src["filler"].is_string())
    return MakeError(where + " needs 'filler' (a path)");
  std::vector<int> lengths;
  std::vector<double> depths;
  std::vector<std::string> facts = {"pass_key", "name_city"};
  if (!src.contains("lengths") || !src["lengths"].is_array() || src["lengths"].empty()) {
    return MakeError(where + " needs 'lengths' (approximate token counts)");
  }
  for (const auto& v : src["lengths"]) {
    if (!v.is_number_integer() || v.get<int64_t>() < 16 || v.get<int64_t>() > kMaxLength) {
      return MakeError(where + ": each length must be an integer in [16, " +
                       std::to_string(kMaxLength) + "]");
    }
    lengths.push_back(v.get<int>());
  }
  if (!src.contains("depths") || !src["depths"].is_array() || src["depths"].empty()) {
    return MakeError(where + " needs 'depths' (relative positions in [0, 1])");
  }
  for (const auto& v : src["depths"]) {
    if (!v.is_number() || v.get<double>() < 0.0 || v.get<double>() > 1.0) {
      return MakeError(where + ": each depth must be a number in [0, 1]");
    }
    depths.push_back(v.get<double>());
  }
  if (!src.contains("seed") || !src["seed"].is_number_unsigned()) {
    return MakeError(where + " needs 'seed' (a non-negative integer)");
  }
  const uint64_t seed = src["seed"].get<uint64_t>();
  if (src.contains("facts")) {
    facts.clear();
    if (!src["facts"].is_array()) return MakeError(where + ": 'facts' must be an array");
    for (const auto& v : src["facts"]) {
      if (v != "pass_key" && v != "name_city") {
        return MakeError(where + ": each fact must be \"pass_key\" or \"name_city\"");
      }
      facts.push_back(v.get<std::string>());
    }
    if (facts.empty()) return MakeError(where + ": 'facts' must not be empty");
  }

  const std::string filler_path = ResolvePath(r.suite_dir, src["filler"].get<std::string>());
  auto raw = ReadTextFile(filler_path);
  if (!raw) return MakeError(where + " 'filler': " + raw.error().message);
  const std::string filler = CollapseWhitespace(*raw);

  AdapterResult out;
  out.source_sha256 = Sha256Hex(*raw);
  std::mt19937_64 rng(seed);
  for (int length : lengths) {
    const size_t window_chars = static_cast<size_t>(length) * kCharsPerToken;
    if (filler.size() < window_chars + 2) {
      return MakeError(filler_path + ": filler text too short for a " + std::to_string(length) +
                       "-token window");
    }
    for (double depth : depths) {
      if (r.limit >= 0 && static_cast<int>(out.items.size()) >= r.limit) return out;
      // A window of whole words starting at a random point of the filler.
      size_t start = Uniform(rng, filler.size() - window_chars);
      if (start > 0 && filler[start - 1] != ' ') start = filler.find(' ', start) + 1;
      std::string window = filler.substr(start, window_chars);
      if (start + window_chars < filler.size() && filler[start + window_chars] != ' ') {
        const size_t last_space = window.rfind(' ');
        if (last_space != std::string::npos) window.erase(last_space);  // drop the cut word
      }
      // Insert at the word boundary nearest depth * window size.
      const size_t target = static_cast<size_t>(std::llround(depth * window.size()));
      size_t at = 0;
      if (target >= window.size()) {
        at = window.size();
      } else if (target > 0) {
        const size_t before = window.rfind(' ', target);
        const size_t after = window.find(' ', target);
        at = before == std::string::npos  ? after
             : after == std::string::npos ? before
                                          : (target - before <= after - target ? before : after);
        if (at == std::string::npos) at = 0;
      }
      const Fact fact = MakeFact(facts[out.items.size() % facts.size()], rng);
      std::string left = window.substr(0, at), right = window.substr(at);
      if (!right.empty() && right.front() == ' ') right.erase(0, 1);
      std::string haystack = left;
      if (!haystack.empty()) haystack += ' ';
      haystack += fact.sentence;
      if (!right.empty()) haystack += ' ' + right;

      SuiteItem item;
      item.id = "len" + std::to_string(length) + "-depth" +
                std::to_string(std::lround(depth * 100)) + "-" + fact.kind;
      item.prompt = "Read the text below and remember the fact hidden in it.\n\n" + haystack +
                    "\n\n" + fact.question;
      item.reference = " " + fact.answer + ".";
      item.max_tokens = 12;
      item.stop = {"\n"};
      item.check.kind = AnswerCheck::Kind::kContains;
      item.check.expected = fact.answer;
      out.items.push_back(std::move(item));
    }
  }
  return out;
}

}  // namespace qforge::suite_internal
