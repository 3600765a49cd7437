// Sandboxed python3 runs for grading generated code. See docs/sandbox.md for what is isolated
// and what is not.
//
// Shape of one run:
//   parent: find python3 on PATH, make the scratch dir, write the program, prepare argv/envp,
//           fork.
//   child:  (only async-signal-safe calls from here on, since the caller may be multithreaded)
//           reset signals, unshare the network, report whether that worked, setsid, wire
//           stdin/stdout/stderr, close every other descriptor, chdir, set limits, execve.
//   parent: poll the output pipe, the status pipe and the child until it exits or the wall
//           clock runs out; kill the process group; reap; classify; remove the scratch dir.
#include "qforge/eval/sandbox.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace qforge {
namespace {

namespace fs = std::filesystem;

constexpr size_t kOutputTail = 4096;  // bytes of output kept (the end, with the traceback)
constexpr const char* kProgramName = "program.py";

// Owns one file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Both ends close-on-exec; the parent's read end is also non-blocking so that draining never
// waits on a writer that is still alive (a grandchild holding stdout, say).
bool MakePipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end.Reset(fds[0]);
  write_end.Reset(fds[1]);
  const int flags = fcntl(fds[0], F_GETFL);
  return flags >= 0 && fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) == 0;
}

std::string ErrnoText(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// Removes a directory tree that an untrusted program wrote. If a plain remove_all fails (the
// program made a directory unwritable, say), give every directory back its owner permissions
// and try again. Symbolic links are removed, never followed.
void RemoveTree(const fs::path& root) {
  std::error_code ec;
  fs::remove_all(root, ec);
  if (!ec) return;
  std::vector<fs::path> pending = {root};  // explicit stack: the depth is the program's choice
  while (!pending.empty()) {
    const fs::path dir = std::move(pending.back());
    pending.pop_back();
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (it->symlink_status(type_ec).type() == fs::file_type::directory)
        pending.push_back(it->path());
    }
  }
  fs::remove_all(root, ec);
}

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir() = default;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    if (!path_.empty()) RemoveTree(path_);
  }

  // Returns an error message, or "" on success.
  std::string Create() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = (tmp != nullptr && tmp[0] != '\0') ? tmp : "/tmp";
    pattern += "/qforge-sandbox-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      return "cannot create a scratch directory from " + pattern + ": " + ErrnoText(errno);
    }
    std::error_code ec;
    const fs::path absolute = fs::absolute(pattern, ec);
    path_ = ec ? pattern : absolute.string();
    return "";
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Returns an error message, or "" on success.
std::string WriteNewFile(const std::string& path, const std::string& data) {
  Fd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return "cannot create " + path + ": " + ErrnoText(errno);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "cannot write " + path + ": " + ErrnoText(errno);
    done += static_cast<size_t>(n);
  }
  return "";
}

// The first regular, executable `name` in the caller's PATH, as execvp would pick it (empty
// PATH entries, meaning the current directory, are skipped). "" if there is none.
std::string FindOnPath(const std::string& name) {
  const char* env = std::getenv("PATH");
  const std::string path = (env != nullptr) ? env : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) {
      const std::string candidate = path.substr(start, end - start) + "/" + name;
      struct stat st;
      if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          access(candidate.c_str(), X_OK) == 0) {
        return candidate;
      }
    }
    start = end + 1;
  }
  return "";
}

// Since Linux 5.14, RLIMIT_NPROC counts processes per user namespace, so inside a fresh one it
// limits only the sandbox's own processes. Before that (or without a user namespace) it counts
// every process of the user, and a small limit would make the program's fork fail whenever the
// user already runs many processes; there it is not applied. (The kernel never applies it to
// uid 0, namespace or not.)
bool NprocCountsPerNamespace() {
  struct utsname u;
  if (uname(&u) != 0) return false;
  int major = 0, minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 5 || (major == 5 && minor >= 14);
}

// Steps of the child's setup, reported to the parent when one fails.
enum ChildStep : int {
  kStepSetsid = 1,
  kStepStdin,
  kStepStdout,
  kStepFds,
  kStepChdir,
  kStepLimit,
  kStepExec
};

const char* StepName(int step) {
  switch (step) {
    case kStepSetsid:
      return "setsid";
    case kStepStdin:
      return "redirecting stdin";
    case kStepStdout:
      return "redirecting stdout";
    case kStepFds:
      return "closing descriptors";
    case kStepChdir:
      return "entering the scratch directory";
    case kStepLimit:
      return "setting resource limits";
    case kStepExec:
      return "exec";
  }
  return "setup";
}

