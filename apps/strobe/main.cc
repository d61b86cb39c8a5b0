// The `strobe` command: one binary with subcommands (today `serve` and `bench`; commands.cc
// lists them).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <vector>

#include "command.h"
#include "strobe/base/version.h"

namespace strobe::cli {
// Subcommands register here, one line each (see command.h).
std::vector<Command> AddCommands(CLI::App& app);
}  // namespace strobe::cli

int main(int argc, char** argv) {
  CLI::App app{"strobe: a real-time telemetry engine (daemon, load generator and tools)", "strobe"};
  app.set_version_flag("--version", std::string("strobe ") + strobe::kVersion);
  app.require_subcommand(0, 1);
  app.fallthrough(false);

  std::vector<strobe::cli::Command> commands = strobe::cli::AddCommands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the reason; every usage error exits 2, as POSIX tools do.
    app.exit(e);
    return strobe::cli::kExitUsage;
  }

  for (const auto& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  std::fputs(app.help().c_str(), stdout);
  return strobe::cli::kExitOk;
}
