#pragma once

// What every pipeline plugin (receiver, processor, exporter) shares: its id, its typed option
// table, and the context it is created with.
//
// Options are declared as a table of OptionSpec (key, type, default, description), as
// fluent-bit's config_map: the configuration parser validates a component's YAML block
// against the table (unknown key, wrong type → error with file:line), and `strobe serve
// --help-plugins` and docs are generated from it. Plugins with nested structure (tail
// sampling policies) declare an option of type kNode and read the raw YAML themselves.
//
// Thread class: value types, thread-compatible.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"

namespace spdlog {
class logger;
}  // namespace spdlog
namespace strobe::metrics {
class Registry;
}  // namespace strobe::metrics
namespace strobed::event {
class BatchPool;
class KeyTable;
}  // namespace strobed::event
namespace strobed::server {
class Router;
class ServerMetrics;
}  // namespace strobed::server
namespace strobed::stream {
class EngineSlot;
}  // namespace strobed::stream
namespace strobed::trace {
class TraceStore;
}  // namespace strobed::trace

namespace strobed::pipeline {

class Clock;

// "type" or "type/name", as in OpenTelemetry Collector configurations (`otlp_http/internal`).
struct ComponentId {
  std::string type;
  std::string name;  // may be empty

  std::string ToString() const { return name.empty() ? type : type + "/" + name; }
  // Parses "type" or "type/name"; type must be [a-z0-9_]+, name non-empty if '/' is present.
  static strobe::Result<ComponentId> Parse(std::string_view text);
  friend bool operator==(const ComponentId& a, const ComponentId& b) {
    return a.type == b.type && a.name == b.name;
  }
  friend bool operator<(const ComponentId& a, const ComponentId& b) {
    return a.type != b.type ? a.type < b.type : a.name < b.name;
  }
};

enum class OptionType : uint8_t {
  kString,
  kInt,
  kDouble,
  kBool,
  kDuration,    // "100ms", "2s", "1m", "500us", or an integer of milliseconds
  kBytes,       // "64MiB", "1GB", "4096", ...
  kStringList,  // [a, b] or a single string
  kNode,        // free-form YAML; the plugin reads it from Options::Node()
};
std::string_view OptionTypeName(OptionType type);

struct OptionSpec {
  std::string key;
  OptionType type;
  std::string default_value;  // YAML scalar text; empty = no default (optional, unset)
  std::string description;
};

// A component's option values, validated against its spec. Getters of a key that is not in
// the spec, or with the wrong type, are a programming error (STROBE_CHECK). A declared option
// without a default that the user did not set reads as empty: "", 0, false, {} (Has() tells).
class Options {
 public:
  // Validates `node` (a map or null) against `spec`. Errors name `where` (file:line of the
  // offending key) and the key, e.g. "strobe.yaml:12: processors.batch: unknown option
  // 'sendbatch_size' (known: send_batch_size, timeout)".
  static strobe::Result<Options> Parse(const YAML::Node& node, std::span<const OptionSpec> spec,
                                       std::string_view file, std::string_view component);

  bool Has(const std::string& key) const;  // set explicitly or has a default
  std::string GetString(const std::string& key) const;
  int64_t GetInt(const std::string& key) const;
  double GetDouble(const std::string& key) const;
  bool GetBool(const std::string& key) const;
  std::chrono::nanoseconds GetDuration(const std::string& key) const;
  uint64_t GetBytes(const std::string& key) const;
  std::vector<std::string> GetStringList(const std::string& key) const;
  // The raw node of a kNode option (a null node when unset).
  YAML::Node Node(const std::string& key) const;
  // "file:line" of the key's value, or the file alone when it came from a default.
  std::string Where(const std::string& key) const;

 private:
  struct Entry {
    OptionType type;
    YAML::Node node;  // the parsed value node (defaults are parsed from their text)
    int line = 0;     // 1-based; 0 for defaults
  };
  const Entry& Get(const std::string& key, OptionType type) const;
  std::map<std::string, Entry> values_;
  std::map<std::string, OptionType> declared_;
  std::string file_;
};

// Parses "100ms" style durations and "64MiB" style sizes (shared with the daemon's config).
strobe::Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);
strobe::Result<uint64_t> ParseBytes(std::string_view text);

// What the host process shares with its plugins; a plugin reaches these only through its
// context, never through a process-wide singleton. The composition root (service/) fills
// them for `strobe serve`; PipelineService supplies a private metrics registry when the
// embedder gives none, so `metrics` is never null inside a factory. The other pointers are
// null where the process has no such service (unit tests, stand-alone benchmark servers): a
// plugin that needs one fails at create with FailedPrecondition naming it. Everything pointed
// to outlives the PipelineService.
struct PluginServices {
  strobe::metrics::Registry* metrics = nullptr;  // self-metrics and aggregated metrics
  server::Router* router = nullptr;              // routes of the API listener (--http)
  // strobe_http_*{listener} self-metrics; a plugin with its own HttpServer attaches it here.
  server::ServerMetrics* http_metrics = nullptr;
  trace::TraceStore* trace_store = nullptr;      // trace assembly the API and exporters share
  stream::EngineSlot* stream_engines = nullptr;  // the stream engine pipelines feed
  spdlog::logger* logger = nullptr;              // the daemon's logger
  std::string data_dir;  // --data-dir; a plugin creates what it needs below it; "" = none
};

// Everything a plugin factory gets.
struct ComponentContext {
  ComponentId id;
  const Options& options;
  std::string_view file;  // configuration file, for error messages
  Clock& clock;
  event::BatchPool& pool;
  event::KeyTable& keys;
  uint64_t seed;  // deterministic randomness for samplers (tests pin it)
  PluginServices services = {};
};

}  // namespace strobed::pipeline
