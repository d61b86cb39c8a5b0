#pragma once

// Small helpers for code that reads hand-written YAML sections (stream:, alerts:, plugin
// options): where a node is ("file:line" for error messages), a duration node, and
// GuardYaml, which turns yaml-cpp's conversion exceptions inside one entry's parser into that
// entry's error, so one malformed entry never takes the others down.
//
// Thread class: pure functions, thread-safe (on nodes no other thread mutates).

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "strobe/base/status.h"

namespace strobed::base {

// "file:line" of `node` (line 1-based), or `file` alone when the node has no mark.
std::string YamlWhere(std::string_view file, const YAML::Node& node);

// INVALID_ARGUMENT "file:line: message" at `node`.
strobe::Status YamlError(std::string_view file, const YAML::Node& node, std::string_view message);

// Parses a duration node (base::ParseDuration syntax) into nanoseconds. Errors name
// file:line and `what`: "strobe.yaml:7: window 'w': size: 'x' is not a duration (...)".
strobe::Result<uint64_t> ParseDurationNode(const YAML::Node& node, std::string_view file,
                                           std::string_view what);

// Runs `fn` (returning a strobe::Status or strobe::Result<T>); a YAML::Exception it throws
// becomes INVALID_ARGUMENT "file:line: malformed entry: <what>" at `node`.
template <typename Fn>
auto GuardYaml(const YAML::Node& node, std::string_view file, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const YAML::Exception& e) {
    return YamlError(file, node, std::string("malformed entry: ") + e.what());
  }
}

}  // namespace strobed::base
