#pragma once

// strobed::daemon::Component: what a long-lived part of the daemon (pipeline service,
// receivers, exporters, stream engine, host collector, demo workload) implements to be
// started, watched and stopped by the Daemon.
//
//   class HostCollector : public daemon::Component {
//    public:
//     std::string Name() const override { return "host"; }
//     strobe::Status Start(const ComponentContext& ctx) override;   // spawn threads, bind
//     strobe::Status Shutdown(Deadline deadline) override;         // flush, join
//     Readiness Ready() const override;                            // for /readyz
//   };
//   daemon.AddComponent(std::make_unique<HostCollector>(...));
//
// Lifecycle (driven by the Daemon on its control thread): Start() in the order components
// were added; Reload() on SIGHUP for running components; Shutdown() in reverse order at
// SIGTERM/SIGINT with the deadline of the grace period. A Start() error stops the daemon
// (already started components are shut down) and is printed as "component NAME: message".
// Ready() and StatusJson() may be called from HTTP threads at any time after Start()
// returned OK, so they must be thread-safe and cheap.
//
// Thread class: see each method.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "strobe/base/status.h"

namespace strobe::metrics {
class Registry;
}  // namespace strobe::metrics

namespace strobed::base {
class ByteBudget;
}  // namespace strobed::base

namespace strobed::server {
class Authenticator;
class Router;
class ServerMetrics;
}  // namespace strobed::server

namespace strobed::config {
struct Config;
}  // namespace strobed::config

namespace strobed::daemon {

using Deadline = std::chrono::steady_clock::time_point;

struct Readiness {
  bool ready = true;
  std::string reason;  // why not ready ("connecting to http://...", "replaying queue")
};

// What a component gets at Start.
struct ComponentContext {
  const config::Config& config;         // the configuration at start (copy what you keep)
  strobe::metrics::Registry& registry;  // self-metrics and aggregated metrics (/metrics)
  server::Router& api;                  // routes of the main HTTP listener (--http)
  // Reports a listener a component opened ("otlp_http" → "127.0.0.1:4318") for the log and
  // /api/v1/status. May be empty (tests); thread-safe.
  std::function<void(std::string name, std::string address)> report_listener = nullptr;
  // Self-metrics of HTTP listeners (strobe_http_*{listener}): a component that opens its own
  // HttpServer attaches it here. Null in tests.
  server::ServerMetrics* http_metrics = nullptr;
  // The ingress budget (server.max_inflight_body_bytes) every HTTP listener and decompression
  // charges; a component that opens an HttpServer or inflates bodies passes it on. Null in
  // tests.
  base::ByteBudget* ingress_budget = nullptr;
  // The bearer-token check of every HTTP listener (server/auth.h): a component that opens its
  // own HttpServer passes it to ServerOptions::auth, so one SIGHUP rotates the token on every
  // listener at once. The daemon owns it and changes its tokens; null in tests (no auth).
  std::shared_ptr<const server::Authenticator> auth = nullptr;
};

class Component {
 public:
  virtual ~Component() = default;

  // Stable name for logs, /readyz and /api/v1/status: "host", "pipeline/traces".
  virtual std::string Name() const = 0;

  // Starts the component (spawn threads, bind sockets, register metrics and routes). Must not
  // block for long. Control thread.
  virtual strobe::Status Start(const ComponentContext& ctx) = 0;

  // Stops: drain and flush what is in flight, release resources, join threads, before
  // `deadline` where possible; data still held at the deadline is dropped and counted.
  // Returns DeadlineExceeded when it had to drop. Control thread. Called once, only after a
  // successful Start.
  virtual strobe::Status Shutdown(Deadline deadline) = 0;

  // Applies what it can of a reloaded configuration (the Daemon has already told the user
  // which keys need a restart). Control thread.
  virtual strobe::Status Reload(const config::Config& next) {
    (void)next;
    return strobe::OkStatus();
  }

  // For /readyz. Thread-safe.
  virtual Readiness Ready() const { return {}; }

  // Extra details for /api/v1/status: a JSON object ("{...}") or "" for none. Thread-safe.
  virtual std::string StatusJson() const { return ""; }
};

}  // namespace strobed::daemon