// Status pipe protocol: the child writes one byte, 1 if it got a private network namespace and
// 0 if not; then, only if a later step fails, two ints (step, errno). Exec closes the pipe.
struct ChildFailure {
  int step;
  int err;
};

// Everything the child needs, prepared before fork: the child must not allocate.
struct ChildPlan {
  const char* python;
  char* const* argv;
  char* const* envp;
  const char* scratch;
  int output_fd;  // write end of the output pipe
  int status_fd;  // write end of the status pipe
  SandboxLimits limits;
  bool nproc_per_namespace;
};

void WriteAllRaw(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    size -= static_cast<size_t>(n);
  }
}

[[noreturn]] void FailChild(int status_fd, int step) {
  const ChildFailure failure = {step, errno};
  WriteAllRaw(status_fd, &failure, sizeof(failure));
  _exit(127);
}

// Sets the soft limit to `value` and the hard limit `extra` above it, but never above what
// the caller already had (RLIM_INFINITY is the largest rlim_t). A value <= 0 sets nothing.
bool SetLimit(int resource, long value, long extra = 0) {
  if (value <= 0) return true;
  struct rlimit current;
  if (getrlimit(resource, &current) != 0) return false;
  struct rlimit wanted;
  wanted.rlim_max =
      std::min(current.rlim_max, static_cast<rlim_t>(value) + static_cast<rlim_t>(extra));
  wanted.rlim_cur = std::min({current.rlim_cur, static_cast<rlim_t>(value), wanted.rlim_max});
  return setrlimit(resource, &wanted) == 0;
}

// Closes every descriptor from `first` up.
bool CloseFrom(int first) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0U) == 0) return true;
#endif
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) != 0) return false;
  const rlim_t cap = 1 << 16;
  const rlim_t last =
      (nofile.rlim_cur == RLIM_INFINITY || nofile.rlim_cur > cap) ? cap : nofile.rlim_cur;
  for (int fd = first; static_cast<rlim_t>(fd) < last; ++fd) close(fd);
  return true;
}

[[noreturn]] void RunChild(const ChildPlan& plan) {
  // A caller's blocked or ignored signals would otherwise carry over into python.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }

  // A private network namespace holds only a loopback device that is down. Unprivileged
  // users get one inside a new user namespace; root also without one.
  bool user_ns = false;
  char isolated = 0;
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0) {
    user_ns = true;
    isolated = 1;
  } else if (unshare(CLONE_NEWNET) == 0) {
    isolated = 1;
  }
  WriteAllRaw(plan.status_fd, &isolated, 1);

  // Own process group (and session), so the parent can kill everything the program started.
  if (setsid() < 0) FailChild(plan.status_fd, kStepSetsid);

  // Move the two pipe ends above 2 first, so the dup2 calls below cannot clobber them.
  int status_fd = fcntl(plan.status_fd, F_DUPFD_CLOEXEC, 3);
  if (status_fd < 0) FailChild(plan.status_fd, kStepFds);
  const int output_fd = fcntl(plan.output_fd, F_DUPFD_CLOEXEC, 3);
  if (output_fd < 0) FailChild(status_fd, kStepFds);
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0) FailChild(status_fd, kStepStdin);
  if (dup2(output_fd, STDOUT_FILENO) < 0 || dup2(output_fd, STDERR_FILENO) < 0) {
    FailChild(status_fd, kStepStdout);
  }
  // Keep 0-2 and the status pipe, moved to 3 (close-on-exec: exec closes it, so the parent
  // sees EOF); whatever else is open, the caller's descriptors included, is closed.
  if (status_fd != 3) {
    if (dup3(status_fd, 3, O_CLOEXEC) < 0) FailChild(status_fd, kStepFds);
    status_fd = 3;
  }
  if (!CloseFrom(4)) FailChild(status_fd, kStepFds);

  if (chdir(plan.scratch) != 0) FailChild(status_fd, kStepChdir);

  const SandboxLimits& l = plan.limits;
  // CPU: SIGXCPU at the soft limit, SIGKILL one second later if the program handles SIGXCPU.
  bool ok = SetLimit(RLIMIT_CPU, l.cpu_seconds, 1) && SetLimit(RLIMIT_AS, l.memory_bytes) &&
            SetLimit(RLIMIT_FSIZE, l.file_bytes);
  struct rlimit no_core = {0, 0};
  ok = ok && setrlimit(RLIMIT_CORE, &no_core) == 0;
  if (user_ns && plan.nproc_per_namespace) ok = ok && SetLimit(RLIMIT_NPROC, l.max_processes);
  if (!ok) FailChild(status_fd, kStepLimit);

  execve(plan.python, plan.argv, plan.envp);
  FailChild(status_fd, kStepExec);
}

