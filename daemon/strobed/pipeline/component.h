#pragma once

// What every pipeline plugin (receiver, processor, exporter) shares: its id, its typed option
// table, and the context it is created with.
//
// Options are declared as a table of OptionSpec (key, type, default, description, bounds; see
// base/options.h), as fluent-bit's config_map: the configuration parser validates a
// component's YAML block against the table (unknown key, wrong type, out of bounds → error with
// file:line), and `strobe serve --help-plugins` and docs are generated from it, bounds
// included, so factories do not check ranges themselves. Plugins with nested structure (tail
// sampling policies) declare an option of type kNode and read the raw YAML themselves.
//
// Thread class: value types, thread-compatible.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "strobe/base/status.h"
#include "strobed/base/options.h"

namespace spdlog {
class logger;
}  // namespace spdlog
namespace strobe::metrics {
class Registry;
}  // namespace strobe::metrics
namespace strobed::base {
class ByteBudget;
}  // namespace strobed::base
namespace strobed::event {
class BatchPool;
class KeyTable;
}  // namespace strobed::event
namespace strobed::server {
class Authenticator;
class Router;
class ServerMetrics;
}  // namespace strobed::server
namespace strobed::stream {
class EngineSlot;
}  // namespace strobed::stream
namespace strobed::trace {
class TraceStore;
}  // namespace strobed::trace

namespace strobed::base {
class MonotonicClock;
class WallClock;
}  // namespace strobed::base

namespace strobed::pipeline {

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

// The option table types live in base/options.h (shared with the daemon's own keys); these
// names keep plugin code reading `pipeline::OptionSpec`.
using OptionType = base::OptionType;
using OptionBounds = base::OptionBounds;
using OptionSpec = base::OptionSpec;
using Options = base::Options;
using base::OptionTypeName;

// What the host process shares with its plugins; a plugin reaches these only through its
// context, never through a process-wide singleton. The composition root (service/) fills
// them for `strobe serve`; PipelineService supplies a private metrics registry and the system
// wall clock when the embedder gives none, so `metrics` and `wall_clock` are never null inside
// a factory (the monotonic clock is ComponentContext::clock). The other pointers are
// null where the process has no such service (unit tests, stand-alone benchmark servers): a
// plugin that needs one fails at create with FailedPrecondition naming it. Everything pointed
// to outlives the PipelineService.
struct PluginServices {
  strobe::metrics::Registry* metrics = nullptr;  // self-metrics and aggregated metrics
  base::WallClock* wall_clock = nullptr;         // Unix time (event timestamps, exports)
  server::Router* router = nullptr;              // routes of the API listener (--http)
  // strobe_http_*{listener} self-metrics; a plugin with its own HttpServer attaches it here.
  server::ServerMetrics* http_metrics = nullptr;
  // The ingress budget (server.max_inflight_body_bytes): a plugin that reads request bodies
  // or inflates them charges their buffers here before allocating (base/byte_budget.h).
  base::ByteBudget* ingress_budget = nullptr;
  // The bearer-token check every HTTP listener of the process shares (auth.token /
  // auth.token_file; its owner rotates it on SIGHUP). A plugin with its own HttpServer passes it
  // to ServerOptions::auth. Null: no auth (unit tests, stand-alone servers).
  std::shared_ptr<const server::Authenticator> auth = nullptr;
  trace::TraceStore* trace_store = nullptr;      // trace assembly the API and exporters share
  stream::EngineSlot* stream_engines = nullptr;  // the stream engine pipelines feed
  spdlog::logger* logger = nullptr;              // the daemon's logger
  std::string data_dir;  // --data-dir; a plugin creates what it needs below it; "" = none
};

// Everything a plugin factory gets.
struct ComponentContext {
  ComponentId id;
  const Options& options;
  std::string_view file;        // configuration file, for error messages
  base::MonotonicClock& clock;  // steady time (timeouts, rates, expiry); never Unix time
  event::BatchPool& pool;
  event::KeyTable& keys;
  uint64_t seed;  // deterministic randomness for samplers (tests pin it)
  PluginServices services = {};
};

}  // namespace strobed::pipeline
