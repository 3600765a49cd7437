// qforge: quantize LLMs and prove the result still works. One thin file per subcommand.
#include <cstdio>
#include <exception>
#include <new>
#include <vector>

#include "qforge/cli/commands.h"

namespace qforge::cli {

int Fail(const std::string& message) {
  std::fprintf(stderr, "qforge: %s\n", message.c_str());
  return kExitBadInput;
}

}  // namespace qforge::cli

int main(int argc, char** argv) {
  using namespace qforge::cli;
  CLI::App app{"qforge: quantize language models and check they still work", "qforge"};
  app.set_version_flag("--version", QFORGE_VERSION);
  app.require_subcommand(1);
  std::vector<Subcommand> commands = {
      AddInfoCommand(app),
      AddGenerateCommand(app),
      AddPerplexityCommand(app),
      AddImatrixCommand(app),
      AddQuantizeCommand(app),
      AddEvalCommand(app, argc, argv),
      AddServeBenchCommand(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }
  try {
    for (auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
  } catch (const std::bad_alloc&) {
    return Fail("out of memory");
  } catch (const std::exception& e) {
    // Library code reports errors as values; this is the last line of defence (e.g. a
    // filesystem error), still one line and a non-zero exit rather than an abort.
    return Fail(e.what());
  }
  return kExitBadInput;
}
