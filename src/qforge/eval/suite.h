// Capability suites: the items `qforge eval` runs through both models. A suite is a JSONL file
// (schema in docs/suites.md): a header line naming the suite and its capability, then either
// one line per item, or a `source` in the header that an adapter turns into items (the public
// datasets in ../shared/data/tasks are read in place, never copied into the repository; the
// long-context suite is generated).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qforge/core/status.h"

namespace qforge {

// How a generated answer is graded. Kind kNone: the item has no generated measure.
struct AnswerCheck {
  enum class Kind { kNone, kFinalNumber, kContains, kJsonCall, kPythonTests };
  Kind kind = Kind::kNone;
  std::string expected;        // kFinalNumber: the number; kContains: the text to find
  nlohmann::json call;         // kJsonCall: {"function": <JSON schema of the function>,
                               //             "accepted": {arg: [accepted values]}}
  std::string code_prefix;     // kPythonTests: code placed before the generated text
  std::string tests;           // kPythonTests: code run after it (asserts)
};

struct SuiteItem {
  std::string id;
  std::string prompt;                // the text the model continues
  bool chat = false;                 // render `prompt` as a user message in the chat template
  std::string system;                // system message (chat only; empty = template default)
  std::string reference;             // reference continuation for teacher-forced scoring
  std::vector<std::string> options;  // multiple choice: continuations scored by likelihood
  int answer_index = -1;             // the correct option
  int max_tokens = 0;                // generation budget; 0 = no generation
  std::vector<std::string> stop;     // generation stops after any of these strings
  AnswerCheck check;
};

struct Suite {
  std::string name;        // e.g. "math-gsm8k"
  std::string capability;  // e.g. "math"; results are reported per capability
  std::string version;     // recorded in reports
  std::string path;        // the suite file
  std::string source_sha256;  // of the data the items came from (the suite file or its source)
  std::vector<SuiteItem> items;
};

struct SuiteLoadOptions {
  int max_items = -1;  // -1 = the suite's own limit; otherwise at most this many
};

// Reads one suite file. Errors name the file and line.
Expected<Suite> LoadSuite(const std::string& path, const SuiteLoadOptions& options = {});

// The suite files of a directory (*.jsonl, sorted by name), or of a comma-separated list of
// names looked up in `suites_dir` ("math-gsm8k,code-mbpp").
Expected<std::vector<std::string>> ResolveSuites(const std::string& dir_or_names, const std::string& suites_dir);

struct GradeResult {
  bool pass = false;
  std::string detail;  // why it failed (for the report), e.g. "no number", "wrong function"
};

// Grades a generated answer against an item's check. kPythonTests runs the code in the
// sandbox (eval/sandbox.h).
GradeResult GradeAnswer(const AnswerCheck& check, const std::string& generated);

// The last number in a text ("1,234" and "-3.5" count; "$18." gives 18), as written there, or
// empty when there is none.
std::string ExtractFinalNumber(const std::string& text);

}  // namespace qforge
