// Dataset adapters: public task files (read in place) to suite items. Each takes the first
// `limit` records after `offset`, in file order, so a suite is the same on every machine.
#include "qforge/eval/suite_adapters.h"

#include <algorithm>
#include <map>
#include <string_view>

#include "qforge/core/sha256.h"
#include "qforge/io/gzip.h"
#include "qforge/io/mapped_file.h"

namespace qforge::suite_internal {

namespace {

using nlohmann::json;
using ordered_json = nlohmann::ordered_json;

struct DataFile {
  std::string path;
  std::string raw;     // the file as stored
  std::string text;    // decompressed when the file is gzip
  std::string sha256;  // of `raw`
};

// Reads the data file named by source[key], resolved against the suite's directory.
Expected<DataFile> LoadData(const AdapterRequest& r, const char* key) {
  auto it = r.source.find(key);
  if (it == r.source.end() || !it->is_string() || it->get<std::string>().empty()) {
    return MakeError(r.suite_path + ": source needs '" + key + "' (a path)");
  }
  DataFile f;
  f.path = ResolvePath(r.suite_dir, it->get<std::string>());
  auto raw = ReadTextFile(f.path);
  if (!raw) return MakeError(r.suite_path + ": source '" + key + "': " + raw.error().message);
  f.raw = std::move(*raw);
  f.sha256 = Sha256Hex(f.raw);
  if (IsGzip(f.raw)) {
    auto text = GunzipBytes(f.raw, f.path);
    if (!text) return text.error();
    f.text = std::move(*text);
  } else {
    f.text = f.raw;
  }
  return f;
}

struct Record {
  int line;   // 1-based line in the data file
  int index;  // 0-based record index
  ordered_json value;
};

// Non-blank JSONL lines [first, first + count) (count -1 = to the end), parsed with key order kept.
Expected<std::vector<Record>> JsonlRecords(const DataFile& f, int first, int count) {
  std::vector<Record> out;
  int line_no = 0, index = 0;
  for (size_t pos = 0;
       pos < f.text.size() && (count < 0 || static_cast<int>(out.size()) < count);) {
    size_t end = f.text.find('\n', pos);
    if (end == std::string::npos) end = f.text.size();
    std::string_view line(f.text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (index++ < first) continue;
    try {
      out.push_back({line_no, index - 1, ordered_json::parse(line)});
    } catch (const json::exception& e) {
      return MakeError(f.path + ":" + std::to_string(line_no) +
                       ": invalid JSON: " + JsonErrorText(e));
    }
  }
  return out;
}

// A string field of a dataset record; the error names the data file and line.
Expected<std::string> Field(const Record& r, const DataFile& f, const char* key) {
  auto it = r.value.find(key);
  if (it == r.value.end() || !it->is_string()) {
    return MakeError(f.path + ":" + std::to_string(r.line) + ": missing string field '" + key +
                     "'");
  }
  return it->get<std::string>();
}

Expected<int> Offset(const AdapterRequest& r) {
  auto it = r.source.find("offset");
  if (it == r.source.end()) return 0;
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > (1 << 30)) {
    return MakeError(r.suite_path + ": source 'offset' must be a non-negative integer");
  }
  return static_cast<int>(it->get<int64_t>());
}

// The source of a one-file dataset: keys {adapter, path, offset}, the file and the offset.
struct SingleFileSource {
  DataFile file;
  int offset = 0;
};

Expected<SingleFileSource> LoadSingleFileSource(const AdapterRequest& r) {
  QF_RETURN_IF_ERROR(OnlyKeys(r.source, {"adapter", "path", "offset"}, r.suite_path + ": source"));
  auto file = LoadData(r, "path");
  if (!file) return file.error();
  auto offset = Offset(r);
  if (!offset) return offset.error();
  return SingleFileSource{std::move(*file), *offset};
}

// A one-file JSONL dataset: the file and its first `limit` records after `offset`.
struct JsonlSource {
  DataFile file;
  std::vector<Record> records;
};

Expected<JsonlSource> LoadJsonlSource(const AdapterRequest& r) {
  auto source = LoadSingleFileSource(r);
  if (!source) return source.error();
  auto records = JsonlRecords(source->file, source->offset, r.limit);
  if (!records) return records.error();
  return JsonlSource{std::move(source->file), std::move(*records)};
}

std::string TrimRight(std::string s) {
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  return s;
}

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) {
    s.replace(p, from.size(), to);
  }
  return s;
}

// ---- gsm8k: {"question", "answer": "...worked solution...\n#### N"} ----

