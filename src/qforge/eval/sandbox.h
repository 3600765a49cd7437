// Running untrusted generated code the way a careful user would: a separate process in a fresh
// scratch directory, no network, limits on time, memory, file size and process count, and
// nothing left behind. A guard against accidents, not a security boundary: docs/sandbox.md
// says what is and is not isolated.
#pragma once

#include <string>

namespace qforge {

// A value <= 0 leaves that limit unset. Limits never exceed the caller's own hard limits.
struct SandboxLimits {
  double wall_seconds = 10.0;
  int cpu_seconds = 10;
  long memory_bytes = 1L << 30;  // address space
  long file_bytes = 16L << 20;   // largest file the program may write
  int max_processes = 64;        // applied only in a user namespace (Linux >= 5.14), never
                                 // to uid 0: see docs/sandbox.md
};

struct SandboxResult {
  enum class Outcome { kPassed, kFailed, kTimedOut, kCrashed, kUnavailable };
  Outcome outcome = Outcome::kUnavailable;
  int exit_code = -1;  // exit status; minus the signal number if a signal ended it; -1 if not run
  std::string output;  // stdout+stderr, the last 4 KiB, plus a "[sandbox] ..." line saying
                       // which limit or signal ended the run (or why it could not start)
  bool network_isolated = false;  // whether a private network namespace was obtained; when
                                  // false the program ran with the host's network
};

// Runs `program` with python3 (-I, isolated mode; found on the caller's PATH) in a new scratch
// directory that is removed afterwards; whatever is left in its process group is killed. kPassed:
// exit status 0. kFailed: another exit status. kTimedOut: the wall-clock or CPU limit. kCrashed:
// another signal. kUnavailable: python3 could not be started. Thread-safe.
SandboxResult RunPythonSandboxed(const std::string& program, const SandboxLimits& limits = {});

const char* OutcomeName(SandboxResult::Outcome outcome);

}  // namespace qforge
