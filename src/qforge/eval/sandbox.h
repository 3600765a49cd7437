// Running untrusted generated code the way a careful user would: a separate process in a fresh
// scratch directory, no network, limits on time, memory, file size and process count, and
// nothing left behind.
#pragma once

#include <string>

namespace qforge {

struct SandboxLimits {
  double wall_seconds = 10.0;
  int cpu_seconds = 10;
  long memory_bytes = 1L << 30;       // address space
  long file_bytes = 16L << 20;        // largest file the program may write
  int max_processes = 64;
};

struct SandboxResult {
  enum class Outcome { kPassed, kFailed, kTimedOut, kCrashed, kUnavailable };
  Outcome outcome = Outcome::kUnavailable;
  int exit_code = -1;
  std::string output;  // stdout+stderr, truncated to a few KiB
  bool network_isolated = false;  // whether a private network namespace was obtained
};

// Runs `program` with python3 (-I, isolated mode) in a new scratch directory. kPassed means
// exit status 0. kUnavailable: python3 could not be started.
SandboxResult RunPythonSandboxed(const std::string& program, const SandboxLimits& limits = {});

const char* OutcomeName(SandboxResult::Outcome outcome);

}  // namespace qforge
