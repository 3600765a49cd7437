// Each subcommand registers its options on the root app and returns the function that runs
// it. Exit codes are shared by every command: 0 success, 1 a check failed (e.g. an eval gate),
// 2 bad input or usage.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace qforge::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitBadInput = 2;

struct Subcommand {
  CLI::App* app;
  std::function<int()> run;
};

Subcommand AddInfoCommand(CLI::App& root);
Subcommand AddGenerateCommand(CLI::App& root);
Subcommand AddPerplexityCommand(CLI::App& root);
Subcommand AddQuantizeCommand(CLI::App& root);
Subcommand AddImatrixCommand(CLI::App& root);
Subcommand AddEvalCommand(CLI::App& root, int argc, char** argv);
Subcommand AddServeBenchCommand(CLI::App& root);

// Prints "qforge: <message>" on stderr and returns kExitBadInput.
int Fail(const std::string& message);

}  // namespace qforge::cli