Expected<AdapterResult> Gsm8kItems(const AdapterRequest& r) {
  auto source = LoadJsonlSource(r);
  if (!source) return source.error();
  const DataFile* file = &source->file;
  AdapterResult out;
  out.source_sha256 = file->sha256;
  for (const auto& rec : source->records) {
    auto question = Field(rec, *file, "question");
    if (!question) return question.error();
    auto answer = Field(rec, *file, "answer");
    if (!answer) return answer.error();
    const size_t mark = answer->rfind("####");
    const std::string where = file->path + ":" + std::to_string(rec.line);
    if (mark == std::string::npos) return MakeError(where + ": answer has no '#### N'");
    std::string number = Replace(answer->substr(mark + 4), ",", "");
    number.erase(0, number.find_first_not_of(" \t"));
    number = TrimRight(number);
    if (number.empty() || ExtractFinalNumber(number) != number) {
      return MakeError(where + ": final answer '" + number + "' is not a number");
    }
    // The worked solution without the calculator annotations "<<16-3-4=9>>".
    std::string worked;
    const std::string body = answer->substr(0, mark);
    for (size_t p = 0; p < body.size();) {
      const size_t open = body.find("<<", p);
      if (open == std::string::npos) {
        worked += body.substr(p);
        break;
      }
      const size_t close = body.find(">>", open);
      if (close == std::string::npos) return MakeError(where + ": unclosed '<<' in answer");
      worked += body.substr(p, open - p);
      p = close + 2;
    }
    SuiteItem item;
    item.id = "gsm8k-" + std::to_string(rec.index);
    item.chat = true;
    item.prompt = *question +
                  "\n\nSolve the problem step by step. Finish with the sentence "
                  "\"The answer is N.\", where N is the final number.";
    item.reference = TrimRight(worked) + "\nThe answer is " + number + ".";
    item.max_tokens = 192;
    item.check.kind = AnswerCheck::Kind::kFinalNumber;
    item.check.expected = number;
    out.items.push_back(std::move(item));
  }
  return out;
}

// ---- humaneval: {"task_id", "prompt", "canonical_solution", "test", "entry_point"} ----

Expected<AdapterResult> HumanEvalItems(const AdapterRequest& r) {
  auto source = LoadJsonlSource(r);
  if (!source) return source.error();
  const DataFile* file = &source->file;
  AdapterResult out;
  out.source_sha256 = file->sha256;
  for (const auto& rec : source->records) {
    std::map<std::string, std::string> f;
    for (const char* key : {"task_id", "prompt", "canonical_solution", "test", "entry_point"}) {
      auto v = Field(rec, *file, key);
      if (!v) return v.error();
      f[key] = *v;
    }
    SuiteItem item;
    item.id = f["task_id"];
    item.prompt = f["prompt"];
    item.reference = f["canonical_solution"];
    item.max_tokens = 256;
    item.stop = {"\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"};
    item.check.kind = AnswerCheck::Kind::kPythonTests;
    item.check.code_prefix = f["prompt"];
    item.check.tests = f["test"] + "\ncheck(" + f["entry_point"] + ")\n";
    out.items.push_back(std::move(item));
  }
  return out;
}

// ---- mbpp: {"task_id", "text", "code", "test_list", "test_setup_code"} ----

Expected<AdapterResult> MbppItems(const AdapterRequest& r) {
  auto source = LoadJsonlSource(r);
  if (!source) return source.error();
  const DataFile* file = &source->file;
  AdapterResult out;
  out.source_sha256 = file->sha256;
  for (const auto& rec : source->records) {
    const std::string where = file->path + ":" + std::to_string(rec.line);
    auto text = Field(rec, *file, "text");
    if (!text) return text.error();
    auto code = Field(rec, *file, "code");
    if (!code) return code.error();
    const auto& v = rec.value;
    if (!v.contains("task_id") || !v["task_id"].is_number_integer()) {
      return MakeError(where + ": missing integer field 'task_id'");
    }
    if (!v.contains("test_list") || !v["test_list"].is_array() || v["test_list"].empty()) {
      return MakeError(where + ": missing non-empty array 'test_list'");
    }
    std::vector<std::string> asserts;
    for (const auto& t : v["test_list"]) {
      if (!t.is_string()) return MakeError(where + ": 'test_list' must hold strings");
      asserts.push_back(Replace(t.get<std::string>(), "\r\n", "\n"));
    }
    std::string setup;
    if (v.contains("test_setup_code") && v["test_setup_code"].is_string()) {
      setup = Replace(v["test_setup_code"].get<std::string>(), "\r\n", "\n");
    }
    SuiteItem item;
    item.id = "mbpp-" + std::to_string(v["task_id"].get<int64_t>());
    item.chat = true;
    item.prompt = "Write a Python function for this task: " + *text +
                  "\nYour function must pass this test:\n" + asserts.front() +
                  "\nReply with the complete function in a ```python code block.";
    item.reference = "```python\n" + TrimRight(Replace(*code, "\r\n", "\n")) + "\n```";
    item.max_tokens = 256;
    item.check.kind = AnswerCheck::Kind::kPythonTests;
    item.check.tests = (setup.empty() ? "" : setup + "\n") + Join(asserts, "\n") + "\n";
    out.items.push_back(std::move(item));
  }
  return out;
}

