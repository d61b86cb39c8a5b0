// The list of `strobe` subcommands. Add one line per subcommand (see command.h).
#include <CLI/CLI.hpp>
#include <vector>

#include "command.h"

namespace strobe::cli {

std::vector<Command> AddCommands(CLI::App& /*app*/) {
  std::vector<Command> commands;
  return commands;
}

}  // namespace strobe::cli
