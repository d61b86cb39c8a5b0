#pragma once

// How a `strobe` subcommand plugs into the CLI. Each subcommand lives in its own
// <name>_command.cc and exposes one Add<Name>Command function, listed once in main.cc.
// The function declares the subcommand and its flags on `app` and returns what to run
// when the user chose it. Exit codes: 0 success, 1 runtime failure, 2 usage/config error.

#include <functional>

namespace CLI {
class App;
}  // namespace CLI

namespace strobe::cli {

struct Command {
  CLI::App* app;             // the subcommand, owned by the parent App
  std::function<int()> run;  // called after a successful parse when `app` was chosen
};

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace strobe::cli