// ---- bfcl_simple: questions {"id", "question": [[{"role", "content"}]], "function": [schema]}
//      joined by id with answers {"id", "ground_truth": [{name: {arg: [accepted values]}}]} ----

// A concrete value from an accepted value: a dict's accepted value maps each key to its own
// list of accepted values, so take the first of each (leaving out keys whose first choice is
// "", the omission marker); lists are converted elementwise.
ordered_json CanonicalValue(const ordered_json& accepted) {
  if (accepted.is_object()) {
    ordered_json out = ordered_json::object();
    for (const auto& [key, values] : accepted.items()) {
      if (!values.is_array()) {
        out[key] = CanonicalValue(values);
      } else if (!values.empty() && values.front() != "") {
        out[key] = CanonicalValue(values.front());
      }
    }
    return out;
  }
  if (accepted.is_array()) {
    ordered_json out = ordered_json::array();
    for (const auto& v : accepted) out.push_back(CanonicalValue(v));
    return out;
  }
  return accepted;
}

// The canonical call a correct answer looks like, keys in the dataset's order: the first
// accepted value of each argument, leaving out an optional argument whose first choice is "".
std::string CanonicalCall(const std::string& name, const ordered_json& accepted,
                          const ordered_json& required) {
  std::string args;
  for (const auto& [arg, values] : accepted.items()) {
    const bool is_required =
        std::find(required.begin(), required.end(), ordered_json(arg)) != required.end();
    const ordered_json* chosen = nullptr;
    for (const auto& v : values) {
      if (v == "") {
        if (!is_required) break;
        continue;
      }
      chosen = &v;
      break;
    }
    if (!chosen) continue;
    if (!args.empty()) args += ", ";
    args += ordered_json(arg).dump() + ": " + CanonicalValue(*chosen).dump();
  }
  return "{\"name\": " + ordered_json(name).dump() + ", \"arguments\": {" + args + "}}";
}

Expected<AdapterResult> BfclSimpleItems(const AdapterRequest& r) {
  QF_RETURN_IF_ERROR(
      OnlyKeys(r.source, {"adapter", "path", "answers", "offset"}, r.suite_path + ": source"));
  auto questions = LoadData(r, "path");
  if (!questions) return questions.error();
  auto answers = LoadData(r, "answers");
  if (!answers) return answers.error();
  auto offset = Offset(r);
  if (!offset) return offset.error();
  auto question_records = JsonlRecords(*questions, *offset, r.limit);
  if (!question_records) return question_records.error();
  auto answer_records = JsonlRecords(*answers, 0, -1);
  if (!answer_records) return answer_records.error();
  std::map<std::string, const Record*> answer_by_id;
  for (const auto& rec : *answer_records) {
    auto id = Field(rec, *answers, "id");
    if (!id) return id.error();
    answer_by_id[*id] = &rec;
  }
  AdapterResult out;
  // Both files, questions then answers: `cat questions answers | sha256sum`.
  Sha256 both;
  both.Update(questions->raw);
  both.Update(answers->raw);
  out.source_sha256 = both.FinishHex();
  for (const auto& rec : *question_records) {
    const std::string where = questions->path + ":" + std::to_string(rec.line);
    auto id = Field(rec, *questions, "id");
    if (!id) return id.error();
    const auto& v = rec.value;
    const auto& turns = v.value("question", ordered_json());
    if (!turns.is_array() || turns.size() != 1 || !turns[0].is_array() || turns[0].empty() ||
        !turns[0].back().is_object() || turns[0].back().value("role", "") != "user") {
      return MakeError(where + ": expected 'question' to be one turn ending in a user message");
    }
    const auto& functions = v.value("function", ordered_json());
    if (!functions.is_array() || functions.size() != 1 || !functions[0].is_object() ||
        !functions[0].contains("name") || !functions[0]["name"].is_string()) {
      return MakeError(where + ": expected 'function' to hold exactly one function schema");
    }
    const ordered_json& function = functions[0];
    const std::string name = function["name"].get<std::string>();
    auto found = answer_by_id.find(*id);
    if (found == answer_by_id.end()) {
      return MakeError(where + ": no answer with id '" + *id + "' in " + answers->path);
    }
    const auto& truth = found->second->value.value("ground_truth", ordered_json());
    const std::string awhere = answers->path + ":" + std::to_string(found->second->line);
    if (!truth.is_array() || truth.size() != 1 || !truth[0].is_object() ||
        !truth[0].contains(name) || !truth[0][name].is_object()) {
      return MakeError(awhere + ": ground_truth must be [{\"" + name + "\": {arg: [values]}}]");
    }
    const ordered_json& accepted = truth[0][name];
    const ordered_json required =
        function.contains("parameters")
            ? function["parameters"].value("required", ordered_json::array())
            : ordered_json::array();
    SuiteItem item;
    item.id = *id;
    item.chat = true;
    item.system = "You are a function-calling assistant. You can call this function:\n" +
                  function.dump() +
                  "\nReply with only a JSON object of the form {\"name\": \"<function name>\", "
                  "\"arguments\": {\"<argument>\": <value>, ...}} and nothing else.";
    const auto& content = turns[0].back().value("content", ordered_json());
    if (!content.is_string()) return MakeError(where + ": user message has no text 'content'");
    item.prompt = content.get<std::string>();
    item.reference = CanonicalCall(name, accepted, required);
    item.max_tokens = 128;
    item.check.kind = AnswerCheck::Kind::kJsonCall;
    item.check.call = {{"function", json::parse(function.dump())},
                       {"accepted", json::parse(accepted.dump())}};
    out.items.push_back(std::move(item));
  }
  return out;
}

