// PLACEHOLDER for the suites branch: a minimal python3 runner so GradeAnswer's python_tests
// path can be exercised. Wall-clock limit (coreutils timeout) and CPU/memory/file-size rlimits,
// but NO network or process isolation. To be replaced by the real sandbox on merge.
#include "qforge/eval/sandbox.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace qforge {

SandboxResult RunPythonSandboxed(const std::string& program, const SandboxLimits& limits) {
  SandboxResult r;
  std::string dir = std::filesystem::temp_directory_path().string() + "/qforge-py-XXXXXX";
  if (!::mkdtemp(dir.data())) return r;
  std::ofstream(dir + "/main.py") << program;
  const std::string wall = std::to_string(limits.wall_seconds);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const rlimit cpu{rlim_t(limits.cpu_seconds), rlim_t(limits.cpu_seconds)};
    const rlimit mem{rlim_t(limits.memory_bytes), rlim_t(limits.memory_bytes)};
    const rlimit fsz{rlim_t(limits.file_bytes), rlim_t(limits.file_bytes)};
    ::setrlimit(RLIMIT_CPU, &cpu), ::setrlimit(RLIMIT_AS, &mem), ::setrlimit(RLIMIT_FSIZE, &fsz);
    const int fd = ::chdir(dir.c_str()) == 0 ? ::open("out.txt", O_WRONLY | O_CREAT, 0600) : -1;
    if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) ::_exit(126);
    ::execlp("timeout", "timeout", "-s", "KILL", wall.c_str(), "python3", "-I", "main.py", nullptr);
    ::_exit(126);
  }
  int status = 0;
  if (pid > 0) ::waitpid(pid, &status, 0);
  std::ostringstream out;
  out << std::ifstream(dir + "/out.txt").rdbuf();
  r.output = out.str().substr(0, 4096);
  std::filesystem::remove_all(dir);
  r.exit_code = pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  using O = SandboxResult::Outcome;  // timeout: 137 killed, 126/127 could not run python3
  r.outcome = pid <= 0 || r.exit_code == 126 || r.exit_code == 127 ? O::kUnavailable
              : r.exit_code == 137                                 ? O::kTimedOut
              : r.exit_code > 128                                  ? O::kCrashed
              : r.exit_code == 0                                   ? O::kPassed
                                                                   : O::kFailed;
  return r;
}

const char* OutcomeName(SandboxResult::Outcome o) {
  static const char* kNames[] = {"passed", "failed", "timed_out", "crashed", "unavailable"};
  return kNames[static_cast<int>(o)];
}

}  // namespace qforge
