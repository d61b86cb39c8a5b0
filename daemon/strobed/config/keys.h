#pragma once

// The daemon's own configuration keys: one typed table (KeySpecs()), each entry a
// base::OptionSpec (dotted path as key, type, bounds, description) plus where else the key can
// be set (a STROBE_* environment variable), whether SIGHUP applies it live, and whether it is
// a secret. Parsing and bounds checking are base/options.h's, shared with plugin option tables,
// so "64MiB", "1.5s" and "[1, 64]" mean the same in both places.
//
// Keep docs/configuration.md in step: config_test checks every key and variable is documented.
//
// Thread class: the table is immutable after first use (thread-safe); SetValue/ValueText are
// thread-compatible on the Config they touch.

#include <span>
#include <string>
#include <string_view>

#include "strobe/base/status.h"
#include "strobed/base/options.h"
#include "strobed/config/config.h"

namespace strobed::config {

struct KeySpec {
  base::OptionSpec option;  // option.key is the dotted YAML path, e.g. "server.threads"
  std::string env;          // STROBE_* variable
  bool reloadable = false;  // SIGHUP applies it without a restart
  bool secret = false;      // redacted by --print-config
  bool listen = false;      // a listener (kString): HOST:PORT, :PORT, [v6]:PORT or off

  const std::string& path() const { return option.key; }
};

// The daemon's key table, in documentation order.
std::span<const KeySpec> KeySpecs();
// Names of sections owned by other modules (kept raw in Config::sections).
std::span<const std::string_view> ModuleSections();
// Whether a SIGHUP hands module section `name` to the running components (`alerts`: the alert
// engine applies it, except the sub-keys RestartSubKeys lists) rather than keeping the running
// one (every other module section needs a restart).
bool ReloadableSection(std::string_view name);
// The sub-keys of a reloadable section that still need a restart ("notifiers" of alerts).
std::span<const std::string_view> RestartSubKeys(std::string_view section);

// The key at `path`, or nullptr.
const KeySpec* FindKey(std::string_view path);
// True when some key lives under `prefix.` (a YAML map such as "server").
bool IsKeyGroup(std::string_view prefix);
// The names directly under `prefix` ("" = top level, module sections included), sorted and
// comma-separated, for "unknown key" errors.
std::string KnownKeysUnder(std::string_view prefix);

// Parses `text` for `key` (type and bounds, base::ParseOptionValue) and stores it into the
// field of `config` the key maps to. INVALID_ARGUMENT naming the value, not the source: the
// caller prefixes "file:line:col: key: ", "environment STROBE_X: " or "flag --x: ".
strobe::Status SetValue(Config& config, const KeySpec& key, std::string_view text);

// Canonical text of `key` in `config` ("1MiB" → "1048576", durations as "1500ms").
std::string ValueText(const Config& config, const KeySpec& key);

}  // namespace strobed::config
