#include "test_paths.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace qforge::testing {

namespace {
std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

std::string RepoDir() { return QFORGE_SOURCE_DIR; }
std::string SharedDir() { return EnvOr("QFORGE_SHARED_DIR", std::string(QFORGE_SOURCE_DIR) + "/../shared"); }
std::string ModelsDir() { return EnvOr("QFORGE_MODELS_DIR", std::string(QFORGE_SOURCE_DIR) + "/models"); }
std::string CliPath() { return QFORGE_CLI_PATH; }
std::string SmolLM2Path() { return ModelsDir() + "/SmolLM2-135M-Instruct.Q4_1.gguf"; }
std::string LlamaCppReferenceDir() { return SharedDir() + "/testdata/llamacpp"; }
std::string TinyModelPath() { return LlamaCppReferenceDir() + "/tiny-llama-f32.gguf"; }

std::string TempDir() {
  static const std::string dir = [] {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/qforge-test-XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    return std::string(made ? made : "/tmp");
  }();
  return dir;
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool ModelsRequired() {
  const char* v = std::getenv("QFORGE_REQUIRE_MODELS");
  return v && std::string(v) == "1";
}

CommandResult RunCli(const std::string& args) {
  static int counter = 0;
  const std::string base = TempDir() + "/cli" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  const std::string cmd = CliPath() + " " + args + " >" + base + ".out 2>" + base + ".err";
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = Slurp(base + ".out");
  r.err = Slurp(base + ".err");
  return r;
}

}  // namespace qforge::testing
