#include "qforge/eval/sandbox.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace qforge {
namespace {

namespace fs = std::filesystem;
using Outcome = SandboxResult::Outcome;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool PythonOnPath() {
  const char* env = std::getenv("PATH");
  std::string path = env != nullptr ? env : "";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    if (end > start && access((path.substr(start, end - start) + "/python3").c_str(), X_OK) == 0)
      return true;
    start = end + 1;
  }
  return false;
}

// The line after `key` in `text` ("CWD=/tmp/..." -> "/tmp/..."), or "".
std::string ValueAfter(const std::string& text, const std::string& key) {
  const size_t at = text.find(key);
  if (at == std::string::npos) return "";
  const size_t begin = at + key.size();
  return text.substr(begin, text.find('\n', begin) - begin);
}

// Pids of live processes whose command line is exactly `argv`.
// A process's command line, or "" if it cannot be read. A process may exit between the scan
// listing it and the read, and libstdc++'s filebuf throws on that read error (ESRCH), so the
// scan must not let it escape (it once ended a test run in std::terminate).
std::string ReadCmdline(const fs::path& path) {
  try {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  } catch (const std::exception&) {
    return "";
  }
}

std::vector<int> ProcessesRunning(const std::vector<std::string>& argv) {
  std::string want;
  for (const std::string& a : argv) want += a + '\0';
  std::vector<int> found;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (ReadCmdline(it->path() / "cmdline") == want) found.push_back(std::stoi(name));
  }
  return found;
}

// Polls until `done` holds or `seconds` pass; returns whether it held.
template <class Pred>
bool Eventually(Pred done, double seconds) {
  const Clock::time_point start = Clock::now();
  while (!done()) {
    if (SecondsSince(start) > seconds) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

class SandboxRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PythonOnPath()) GTEST_SKIP() << "python3 is not on PATH; the sandbox runs python3";
  }
};

TEST(Sandbox, OutcomeNames) {
  EXPECT_STREQ(OutcomeName(Outcome::kPassed), "passed");
  EXPECT_STREQ(OutcomeName(Outcome::kFailed), "failed");
  EXPECT_STREQ(OutcomeName(Outcome::kTimedOut), "timed out");
  EXPECT_STREQ(OutcomeName(Outcome::kCrashed), "crashed");
  EXPECT_STREQ(OutcomeName(Outcome::kUnavailable), "unavailable");
}

TEST_F(SandboxRun, PassingProgramPasses) {
  const SandboxResult r = RunPythonSandboxed(
      "import sys\n"
      "assert sys.stdin.read() == ''  # stdin is /dev/null\n"
      "print('hello from the sandbox')\n");
  EXPECT_EQ(r.outcome, Outcome::kPassed) << r.output;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "hello from the sandbox\n");
}

TEST_F(SandboxRun, FailingAssertFails) {
  const SandboxResult r =
      RunPythonSandboxed("def add(a, b):\n    return a - b\nassert add(1, 2) == 3\n");
  EXPECT_EQ(r.outcome, Outcome::kFailed) << r.output;
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("AssertionError"), std::string::npos) << r.output;
}

TEST_F(SandboxRun, ExitCodeIsReported) {
  const SandboxResult r = RunPythonSandboxed("import sys\nsys.exit(7)\n");
  EXPECT_EQ(r.outcome, Outcome::kFailed) << r.output;
  EXPECT_EQ(r.exit_code, 7);
}

TEST_F(SandboxRun, InfiniteLoopHitsTheWallClockLimit) {
  SandboxLimits limits;
  limits.wall_seconds = 1.0;
  const Clock::time_point start = Clock::now();
  const SandboxResult r =
      RunPythonSandboxed("print('looping', flush=True)\nwhile True:\n    pass\n", limits);
  const double elapsed = SecondsSince(start);
  EXPECT_EQ(r.outcome, Outcome::kTimedOut) << r.output;
  // Output written before the kill is kept.
  EXPECT_NE(r.output.find("looping"), std::string::npos) << r.output;
  // Functional bound, not a speed claim: the run must end by the kill at 1 s, not by itself.
  EXPECT_GE(elapsed, 0.9);
  EXPECT_LT(elapsed, 3.0);
}

TEST_F(SandboxRun, CpuLimitCountsAsTimeout) {
  SandboxLimits limits;
  limits.cpu_seconds = 1;
  limits.wall_seconds = 20.0;
  const Clock::time_point start = Clock::now();
  const SandboxResult r = RunPythonSandboxed("while True:\n    pass\n", limits);
  EXPECT_EQ(r.outcome, Outcome::kTimedOut) << r.output;
  EXPECT_EQ(r.exit_code, -SIGXCPU);
  EXPECT_LT(SecondsSince(start), 10.0);  // stopped by RLIMIT_CPU, far before the wall limit
}