// Keeps the last kOutputTail bytes of a stream and counts what was cut before them.
class OutputTail {
 public:
  void Append(const char* data, size_t size) {
    buffer_.append(data, size);
    if (buffer_.size() > 2 * kOutputTail) Trim();
  }
  std::string Finish() {
    Trim();
    size_t skip = 0;  // do not start inside a UTF-8 sequence
    while (dropped_ > 0 && skip < 3 && skip < buffer_.size() &&
           (static_cast<unsigned char>(buffer_[skip]) & 0xC0) == 0x80) {
      ++skip;
    }
    std::string out;
    if (dropped_ + skip > 0)
      out = fmt::format("[{} bytes of earlier output cut]\n", dropped_ + skip);
    out.append(buffer_, skip);
    return out;
  }

 private:
  void Trim() {
    if (buffer_.size() <= kOutputTail) return;
    dropped_ += buffer_.size() - kOutputTail;
    buffer_.erase(0, buffer_.size() - kOutputTail);
  }
  std::string buffer_;
  size_t dropped_ = 0;
};

// Reads what a non-blocking descriptor has now into `sink`. False once it reports EOF or an
// error: stop polling it.
template <class Sink>
bool ReadAvailable(int fd, Sink&& sink) {
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      sink(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

void AppendNote(std::string& output, const std::string& note) {
  if (!output.empty() && output.back() != '\n') output += '\n';
  output += "[sandbox] " + note + "\n";
}

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

SandboxResult Unavailable(std::string why) {
  SandboxResult result;
  result.outcome = SandboxResult::Outcome::kUnavailable;
  result.output = "[sandbox] " + std::move(why);
  return result;
}

}  // namespace

SandboxResult RunPythonSandboxed(const std::string& program, const SandboxLimits& limits) {
  const std::string python = FindOnPath("python3");
  if (python.empty()) return Unavailable("python3 not found on PATH");
  ScratchDir scratch;  // declared before the pipes and the child: removed last, after the kill
  if (std::string error = scratch.Create(); !error.empty()) return Unavailable(error);
  if (std::string error = WriteNewFile(scratch.path() + "/" + kProgramName, program);
      !error.empty()) {
    return Unavailable(error);
  }

  // argv[0] is the full path: python derives sys.prefix from it, and a bare "python3" would be
  // looked up again on the child's shorter PATH.
  std::vector<std::string> args = {python, "-I", "-B", kProgramName};
  std::vector<std::string> env = {"PATH=/usr/bin:/bin",        "HOME=" + scratch.path(),
                                  "TMPDIR=" + scratch.path(),  "LANG=C.UTF-8",
                                  "PYTHONDONTWRITEBYTECODE=1", "PYTHONHASHSEED=0"};
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  Fd output_read, output_write, status_read, status_write;
  if (!MakePipe(output_read, output_write) || !MakePipe(status_read, status_write)) {
    return Unavailable("cannot create a pipe: " + ErrnoText(errno));
  }
  const ChildPlan plan = {.python = python.c_str(),
                          .argv = argv.data(),
                          .envp = envp.data(),
                          .scratch = scratch.path().c_str(),
                          .output_fd = output_write.get(),
                          .status_fd = status_write.get(),
                          .limits = limits,
                          .nproc_per_namespace = NprocCountsPerNamespace()};
  const pid_t pid = fork();
  if (pid < 0) return Unavailable("fork failed: " + ErrnoText(errno));
  if (pid == 0) RunChild(plan);
  output_write.Reset();
  status_write.Reset();

  // A pidfd turns the child's exit into a poll event; without one (Linux < 5.3), poll in short
  // ticks and ask waitid.
  Fd pidfd;
#ifdef SYS_pidfd_open
  pidfd.Reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
#endif
  using Clock = std::chrono::steady_clock;
  const bool has_deadline = limits.wall_seconds > 0;
  const double wall = has_deadline ? std::min(limits.wall_seconds, 1e6) : 0.0;
  const Clock::time_point deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                        std::chrono::duration<double>(wall));
  OutputTail output;
  std::string status;
  bool output_open = true, status_open = true, timed_out = false, exited = false;
  while (!exited) {
    // WNOWAIT leaves the child a zombie, so its pid, which is also its process group's id,
    // cannot be reused before the group is killed below.
    siginfo_t info;
    std::memset(&info, 0, sizeof(info));
    const int rc = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if ((rc == 0 && info.si_pid == pid) || (rc < 0 && errno != EINTR)) {
      exited = true;
      continue;
    }
    int timeout_ms = -1;
    if (has_deadline) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      timeout_ms = static_cast<int>(std::min<long long>(left, 1 << 30));
    }
    if (pidfd.get() < 0 && (timeout_ms < 0 || timeout_ms > 10)) timeout_ms = 10;
    pollfd fds[3] = {{output_open ? output_read.get() : -1, POLLIN, 0},
                     {status_open ? status_read.get() : -1, POLLIN, 0},
                     {pidfd.get(), POLLIN, 0}};
    if (poll(fds, 3, timeout_ms) < 0) continue;  // EINTR: look again
    if (fds[0].revents != 0) {
      output_open =
          ReadAvailable(output_read.get(), [&](const char* p, size_t n) { output.Append(p, n); });
    }
    if (fds[1].revents != 0) {
      status_open =
          ReadAvailable(status_read.get(), [&](const char* p, size_t n) { status.append(p, n); });
    }
  }

  // The whole group goes, on every path: processes the program left running (a background
  // `sleep`) would otherwise outlive the run and hold the output pipe open.
  kill(-pid, SIGKILL);
  int wait_status = 0;
  struct rusage usage;
  std::memset(&usage, 0, sizeof(usage));
  pid_t reaped;
  do {
    reaped = wait4(pid, &wait_status, 0, &usage);
  } while (reaped < 0 && errno == EINTR);
  if (reaped != pid) return Unavailable("lost track of the child: " + ErrnoText(errno));
  // Everything the child wrote is in the pipes now; writers still alive are not waited for.
  ReadAvailable(output_read.get(), [&](const char* p, size_t n) { output.Append(p, n); });
  ReadAvailable(status_read.get(), [&](const char* p, size_t n) { status.append(p, n); });

  SandboxResult result;
  result.network_isolated = !status.empty() && status[0] == 1;
  if (status.size() >= 1 + sizeof(ChildFailure)) {
    ChildFailure failure;
    std::memcpy(&failure, status.data() + 1, sizeof(failure));
    SandboxResult unavailable = Unavailable(fmt::format(
        "{} failed before running {}: {}", StepName(failure.step), python, ErrnoText(failure.err)));
    unavailable.network_isolated = result.network_isolated;
    return unavailable;
  }
  result.output = output.Finish();
  if (WIFEXITED(wait_status)) result.exit_code = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) result.exit_code = -WTERMSIG(wait_status);

  using Outcome = SandboxResult::Outcome;
  const double cpu_used =
      static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
      1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  if (timed_out) {
    result.outcome = Outcome::kTimedOut;
    AppendNote(result.output,
               fmt::format("wall-clock limit of {} s reached; process group killed", wall));
  } else if (WIFEXITED(wait_status)) {
    result.outcome = result.exit_code == 0 ? Outcome::kPassed : Outcome::kFailed;
  } else {
    const int sig = WTERMSIG(wait_status);
    // SIGXCPU comes at the soft CPU limit; SIGKILL a second later if the program caught it.
    const bool cpu_limit = sig == SIGXCPU || (sig == SIGKILL && limits.cpu_seconds > 0 &&
                                              cpu_used >= limits.cpu_seconds);
    result.outcome = cpu_limit ? Outcome::kTimedOut : Outcome::kCrashed;
    AppendNote(result.output,
               cpu_limit ? fmt::format("CPU-time limit of {} s reached", limits.cpu_seconds)
                         : "killed by " + SignalName(sig));
  }
  return result;
}

const char* OutcomeName(SandboxResult::Outcome outcome) {
  switch (outcome) {
    case SandboxResult::Outcome::kPassed:
      return "passed";
    case SandboxResult::Outcome::kFailed:
      return "failed";
    case SandboxResult::Outcome::kTimedOut:
      return "timed out";
    case SandboxResult::Outcome::kCrashed:
      return "crashed";
    case SandboxResult::Outcome::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

}  // namespace qforge
