// Grading generated answers: final numbers, substrings, JSON function calls (BFCL's rules) and
// Python tests run in the sandbox. The rules are spelled out in docs/suites.md.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "qforge/eval/sandbox.h"
#include "qforge/eval/suite.h"

namespace qforge {

namespace {

using nlohmann::json;

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsAlnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// The number starting at text[i] (a digit), as written; `end` receives the index after it.
std::string NumberAt(const std::string& text, size_t i, size_t* end) {
  const size_t start = i;
  while (i < text.size() && IsDigit(text[i])) ++i;
  // Thousands separators: "1,234,567" (groups of exactly three digits after a 1-3 digit head).
  if (i - start <= 3) {
    while (i + 3 < text.size() && text[i] == ',' && IsDigit(text[i + 1]) && IsDigit(text[i + 2]) &&
           IsDigit(text[i + 3]) && (i + 4 >= text.size() || !IsDigit(text[i + 4]))) {
      i += 4;
    }
  }
  // A decimal point counts only when a digit follows ("$18." ends a sentence).
  if (i + 1 < text.size() && text[i] == '.' && IsDigit(text[i + 1])) {
    ++i;
    while (i < text.size() && IsDigit(text[i])) ++i;
  }
  const bool negative =
      start > 0 && text[start - 1] == '-' && (start < 2 || !IsAlnum(text[start - 2]));
  *end = i;
  return (negative ? "-" : "") + text.substr(start, i - start);
}

// The first (or last) number in text[from, ...).
std::string ScanNumbers(const std::string& text, size_t from, bool first) {
  std::string found;
  for (size_t i = from; i < text.size();) {
    if (!IsDigit(text[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    found = NumberAt(text, i, &end);
    if (first) return found;
    i = end;
  }
  return found;
}

std::optional<double> ParseNumber(const std::string& written) {
  std::string s;
  for (char c : written) {
    if (c != ',') s += c;
  }
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool NumbersEqual(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::max({1.0, std::fabs(a), std::fabs(b)});
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The inside of the first ``` fence (after its language tag), or the whole text when there is
// none. An unclosed fence (generation ran out of tokens) runs to the end.
std::string StripFence(const std::string& text) {
  const size_t open = text.find("```");
  if (open == std::string::npos) return text;
  size_t body = text.find('\n', open);
  if (body == std::string::npos) return "";
  ++body;
  const size_t close = text.find("```", body);
  return text.substr(body, close == std::string::npos ? std::string::npos : close - body);
}

// The first balanced {...} in `region` that parses as a JSON object (braces inside strings
// are skipped).
std::optional<json> ScanJsonObject(const std::string& region) {
  for (size_t open = region.find('{'); open != std::string::npos;
       open = region.find('{', open + 1)) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = open; i < region.size(); ++i) {
      const char c = region[i];
      if (escaped) {
        escaped = false;
      } else if (in_string) {
        escaped = c == '\\';
        in_string = c != '"';
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}' && --depth == 0) {
        json j =
            json::parse(region.substr(open, i - open + 1), nullptr, /*allow_exceptions=*/false);
        if (j.is_object()) return j;
        break;
      }
    }
  }
  return std::nullopt;
}

// The call object in a generated text: inside the first ``` fence when there is one (and it
// holds an object), else anywhere in the text.
std::optional<json> FirstJsonObject(const std::string& text) {
  if (auto in_fence = ScanJsonObject(StripFence(text))) return in_fence;
  return ScanJsonObject(text);
}

// BFCL's string comparison: case-insensitive, ignoring spaces and the punctuation ,./-_*^
std::string NormalizeCallString(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c)) ||
        std::string_view(",./-_*^").find(c) != std::string_view::npos) {
      continue;
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Whether `value` has the JSON type a BFCL parameter schema asks for ("" when it does, else
// what it should be).
std::string TypeMismatch(const json& value, const json& schema) {
  const std::string type = schema.is_object() ? schema.value("type", "any") : "any";
  bool ok = true;
  if (type == "integer")
    ok = value.is_number_integer();
  else if (type == "float" || type == "number")
    ok = value.is_number();
  else if (type == "string")
    ok = value.is_string();
  else if (type == "boolean")
    ok = value.is_boolean();
  else if (type == "array" || type == "tuple")
    ok = value.is_array();
  else if (type == "dict" || type == "object")
    ok = value.is_object();
  if (!ok) return type;
  if (value.is_array() && schema.contains("items")) {
    for (const auto& v : value) {
      if (std::string inner = TypeMismatch(v, schema["items"]); !inner.empty()) {
        return type + " of " + inner;
      }
    }
  }
  if (value.is_object() && schema.contains("properties") && schema["properties"].is_object()) {
    for (const auto& [key, v] : value.items()) {
      if (!schema["properties"].contains(key)) continue;
      if (std::string inner = TypeMismatch(v, schema["properties"][key]); !inner.empty()) {
        return type + " whose '" + key + "' is " + inner;
      }
    }
  }
  return "";
}

bool AllowsOmission(const json& accepted_values) {
  return accepted_values.is_array() && std::find(accepted_values.begin(), accepted_values.end(),
                                                 json("")) != accepted_values.end();
}

bool MatchesAny(const json& value, const json& accepted_values);

// One accepted value (numbers numerically, strings normalized, arrays elementwise; a dict's
// accepted value maps each key to its own list of accepted values).
bool Matches(const json& value, const json& accepted) {
  if (accepted.is_number()) {
    return value.is_number() && NumbersEqual(value.get<double>(), accepted.get<double>());
  }
  if (accepted.is_string()) {
    return value.is_string() && NormalizeCallString(value.get<std::string>()) ==
                                    NormalizeCallString(accepted.get<std::string>());
  }
  if (accepted.is_array()) {
    if (!value.is_array() || value.size() != accepted.size()) return false;
    for (size_t i = 0; i < value.size(); ++i) {
      if (!Matches(value[i], accepted[i])) return false;
    }
    return true;
  }
  if (accepted.is_object()) {
    if (!value.is_object()) return false;
    for (const auto& [key, v] : value.items()) {
      if (!accepted.contains(key) || !MatchesAny(v, accepted[key])) return false;
    }
    for (const auto& [key, values] : accepted.items()) {
      if (!value.contains(key) && !AllowsOmission(values)) return false;
    }
    return true;
  }
  return value == accepted;  // booleans, null
}

bool MatchesAny(const json& value, const json& accepted_values) {
  if (!accepted_values.is_array()) return Matches(value, accepted_values);
  for (const auto& a : accepted_values) {
    if (a == "") continue;  // the omission marker
    if (Matches(value, a)) return true;
  }
  return false;
}

GradeResult Fail(std::string detail) {
  return {false, std::move(detail), true};
}

GradeResult GradeJsonCall(const json& call, const std::string& generated) {
  if (!call.is_object() || !call.contains("function") || !call["function"].is_object() ||
      !call["function"].contains("name") || !call["function"]["name"].is_string() ||
      !call.contains("accepted") || !call["accepted"].is_object()) {
    return {false, "not graded: malformed json_call check", false};
  }
  const json& function = call.at("function");
  const json& accepted = call.at("accepted");
  const std::string name = function.at("name").get<std::string>();
  const json params = function.value("parameters", json::object());
  const json props = params.value("properties", json::object());
  const json required = params.value("required", json::array());

  const auto obj = FirstJsonObject(generated);
  if (!obj) return Fail("no JSON object");
  if (!obj->contains("name") || !(*obj)["name"].is_string()) return Fail("no \"name\" in the call");
  const std::string got = (*obj)["name"].get<std::string>();
  if (got != name) return Fail("wrong function '" + got + "' (expected '" + name + "')");
  json args = obj->value("arguments", json());
  if (args.is_string()) args = json::parse(args.get<std::string>(), nullptr, false);
  if (!args.is_object()) return Fail("no \"arguments\" object");

  for (const auto& r : required) {
    if (r.is_string() && !args.contains(r.get<std::string>())) {
      return Fail("missing required argument '" + r.get<std::string>() + "'");
    }
  }
  for (const auto& [arg, value] : args.items()) {
    if (!props.contains(arg)) return Fail("unknown argument '" + arg + "'");
    if (!accepted.contains(arg)) return Fail("unexpected argument '" + arg + "'");
    if (std::string want = TypeMismatch(value, props[arg]); !want.empty()) {
      return Fail("argument '" + arg + "' should be " + want + ", got " + value.dump());
    }
    if (!MatchesAny(value, accepted[arg])) {
      return Fail("argument '" + arg + "' = " + value.dump() +
                  " is not accepted (accepted: " + accepted[arg].dump() + ")");
    }
  }
  for (const auto& [arg, values] : accepted.items()) {
    if (!args.contains(arg) && !AllowsOmission(values))
      return Fail("missing argument '" + arg + "'");
  }
  return {true, "", true};
}

// The last non-empty line of the program's output (usually the exception), for the report.
std::string LastLine(const std::string& output) {
  size_t end = output.find_last_not_of(" \n\r\t");
  if (end == std::string::npos) return "";
  const size_t start = output.rfind('\n', end);
  return output.substr(start == std::string::npos ? 0 : start + 1,
                       end - (start == std::string::npos ? 0 : start + 1) + 1);
}

GradeResult GradePython(const AnswerCheck& check, const std::string& generated) {
  const std::string program = check.code_prefix + StripFence(generated) + "\n\n" + check.tests;
  const SandboxResult run = RunPythonSandboxed(program);
  switch (run.outcome) {
    case SandboxResult::Outcome::kPassed:
      return {true, "", true};
    case SandboxResult::Outcome::kFailed:
      return Fail("tests failed: " + LastLine(run.output));
    case SandboxResult::Outcome::kTimedOut:
      return Fail("timed out");
    case SandboxResult::Outcome::kCrashed:
      return Fail("crashed: " + LastLine(run.output));
    case SandboxResult::Outcome::kUnavailable:
      break;
  }
  return {false, "not graded: python3 sandbox unavailable", false};
}

}  // namespace

std::string ExtractFinalNumber(const std::string& text) {
  return ScanNumbers(text, 0, false);
}

std::string ExtractAnswerNumber(const std::string& text) {
  const size_t cue = Lower(text).rfind("answer is");
  if (cue != std::string::npos) {
    std::string n = ScanNumbers(text, cue + 9, true);
    if (!n.empty()) return n;
  }
  return ExtractFinalNumber(text);
}

GradeResult GradeAnswer(const AnswerCheck& check, const std::string& generated) {
  switch (check.kind) {
    case AnswerCheck::Kind::kNone:
      return {false, "no check", false};
    case AnswerCheck::Kind::kFinalNumber: {
      const std::string got = ExtractAnswerNumber(generated);
      if (got.empty()) return Fail("no number");
      const auto a = ParseNumber(got), b = ParseNumber(check.expected);
      if (!a || !b || !NumbersEqual(*a, *b))
        return Fail("got " + got + ", expected " + check.expected);
      return {true, "", true};
    }
    case AnswerCheck::Kind::kContains:
      if (Lower(generated).find(Lower(check.expected)) == std::string::npos) {
        return Fail("'" + check.expected + "' not found");
      }
      return {true, "", true};
    case AnswerCheck::Kind::kJsonCall:
      return GradeJsonCall(check.call, generated);
    case AnswerCheck::Kind::kPythonTests:
      return GradePython(check, generated);
  }
  return Fail("unknown check");
}

}  // namespace qforge