TEST_F(SandboxRun, SignalDeathIsACrash) {
  const SandboxResult r =
      RunPythonSandboxed("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n");
  EXPECT_EQ(r.outcome, Outcome::kCrashed) << r.output;
  EXPECT_EQ(r.exit_code, -SIGSEGV);
  EXPECT_NE(r.output.find("SIGSEGV"), std::string::npos) << r.output;
}

TEST_F(SandboxRun, NetworkIsUnreachable) {
  // A listener on the host's loopback: a sandbox sharing the host's network would reach it.
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  const std::string program =
      "import socket, sys\n"
      "reached = []\n"
      "for host, port in [('127.0.0.1', " +
      std::to_string(port) +
      "), ('1.1.1.1', 53)]:\n"
      "    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
      "    s.settimeout(1.0)\n"
      "    try:\n"
      "        s.connect((host, port))\n"
      "        reached.append(host)\n"
      "    except OSError as e:\n"
      "        print('blocked', host, e)\n"
      "    finally:\n"
      "        s.close()\n"
      "if reached:\n"
      "    print('REACHED', reached)\n"
      "    sys.exit(1)\n"
      "print('NETWORK BLOCKED')\n";
  const SandboxResult r = RunPythonSandboxed(program);
  close(listener);
  if (!r.network_isolated) {
    GTEST_SKIP() << "no private network namespace here (unshare failed); the run reported "
                 << OutcomeName(r.outcome);
  }
  EXPECT_EQ(r.outcome, Outcome::kPassed) << r.output;
  EXPECT_NE(r.output.find("NETWORK BLOCKED"), std::string::npos) << r.output;
}

TEST_F(SandboxRun, RunsInAScratchDirectoryThatIsRemoved) {
  const char* tmpdir = std::getenv("TMPDIR");
  const std::string parent = (tmpdir != nullptr && tmpdir[0] != '\0') ? tmpdir : "/tmp";
  const SandboxResult r = RunPythonSandboxed(
      "import os\n"
      "with open('out.txt', 'w') as f:\n"
      "    f.write('data')\n"
      "assert open('out.txt').read() == 'data'\n"
      "os.makedirs('locked/inner')\n"
      "open('locked/inner/file', 'w').close()\n"
      "os.chmod('locked/inner', 0)\n"
      "os.chmod('locked', 0o500)\n"
      "os.symlink('/etc', 'etc-link')\n"
      "print('CWD=' + os.getcwd())\n"
      "print('HOME=' + os.environ['HOME'])\n"
      "print('TMPDIR=' + os.environ['TMPDIR'])\n");
  ASSERT_EQ(r.outcome, Outcome::kPassed) << r.output;
  const std::string cwd = ValueAfter(r.output, "CWD=");
  ASSERT_FALSE(cwd.empty()) << r.output;
  EXPECT_EQ(fs::path(cwd).parent_path(), fs::absolute(parent)) << cwd;
  EXPECT_EQ(fs::path(cwd).filename().string().rfind("qforge-sandbox-", 0), 0u) << cwd;
  EXPECT_EQ(ValueAfter(r.output, "HOME="), cwd);
  EXPECT_EQ(ValueAfter(r.output, "TMPDIR="), cwd);
  EXPECT_FALSE(fs::exists(fs::symlink_status(cwd))) << cwd << " was left behind";
  EXPECT_TRUE(fs::exists("/etc"));  // the link was removed, not followed
}

TEST_F(SandboxRun, EnvironmentIsNotInherited) {
  ASSERT_EQ(setenv("QFORGE_SANDBOX_CANARY", "leaked", 1), 0);
  const SandboxResult r = RunPythonSandboxed(
      "import os\nprint('CANARY=' + os.environ.get('QFORGE_SANDBOX_CANARY', 'absent'))\n");
  unsetenv("QFORGE_SANDBOX_CANARY");
  ASSERT_EQ(r.outcome, Outcome::kPassed) << r.output;
  EXPECT_EQ(ValueAfter(r.output, "CANARY="), "absent");
}

TEST_F(SandboxRun, CallerDescriptorsAreClosed) {
  const int inherited = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(inherited, 0);
  const SandboxResult r = RunPythonSandboxed(
      "import os\n"
      "open_fds = []\n"
      "for fd in range(3, 4096):\n"
      "    try:\n"
      "        os.fstat(fd)\n"
      "        open_fds.append(fd)\n"
      "    except OSError:\n"
      "        pass\n"
      "print('OPEN', open_fds)\n"
      "assert not open_fds\n");
  close(inherited);
  EXPECT_EQ(r.outcome, Outcome::kPassed) << r.output;
}

