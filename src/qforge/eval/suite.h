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
  // Additions (suite loader):
  std::string description;  // the header's description, for reports
  std::string file_sha256;  // of the suite file itself; for an inline suite it equals
                            // source_sha256, for an adapter suite it pins the header
                            // (limit, adapter options) that selected the items
};

struct SuiteLoadOptions {
  int max_items = -1;  // -1 = the suite's own limit; otherwise at most this many (it replaces
                       // the limit, so it may also be larger than it)
};

// Reads one suite file. Errors name the file and line.
Expected<Suite> LoadSuite(const std::string& path, const SuiteLoadOptions& options = {});

// The suite files of a directory (*.jsonl, sorted by name), or of a comma-separated list of
// names looked up in `suites_dir` ("math-gsm8k,code-mbpp").
// Also: an empty string means `suites_dir` itself; a list entry that contains '/' or names an
// existing file is taken as a path to a suite file.
Expected<std::vector<std::string>> ResolveSuites(const std::string& dir_or_names, const std::string& suites_dir);

struct GradeResult {
  bool pass = false;
  std::string detail;  // why it failed (for the report), e.g. "no number", "wrong function"
  // Addition: false when the answer could not be graded at all (kNone, or the sandbox was
  // unavailable); such an item is neither a pass nor a fail and should be left out of
  // pass rates rather than counted as a failure.
  bool graded = true;
};

// Grades a generated answer against an item's check. kPythonTests runs the code in the
// sandbox (eval/sandbox.h).
GradeResult GradeAnswer(const AnswerCheck& check, const std::string& generated);

// The last number in a text ("1,234" and "-3.5" count; "$18." gives 18), as written there, or
// empty when there is none. Thousands separators are kept as written ("1,234"); a trailing
// sentence period is not part of the number; "-" is a sign only when it does not follow a
// letter or digit ("3-5" ends with 5, not -5).
std::string ExtractFinalNumber(const std::string& text);

// Addition: the number a kFinalNumber check grades. The first number after the last
// "answer is" (case-insensitive) when the text has one, so a model that states
// "The answer is 18." and then rambles on is graded on 18; otherwise ExtractFinalNumber.
std::string ExtractAnswerNumber(const std::string& text);

}  // namespace qforge
