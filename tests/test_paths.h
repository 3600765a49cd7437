// Where tests find their inputs: ../shared (read-only data and llama.cpp's reference outputs)
// and the model cache filled by scripts/setup.sh. Paths can be overridden by QFORGE_SHARED_DIR
// and QFORGE_MODELS_DIR.
#pragma once

#include <string>

namespace qforge::testing {

std::string RepoDir();          // the repository root (the source tree being tested)
std::string SharedDir();        // .../shared
std::string ModelsDir();        // .../models
std::string TempDir();          // a fresh directory per test binary run
std::string CliPath();          // the qforge executable
std::string SmolLM2Path();      // the default model in the cache
std::string LlamaCppReferenceDir();  // .../shared/testdata/llamacpp
std::string TinyModelPath();         // its tiny reference model, tiny-llama-f32.gguf

// Skips the current test when a model file is absent, unless QFORGE_REQUIRE_MODELS=1
// (set by CI), in which case the absence is a failure.
#define QF_REQUIRE_MODEL(path)                                                        \
  do {                                                                                \
    if (!::qforge::testing::FileExists(path)) {                                       \
      if (::qforge::testing::ModelsRequired()) FAIL() << "missing model " << (path);  \
      GTEST_SKIP() << "model not fetched (run scripts/setup.sh): " << (path);         \
    }                                                                                 \
  } while (0)

bool FileExists(const std::string& path);
bool ModelsRequired();

struct CommandResult {
  int exit_code;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the qforge CLI with the given argument string (shell-quoted by the caller).
CommandResult RunCli(const std::string& args);

}  // namespace qforge::testing
