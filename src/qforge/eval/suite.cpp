// Suite files: the JSONL header and inline items, strict field checking, and ResolveSuites.
// Adapters live in suite_adapters.cpp and long_context.cpp, grading in grading.cpp.
#include "qforge/eval/suite.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <string_view>

#include "qforge/core/sha256.h"
#include "qforge/eval/suite_adapters.h"
#include "qforge/io/mapped_file.h"

namespace qforge {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// "FILE:LINE" for error messages.
std::string Where(const std::string& path, int line) {
  return path + ":" + std::to_string(line);
}

Status ReadString(const json& object, const char* key, std::string* out, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) return Status::Ok();
  if (!it->is_string()) return MakeError(where + ": field '" + key + "' must be a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status ReadInt(const json& object, const char* key, int* out, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) return Status::Ok();
  if (!it->is_number_integer())
    return MakeError(where + ": field '" + key + "' must be an integer");
  const auto v = it->get<int64_t>();
  if (v < -1 || v > (1 << 30)) return MakeError(where + ": field '" + key + "' is out of range");
  *out = static_cast<int>(v);
  return Status::Ok();
}

Status ReadStrings(const json& object, const char* key, std::vector<std::string>* out,
                   const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) return Status::Ok();
  const std::string bad = where + ": field '" + key + "' must be an array of strings";
  if (!it->is_array()) return MakeError(bad);
  out->clear();
  for (const auto& v : *it) {
    if (!v.is_string()) return MakeError(bad);
    out->push_back(v.get<std::string>());
  }
  return Status::Ok();
}

Expected<AnswerCheck> ParseCheck(const json& j, const std::string& where) {
  if (!j.is_object()) return MakeError(where + ": field 'check' must be an object");
  QF_RETURN_IF_ERROR(suite_internal::OnlyKeys(
      j, {"kind", "expected", "call", "code_prefix", "tests"}, where + ": check"));
  AnswerCheck check;
  std::string kind;
  QF_RETURN_IF_ERROR(ReadString(j, "kind", &kind, where + ": check"));
  struct KindName {
    const char* name;
    AnswerCheck::Kind kind;
  };
  static constexpr KindName kKinds[] = {{"none", AnswerCheck::Kind::kNone},
                                        {"final_number", AnswerCheck::Kind::kFinalNumber},
                                        {"contains", AnswerCheck::Kind::kContains},
                                        {"json_call", AnswerCheck::Kind::kJsonCall},
                                        {"python_tests", AnswerCheck::Kind::kPythonTests}};
  const auto* found = std::find_if(std::begin(kKinds), std::end(kKinds),
                                   [&](const KindName& k) { return kind == k.name; });
  if (found == std::end(kKinds)) {
    return MakeError(where + ": check kind '" + kind +
                     "' is not one of none, final_number, contains, json_call, python_tests");
  }
  check.kind = found->kind;
  // A final_number's expected value may be written as a JSON number for convenience.
  if (auto it = j.find("expected"); it != j.end() && it->is_number()) {
    check.expected = it->dump();
  } else {
    QF_RETURN_IF_ERROR(ReadString(j, "expected", &check.expected, where + ": check"));
  }
  QF_RETURN_IF_ERROR(ReadString(j, "code_prefix", &check.code_prefix, where + ": check"));
  QF_RETURN_IF_ERROR(ReadString(j, "tests", &check.tests, where + ": check"));
  if (auto it = j.find("call"); it != j.end()) check.call = *it;
  return check;
}

}  // namespace

namespace suite_internal {

Status OnlyKeys(const json& object, const std::vector<std::string>& allowed,
                const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return MakeError(where + ": unknown field '" + key + "' (allowed: " + Join(allowed, ", ") +
                       ")");
    }
  }
  return Status::Ok();
}

std::string JsonErrorText(const std::exception& e) {
  std::string_view m = e.what();
  if (!m.empty() && m.front() == '[') {
    const size_t close = m.find("] ");
    if (close != std::string_view::npos) m.remove_prefix(close + 2);
  }
  return std::string(m);
}

std::string ResolvePath(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || dir.empty()) return path;
  return (fs::path(dir) / path).lexically_normal().string();
}

std::string Join(const std::vector<std::string>& lines, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += separator;
    out += lines[i];
  }
  return out;
}

}  // namespace suite_internal

