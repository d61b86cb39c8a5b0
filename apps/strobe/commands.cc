// The list of `strobe` subcommands. Add one line per subcommand (see command.h).
#include <CLI/CLI.hpp>
#include <vector>

#include "command.h"

namespace strobe::cli {

Command AddServeCommand(CLI::App& app);  // serve_command.cc
Command AddBenchCommand(CLI::App& app);  // bench_command.cc

std::vector<Command> AddCommands(CLI::App& app) {
  std::vector<Command> commands;
  commands.push_back(AddServeCommand(app));
  commands.push_back(AddBenchCommand(app));
  return commands;
}

}  // namespace strobe::cli
