#pragma once

// strobed::config: the daemon's configuration — model, loading, validation and printing.
//
// Sources, later ones win:  built-in defaults < YAML file (--config) < STROBE_* environment
// variables < command-line flags (--http, ..., --set key=value).
//
//   config::LoadOptions o;
//   o.file = "strobe.yaml";
//   o.overrides = {{"listen.http", "127.0.0.1:0"}};
//   strobe::Result<config::Config> c = config::Load(o);
//   if (!c.ok()) { print c.status().message(); exit 2; }   // "strobe.yaml:12:3: unknown key ..."
//
// The daemon's own keys are a typed table (KeySpecs()): dotted path ("server.max_body_bytes"),
// kind, default, environment variable, whether SIGHUP can apply it live, and a description.
// docs/configuration.md lists the same table; --print-config prints the effective values.
//
// Sections owned by other modules (receivers, processors, exporters, connectors, pipelines,
// service, stream, alerts) are kept as raw YAML nodes with the file name (Config::Section) and
// validated by those modules, which report errors with the node's Mark (line/column). To add such a
// section, append its name to kModuleSections in config.cc.
//
// Errors always name where: "FILE:LINE:COL: reason" for the file, "environment STROBE_X:
// reason", "flag --http: reason". Unknown keys are errors.
//
// Thread class: value types, thread-compatible; Load is thread-safe.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strobe/base/status.h"

namespace strobed::config {

// A listener address: "127.0.0.1:9800", ":0" (127.0.0.1, a free port), "[::1]:9800", or
// "off" (disabled).
struct ListenAddress {
  bool enabled = true;
  std::string host = "127.0.0.1";
  uint16_t port = 0;

  std::string ToString() const;
  static strobe::Result<ListenAddress> Parse(std::string_view text);
  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

// A section owned by another module: its YAML node (null when absent) and the file it came
// from, for "file:line:col" errors (line = node.Mark().line + 1). Copies of a Config share
// the parsed document: read it through a const YAML::Node (non-const operator[] of yaml-cpp
// inserts nodes, which would race with other readers).
struct RawSection {
  YAML::Node node;
  std::string file;
  bool present() const { return node.IsDefined() && !node.IsNull(); }
};

struct ServerConfig {
  int threads = 1;
  uint64_t max_body_bytes = uint64_t{1} << 20;
  uint64_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds read_header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  uint32_t max_connections = 1024;
  uint32_t reserved_connections = 16;       // of max_connections, for /healthz /readyz /metrics
  uint32_t max_connections_per_client = 0;  // 0: no limit
};

struct HostConfig {
  bool enabled = true;
  std::chrono::milliseconds interval{1000};
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
};

struct DemoConfig {
  bool enabled = false;
  double rate = 200;  // synthetic requests per second across all services
  uint64_t seed = 1;
  uint64_t extra_series = 0;  // load testing: this many extra counter series
};

struct Config {
  ListenAddress http{true, "127.0.0.1", 9800};
  ListenAddress otlp_http{true, "127.0.0.1", 4318};
  ListenAddress otlp_grpc{true, "127.0.0.1", 4317};
  ListenAddress wire{true, "127.0.0.1", 9801};
  std::string shm_name = "strobe";
  std::string shm_dir = "/dev/shm";
  std::chrono::milliseconds shm_snapshot_interval{250};
  std::string data_dir = "./strobe-data";
  std::string log_level = "info";
  std::string auth_token;  // empty: no auth
  std::chrono::milliseconds grace_period{10'000};
  ServerConfig server;
  HostConfig host;
  DemoConfig demo;

  std::string file;  // the YAML file loaded, "" for none
  std::map<std::string, RawSection, std::less<>> sections;

  // A module's section; an empty RawSection (present() false) when absent.
  const RawSection& Section(std::string_view name) const;
};

enum class KeyKind : uint8_t { kString, kBool, kInt, kDouble, kDuration, kBytes, kListen, kEnum };

struct KeySpec {
  std::string_view path;  // dotted YAML path
  KeyKind kind;
  std::string_view env;  // STROBE_* variable
  bool reloadable;       // SIGHUP applies it without a restart
  bool secret;           // redacted by --print-config
  std::string_view description;
  std::string_view choices;  // kEnum: "trace|debug|info|warn|error|off"
  int64_t min = 0;           // kInt: inclusive range
  int64_t max = 0;
};

// The daemon's key table, in documentation order.
std::span<const KeySpec> KeySpecs();
// Names of sections owned by other modules (kept raw).
std::span<const std::string_view> ModuleSections();

// Which built-in module sections Load() adds (defaults.h): the default pipeline and the demo's
// stream/alert rules. Off unless the caller (`strobe serve`) turns it on; the plugin flags say
// which optional plugins this build registers (the config module does not depend on them).
struct BuiltinSections {
  bool enabled = false;
  bool shm_receiver = false;
  bool prometheus_exporter = false;
};

struct LoadOptions {
  std::string file;  // "" = defaults only
  // The YAML text of `file` when it is already in memory (tests, fuzzing); `file` then only
  // names it in errors.
  std::optional<std::string> text;
  // Looks up an environment variable; nullopt when unset. Defaults to getenv.
  std::function<std::optional<std::string>(std::string_view)> env;
  // Dotted key → value text, applied last, in order. `flag` names the source for errors.
  struct Override {
    std::string key;
    std::string value;
    std::string flag;  // "--http"; "" → "--set KEY=VALUE"
  };
  std::vector<Override> overrides;
  // Applied after the overrides (see BuiltinSections).
  BuiltinSections builtin;
};

// Builds the effective configuration; see the header comment for precedence and errors.
// Errors are INVALID_ARGUMENT (bad content) or NOT_FOUND (file missing).
strobe::Result<Config> Load(const LoadOptions& options);

// Canonical text of `key` in `config` ("1MiB" → "1048576", durations as "1500ms").
std::string ValueText(const Config& config, const KeySpec& key);

// The effective configuration as YAML, secrets redacted; module sections included verbatim.
std::string Print(const Config& config);

// A short stable digest (16 hex digits) of Print(config) plus whether a token is set.
std::string Digest(const Config& config);

// Keys whose value differs between `running` and `next` and need a restart to apply, as
// dotted paths (module sections by name).
std::vector<std::string> RestartRequired(const Config& running, const Config& next);

// "100ms", "2s", "1m", "1h", "500us", or a bare integer of milliseconds.
strobe::Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// "64MiB", "1GB", "4KiB", "4096".
strobe::Result<uint64_t> ParseBytes(std::string_view text);
std::string DurationText(std::chrono::milliseconds d);

}  // namespace strobed::config