namespace {

// Parses one item object (inline line or adapter output is validated the same way).
Expected<SuiteItem> ParseItem(const json& j, const std::string& where) {
  if (!j.is_object()) return MakeError(where + ": an item must be a JSON object");
  QF_RETURN_IF_ERROR(
      suite_internal::OnlyKeys(j,
                               {"id", "prompt", "chat", "system", "reference", "options",
                                "answer_index", "max_tokens", "stop", "check"},
                               where));
  SuiteItem item;
  QF_RETURN_IF_ERROR(ReadString(j, "id", &item.id, where));
  QF_RETURN_IF_ERROR(ReadString(j, "prompt", &item.prompt, where));
  if (auto it = j.find("chat"); it != j.end()) {
    if (!it->is_boolean()) return MakeError(where + ": field 'chat' must be true or false");
    item.chat = it->get<bool>();
  }
  QF_RETURN_IF_ERROR(ReadString(j, "system", &item.system, where));
  QF_RETURN_IF_ERROR(ReadString(j, "reference", &item.reference, where));
  QF_RETURN_IF_ERROR(ReadStrings(j, "options", &item.options, where));
  QF_RETURN_IF_ERROR(ReadInt(j, "answer_index", &item.answer_index, where));
  QF_RETURN_IF_ERROR(ReadInt(j, "max_tokens", &item.max_tokens, where));
  QF_RETURN_IF_ERROR(ReadStrings(j, "stop", &item.stop, where));
  if (auto it = j.find("check"); it != j.end()) {
    auto check = ParseCheck(*it, where);
    if (!check) return check.error();
    item.check = std::move(*check);
  }
  return item;
}

// The rules every item obeys, whether written inline or made by an adapter.
Status ValidateItem(const SuiteItem& item, const std::string& where) {
  using Kind = AnswerCheck::Kind;
  const std::string at = where + (item.id.empty() ? "" : " (item '" + item.id + "')");
  if (item.id.empty()) return MakeError(where + ": item has no 'id'");
  if (item.prompt.empty()) return MakeError(at + ": item has no 'prompt'");
  if (!item.system.empty() && !item.chat) return MakeError(at + ": 'system' needs \"chat\": true");
  if (item.max_tokens < 0) return MakeError(at + ": 'max_tokens' must be >= 0");
  if (item.options.empty() && item.answer_index != -1) {
    return MakeError(at + ": 'answer_index' without 'options'");
  }
  if (!item.options.empty() &&
      (item.answer_index < 0 || item.answer_index >= static_cast<int>(item.options.size()))) {
    return MakeError(at + ": 'answer_index' must index 'options' (0.." +
                     std::to_string(item.options.size() - 1) + ")");
  }
  if (item.reference.empty() && item.options.empty() && item.max_tokens == 0) {
    return MakeError(at + ": item measures nothing (give a reference, options or max_tokens)");
  }
  for (const auto& s : item.stop) {
    if (s.empty()) return MakeError(at + ": empty stop string");
  }
  const AnswerCheck& c = item.check;
  if (c.kind != Kind::kNone && item.max_tokens == 0) {
    return MakeError(at + ": a check grades generated text, so it needs max_tokens > 0");
  }
  switch (c.kind) {
    case Kind::kNone:
      break;
    case Kind::kFinalNumber:
      if (c.expected.empty() || ExtractFinalNumber(c.expected) != c.expected) {
        return MakeError(at + ": final_number check needs 'expected' to be a number, got '" +
                         c.expected + "'");
      }
      break;
    case Kind::kContains:
      if (c.expected.empty()) return MakeError(at + ": contains check needs 'expected'");
      break;
    case Kind::kJsonCall: {
      const auto& f = c.call.is_object() ? c.call.value("function", json()) : json();
      if (!f.is_object() || !f.contains("name") || !f["name"].is_string() ||
          !c.call.contains("accepted") || !c.call["accepted"].is_object()) {
        return MakeError(at +
                         ": json_call check needs 'call': {\"function\": {\"name\": ..., "
                         "\"parameters\": ...}, \"accepted\": {...}}");
      }
      break;
    }
    case Kind::kPythonTests:
      if (c.tests.empty()) return MakeError(at + ": python_tests check needs 'tests'");
      break;
  }
  return Status::Ok();
}

// "a, b, c": the suite names in a directory, for an error message.
std::string AvailableSuites(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".jsonl") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names.empty() ? "none" : suite_internal::Join(names, ", ");
}

}  // namespace

