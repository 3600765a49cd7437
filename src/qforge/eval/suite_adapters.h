// Internal to the suite loader (eval/suite.cpp): adapters that turn a public dataset file (or,
// for long_context, a filler text) into suite items. Each adapter reads only the fields it
// names in docs/suites.md and rejects any other field of the header's "source" object.
#pragma once

#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/eval/suite.h"

namespace qforge::suite_internal {

struct AdapterRequest {
  std::string suite_path;  // for error messages
  std::string suite_dir;   // relative data paths resolve against this directory
  nlohmann::json source;   // the header's "source" object
  int limit = -1;          // how many items to produce, the first ones in order; -1 = all
};

struct AdapterResult {
  std::vector<SuiteItem> items;
  std::string source_sha256;  // of the data file(s) read, concatenated in the documented order
};

// Dispatches on source["adapter"]: gsm8k, humaneval, mbpp, bfcl_simple, mmlu, long_context.
Expected<AdapterResult> RunAdapter(const AdapterRequest& request);

// The generated long-context suite (long_context.cpp); reached through RunAdapter.
Expected<AdapterResult> LongContextItems(const AdapterRequest& request);

// Helpers shared by the adapters.
std::string ResolvePath(const std::string& dir, const std::string& path);
// A JSON library exception's message without its "[json.exception.parse_error.101] " tag.
std::string JsonErrorText(const std::exception& e);
std::string Join(const std::vector<std::string>& lines, const std::string& separator);

// Checks that `object` has only the listed keys; the error names `where` and the first
// unknown key.
Status OnlyKeys(const nlohmann::json& object, const std::vector<std::string>& allowed,
                const std::string& where);

}  // namespace qforge::suite_internal
