#pragma once

// strobed::config: the daemon's configuration — the model and its loading.
//
// The module is split by job: config.h (this file: the model, Load; load.cc), keys.h (the
// typed key table, base::OptionSpec with bounds, and the Config field each key sets),
// listen_address.cc (the HOST:PORT parser), print.h (--print-config, the digest, which
// changes need a restart). Values are parsed by base/parse.h and checked against the bounds in
// the key table by base/options.h, the same code that checks plugin options.
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
// The daemon's own keys are a typed table (keys.h, KeySpecs()): dotted path
// ("server.max_body_bytes"), type and bounds, environment variable, whether SIGHUP can apply it
// live, and a description. docs/configuration.md lists the same table; --print-config
// (print.h) prints the effective values.
//
// Sections owned by other modules (receivers, processors, exporters, connectors, pipelines,
// service, stream, alerts) are kept as raw YAML nodes with the file name (Config::Section) and
// validated by those modules, which report errors with the node's Mark (line/column). To add such a
// section, append its name to kModuleSections in keys.cc.
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
  // The ingress budget: request bodies being read by every HTTP listener (API and OTLP/HTTP
  // receivers) plus their decompression output, in total (docs/security.md "Memory bound").
  uint64_t max_inflight_body_bytes = uint64_t{256} << 20;
};

struct HostConfig {
  bool enabled = true;
  std::chrono::milliseconds interval{1000};
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  bool network_filesystems = false;  // statvfs NFS/CIFS/... mounts (may block on a dead server)
};

// Reclamation of attribute keys of untrusted input (event::KeyTable::Sweep, run by
// pipeline::KeySweeper).
struct KeyTableConfig {
  std::chrono::milliseconds sweep_interval{60'000};  // periodic sweeps; 0: only above high water
  double high_water = 0.75;  // fraction of capacity above which sweeps run every 100 ms
};

// The write-ahead log under data_dir (wal/Wal, docs/design/wal.md).
struct WalConfig {
  std::string sync = "interval";                 // interval | always (wal::SyncPolicy)
  std::chrono::milliseconds sync_interval{100};  // interval: background fdatasync period
  uint64_t segment_bytes = uint64_t{64} << 20;   // rotate segments past this size
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
  std::string shm_allowed_users;  // "" (with shm_allowed_groups ""): the daemon's own
  std::string shm_allowed_groups;
  std::chrono::milliseconds shm_snapshot_interval{250};
  std::string data_dir = "./strobe-data";
  std::string log_level = "info";
  // At most one of the two is set (Load refuses both). The daemon reads the file (at start and
  // on every SIGHUP) into the one Authenticator every listener shares (server/auth.h).
  std::string auth_token;       // empty: no auth (unless auth_token_file)
  std::string auth_token_file;  // path of a token file; empty: none
  std::chrono::milliseconds grace_period{10'000};
  ServerConfig server;
  HostConfig host;
  KeyTableConfig key_table;
  WalConfig wal;
  DemoConfig demo;
  // /debug/pprof on the API listener: "auto" (only when listen.http is loopback), "on", "off".
  std::string debug_pprof = "auto";

  std::string file;  // the YAML file loaded, "" for none
  std::map<std::string, RawSection, std::less<>> sections;

  // A module's section; an empty RawSection (present() false) when absent.
  const RawSection& Section(std::string_view name) const;
};

// Which built-in module sections Load() adds (defaults.h): the default pipeline and the demo's
// stream/alert rules. Off unless the caller (`strobe serve`) turns it on; the plugin flags say
// which optional plugins this build registers (the config module does not depend on them).
struct BuiltinSections {
  bool enabled = false;
  bool shm_receiver = false;
  bool otlp_grpc_receiver = false;
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

}  // namespace strobed::config