Expected<Suite> LoadSuite(const std::string& path, const SuiteLoadOptions& options) {
  auto bytes = ReadTextFile(path);
  if (!bytes) return bytes.error();
  const std::string& text = *bytes;

  Suite suite;
  suite.path = path;
  suite.file_sha256 = Sha256Hex(text);

  json header;
  int header_line = 0;
  int limit = -1;
  json source;
  std::vector<std::pair<int, json>> item_lines;
  int line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      return MakeError(Where(path, line_no) +
                       ": invalid JSON: " + suite_internal::JsonErrorText(e));
    }
    if (header_line == 0) {
      header = std::move(j);
      header_line = line_no;
    } else {
      item_lines.emplace_back(line_no, std::move(j));
    }
  }
  if (header_line == 0) return MakeError(path + ": empty suite file (expected a header line)");

  const std::string hwhere = Where(path, header_line);
  if (!header.is_object() || !header.contains("qforge_suite")) {
    return MakeError(hwhere + ": the first line must be a header {\"qforge_suite\": 1, ...}");
  }
  QF_RETURN_IF_ERROR(suite_internal::OnlyKeys(
      header, {"qforge_suite", "name", "capability", "version", "description", "limit", "source"},
      hwhere));
  if (header["qforge_suite"] != 1) {
    return MakeError(hwhere + ": unsupported qforge_suite version " +
                     header["qforge_suite"].dump() + " (this build reads 1)");
  }
  QF_RETURN_IF_ERROR(ReadString(header, "name", &suite.name, hwhere));
  QF_RETURN_IF_ERROR(ReadString(header, "capability", &suite.capability, hwhere));
  QF_RETURN_IF_ERROR(ReadString(header, "version", &suite.version, hwhere));
  QF_RETURN_IF_ERROR(ReadString(header, "description", &suite.description, hwhere));
  QF_RETURN_IF_ERROR(ReadInt(header, "limit", &limit, hwhere));
  for (const auto* key : {"name", "capability", "version"}) {
    if (!header.contains(key)) return MakeError(hwhere + ": header needs '" + key + "'");
  }
  if (suite.name.empty() || suite.capability.empty()) {
    return MakeError(hwhere + ": 'name' and 'capability' must not be empty");
  }
  if (options.max_items >= 0) limit = options.max_items;

  if (header.contains("source")) {
    if (!item_lines.empty()) {
      return MakeError(Where(path, item_lines.front().first) +
                       ": a suite whose header has a 'source' takes no inline items");
    }
    suite_internal::AdapterRequest request;
    request.suite_path = path;
    request.suite_dir = fs::path(path).parent_path().string();
    request.source = header["source"];
    request.limit = limit;
    if (!request.source.is_object()) return MakeError(hwhere + ": 'source' must be an object");
    auto made = suite_internal::RunAdapter(request);
    if (!made) return made.error();
    suite.source_sha256 = made->source_sha256;
    std::set<std::string> ids;
    for (auto& item : made->items) {
      QF_RETURN_IF_ERROR(ValidateItem(item, hwhere));
      if (!ids.insert(item.id).second)
        return MakeError(hwhere + ": duplicate item id '" + item.id + "'");
      suite.items.push_back(std::move(item));
    }
    return suite;
  }

  suite.source_sha256 = suite.file_sha256;
  std::set<std::string> ids;
  for (const auto& [line, j] : item_lines) {
    const std::string where = Where(path, line);
    auto item = ParseItem(j, where);
    if (!item) return item.error();
    QF_RETURN_IF_ERROR(ValidateItem(*item, where));
    if (!ids.insert(item->id).second)
      return MakeError(where + ": duplicate item id '" + item->id + "'");
    if (limit < 0 || static_cast<int>(suite.items.size()) < limit)
      suite.items.push_back(std::move(*item));
  }
  if (suite.items.empty() && limit != 0) return MakeError(path + ": suite has no items");
  return suite;
}

Expected<std::vector<std::string>> ResolveSuites(const std::string& dir_or_names,
                                                 const std::string& suites_dir) {
  const std::string spec = dir_or_names.empty() ? suites_dir : dir_or_names;
  std::error_code ec;
  if (fs::is_directory(spec, ec)) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(spec, ec)) {
      if (entry.is_regular_file(ec) && entry.path().extension() == ".jsonl") {
        files.push_back(entry.path().string());
      }
    }
    if (ec) return MakeError(spec + ": cannot list directory: " + ec.message());
    if (files.empty()) return MakeError(spec + ": no suite files (*.jsonl) in this directory");
    std::sort(files.begin(), files.end());
    return files;
  }
  std::vector<std::string> files;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string::npos) comma = spec.size();
    std::string name = spec.substr(pos, comma - pos);
    pos = comma + 1;
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (name.empty()) continue;
    // A path to a suite file is taken as is; a bare name is looked up in suites_dir.
    if (name.find('/') != std::string::npos || fs::is_regular_file(name, ec)) {
      if (!fs::is_regular_file(name, ec)) return MakeError(name + ": no such suite file");
      files.push_back(name);
      continue;
    }
    const std::string stem =
        name.size() > 6 && name.ends_with(".jsonl") ? name.substr(0, name.size() - 6) : name;
    const std::string file = (fs::path(suites_dir) / (stem + ".jsonl")).string();
    if (!fs::is_regular_file(file, ec)) {
      return MakeError("unknown suite '" + name + "': no file " + file +
                       " (available: " + AvailableSuites(suites_dir) + ")");
    }
    files.push_back(file);
  }
  if (files.empty()) return MakeError("no suites named in '" + dir_or_names + "'");
  return files;
}

}  // namespace qforge