// ---- mmlu: {"samples": [{"i", "prompt", "options", "input_label", "scores", ...}]} ----
// "input_label" is the 0-based index of the correct option; "scores" are one model's option
// scores recorded with the sample, not the answer (docs/suites.md).

Expected<AdapterResult> MmluItems(const AdapterRequest& r) {
  auto source = LoadSingleFileSource(r);
  if (!source) return source.error();
  const DataFile* file = &source->file;
  const int offset = source->offset;
  json doc;
  try {
    doc = json::parse(file->text);
  } catch (const json::exception& e) {
    return MakeError(file->path + ": invalid JSON: " + JsonErrorText(e));
  }
  if (!doc.is_object() || !doc.contains("samples") || !doc["samples"].is_array()) {
    return MakeError(file->path + ": expected {\"samples\": [...]}");
  }
  AdapterResult out;
  out.source_sha256 = file->sha256;
  const auto& samples = doc["samples"];
  for (size_t k = static_cast<size_t>(offset); k < samples.size(); ++k) {
    if (r.limit >= 0 && static_cast<int>(out.items.size()) >= r.limit) break;
    const auto& s = samples[k];
    const std::string where = file->path + ": sample " + std::to_string(k);
    if (!s.is_object() || !s.contains("prompt") || !s["prompt"].is_string() ||
        !s.contains("options") || !s["options"].is_array() || !s.contains("input_label") ||
        !s["input_label"].is_number_integer()) {
      return MakeError(where + ": needs 'prompt', 'options' and an integer 'input_label'");
    }
    SuiteItem item;
    item.id = "mmlu-" + (s.contains("i") ? s["i"].dump() : std::to_string(k));
    item.prompt = s["prompt"].get<std::string>();
    for (const auto& o : s["options"]) {
      if (!o.is_string()) return MakeError(where + ": options must be strings");
      item.options.push_back(o.get<std::string>());
    }
    item.answer_index = s["input_label"].get<int>();
    out.items.push_back(std::move(item));
  }
  return out;
}

struct Adapter {
  const char* name;
  Expected<AdapterResult> (*make)(const AdapterRequest&);
};

constexpr Adapter kAdapters[] = {
    {"gsm8k", Gsm8kItems}, {"humaneval", HumanEvalItems},
    {"mbpp", MbppItems},   {"bfcl_simple", BfclSimpleItems},
    {"mmlu", MmluItems},   {"long_context", LongContextItems},
};

}  // namespace

Expected<AdapterResult> RunAdapter(const AdapterRequest& request) {
  const auto& name = request.source.value("adapter", json());
  std::string known;
  for (const auto& a : kAdapters) {
    if (name.is_string() && name.get<std::string>() == a.name) return a.make(request);
    known += known.empty() ? a.name : std::string(", ") + a.name;
  }
  return MakeError(request.suite_path + ": source adapter " + name.dump() + " is not one of " +
                   known);
}

}  // namespace qforge::suite_internal