TEST_F(SandboxRun, LargeAllocationFails) {
  const SandboxResult r = RunPythonSandboxed("block = bytearray(4 << 30)\nprint('ALLOCATED')\n");
  EXPECT_EQ(r.outcome, Outcome::kFailed) << r.output;
  EXPECT_NE(r.output.find("MemoryError"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("ALLOCATED"), std::string::npos) << r.output;
}

TEST_F(SandboxRun, FileSizeIsLimited) {
  SandboxLimits limits;
  limits.file_bytes = 1 << 20;
  const SandboxResult r = RunPythonSandboxed(
      "with open('big.bin', 'wb') as f:\n"
      "    f.write(b'x' * (2 << 20))\n"
      "print('WROTE')\n",
      limits);
  EXPECT_NE(r.outcome, Outcome::kPassed) << r.output;
  EXPECT_EQ(r.output.find("WROTE"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
}

TEST_F(SandboxRun, OutputKeepsTheTail) {
  const SandboxResult r = RunPythonSandboxed(
      "for i in range(50000):\n"
      "    print('line', i)\n"
      "raise ValueError('the tail survives')\n");
  EXPECT_EQ(r.outcome, Outcome::kFailed) << r.output;
  EXPECT_LE(r.output.size(), 4096u + 64u);
  EXPECT_NE(r.output.find("bytes of earlier output cut"), std::string::npos);
  EXPECT_NE(r.output.find("ValueError: the tail survives"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("line 0\n"), std::string::npos);
}

TEST_F(SandboxRun, BackgroundChildrenDoNotOutliveTheRun) {
  // A sleep with an argument no other process has, so the scan below finds only ours.
  const std::string tag = "100." + std::to_string(getpid());
  const std::string program =
      "import subprocess, time\n"
      "subprocess.Popen(['sleep', '" +
      tag +
      "'])\n"
      "print('spawned', flush=True)\n"
      "time.sleep(1.0)\n";
  SandboxResult r;
  const Clock::time_point start = Clock::now();
  std::jthread runner([&] { r = RunPythonSandboxed(program); });  // joins even if a check throws
  // Control: while the program sleeps, its child is visible, so the scan can find it.
  const bool seen = Eventually([&] { return !ProcessesRunning({"sleep", tag}).empty(); }, 1.5);
  runner.join();
  const double elapsed = SecondsSince(start);
  EXPECT_TRUE(seen) << "never saw the sandboxed sleep " << tag;
  EXPECT_EQ(r.outcome, Outcome::kPassed) << r.output;
  EXPECT_LT(elapsed, 3.0);  // the leftover sleep holding stdout does not keep the run waiting
  const bool gone = Eventually([&] { return ProcessesRunning({"sleep", tag}).empty(); }, 2.0);
  EXPECT_TRUE(gone) << "sleep " << tag << " outlived the sandbox run";
}

TEST_F(SandboxRun, ConcurrentRunsStaySeparate) {
  constexpr int kRuns = 4;
  std::vector<SandboxResult> results(kRuns);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRuns; ++i) {
    threads.emplace_back([&results, i] {
      results[i] = RunPythonSandboxed("import os\nprint('RUN=" + std::to_string(i) +
                                      "')\nprint('CWD=' + os.getcwd())\n");
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<std::string> dirs;
  for (int i = 0; i < kRuns; ++i) {
    EXPECT_EQ(results[i].outcome, Outcome::kPassed) << results[i].output;
    EXPECT_EQ(ValueAfter(results[i].output, "RUN="), std::to_string(i));
    dirs.push_back(ValueAfter(results[i].output, "CWD="));
    for (int j = 0; j < i; ++j) EXPECT_NE(dirs[i], dirs[j]);
  }
}

TEST_F(SandboxRun, InterpreterThatCannotStartIsUnavailable) {
  // A "python3" that execve rejects (no #! line, not an ELF file): the exec error comes back
  // through the status pipe.
  const fs::path dir =
      fs::temp_directory_path() / ("qforge-sandbox-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  {
    std::ofstream fake(dir / "python3");
    fake << "this is not a program\n";
  }
  fs::permissions(dir / "python3", fs::perms::owner_all);
  const char* path = std::getenv("PATH");
  const std::string saved = path != nullptr ? path : "";
  ASSERT_EQ(setenv("PATH", dir.c_str(), 1), 0);
  const SandboxResult bad_exec = RunPythonSandboxed("print('hi')\n");
  ASSERT_EQ(setenv("PATH", (dir / "missing").c_str(), 1), 0);
  const SandboxResult missing = RunPythonSandboxed("print('hi')\n");
  ASSERT_EQ(setenv("PATH", saved.c_str(), 1), 0);
  fs::remove_all(dir);

  EXPECT_EQ(bad_exec.outcome, Outcome::kUnavailable) << bad_exec.output;
  EXPECT_NE(bad_exec.output.find("exec"), std::string::npos) << bad_exec.output;
  EXPECT_EQ(missing.outcome, Outcome::kUnavailable) << missing.output;
  EXPECT_NE(missing.output.find("python3"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace qforge
