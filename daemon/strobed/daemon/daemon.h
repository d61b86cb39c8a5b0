#pragma once

// strobed::daemon::Daemon: the body of `strobe serve` — owns the configuration, the main
// HTTP listener and its API routes, the components, and the process lifecycle.
//
//   Daemon::BlockSignals();                 // first, before any thread exists
//   Daemon d({.config = cfg, .load = how_to_reload});
//   d.AddComponent(std::make_unique<host::HostCollector>(...));   // started in this order
//   if (auto s = d.Start(); !s.ok()) { print; return 1; }
//   return d.Run();                         // until SIGTERM/SIGINT; SIGHUP reloads
//
// Routes it serves on the --http listener (others mount theirs on router() or via
// ComponentContext::api):
//   GET /healthz          200 {"status":"ok"} while the process runs (never needs auth)
//   GET /readyz           200 when every component is running and ready, else 503 with the
//                         reasons in the JSON error message
//   GET /metrics          Prometheus text 0.0.4 or OpenMetrics 1.0 by Accept header
//   GET /api/v1/status    version, uptime, pid, config file and digest, listeners (bound
//                         addresses), component states
//   GET /api/v1/metrics   JSON snapshot of every metric (?name=prefix filters by name prefix)
//
// Shutdown (SIGTERM/SIGINT or RequestStop): the API listener drains first (no request in
// flight is cut off), then components stop in reverse order, all within
// shutdown.grace_period. Run() returns 0 when everything stopped cleanly or drained by the
// deadline (what was dropped at the deadline is logged and counted).
//
// Reload (SIGHUP or RequestReload): the configuration is loaded again with the same
// sources; on error the running configuration stays and the error is logged (and counted in
// strobe_config_reloads_total{result="error"}); otherwise keys that need a restart are
// logged by name and everything reloadable (log level, token, grace period, host interval,
// demo rate, ...) is applied, components get Reload(). A component whose Reload() fails keeps
// its running state; the reload then counts as an error (result="error", reloads_failed, the
// status's last_reload names the component) although the other components applied it.
//
// Auth: the daemon owns the one server::Authenticator every HTTP listener checks (the API
// listener, and through ComponentContext::auth every otlp_http receiver). At Start and on every
// reload it reads auth.token or auth.token_file (re-read each time); a token file that cannot
// be read or is too open fails Start, and fails a reload as a whole (the running configuration
// and tokens stay, counted in strobe_auth_reloads_total{result="error"}), so a failed re-read
// never opens a listener. A successful reload swaps the accepted tokens for every listener at
// once, before components reload; a change is logged, and removing the last token is logged
// as a warning (every listener is then open).
//
// Thread class: Start/Run/Shutdown/Reload on the control thread; RequestStop/RequestReload
// and the getters are thread-safe.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/status.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/base/byte_budget.h"
#include "strobed/config/config.h"
#include "strobed/daemon/component.h"
#include "strobed/server/http_server.h"
#include "strobed/server/router.h"
#include "strobed/server/server_metrics.h"

namespace strobe::metrics {
class Registry;
}

namespace strobed::daemon {

enum class ComponentState : uint8_t { kCreated, kStarting, kRunning, kFailed, kStopping, kStopped };
std::string_view ComponentStateName(ComponentState state);

struct DaemonOptions {
  config::Config config;
  // How the configuration was loaded; SIGHUP loads again with these.
  config::LoadOptions load;
  // Registry for self-metrics and /metrics; nullptr = Registry::Default().
  strobe::metrics::Registry* registry = nullptr;
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it creates
  // later, so Run() can wait for them synchronously. Call first in main.
  static void BlockSignals();

  // Adds a component (before Start).
  void AddComponent(std::unique_ptr<Component> component);

  server::Router& router() { return router_; }
  strobe::metrics::Registry& registry() { return *registry_; }
  server::ServerMetrics& server_metrics() { return *server_metrics_; }

  // Binds the API listener (unless listen.http is off) and starts the components in order.
  // On error everything started is stopped again and the error names what failed.
  strobe::Status Start();

  // Waits for SIGTERM/SIGINT (→ Shutdown, returns the exit code) and handles SIGHUP.
  int Run();

  void RequestStop();
  void RequestReload();

  // Graceful stop within the grace period. Idempotent.
  strobe::Status Shutdown();

  // Loads the configuration again and applies it; see the header comment.
  strobe::Status Reload();

  // "127.0.0.1:9800" (bound port), "" when the listener is off or not started.
  std::string HttpAddress() const;
  // Listener name → bound address, including those reported by components.
  std::map<std::string, std::string> Listeners() const;
  // A component reports the address it bound ("otlp_http" → "127.0.0.1:4318").
  void ReportListener(std::string name, std::string address);

  config::Config CurrentConfig() const;

 private:
  struct Slot {
    std::unique_ptr<Component> component;
    std::atomic<ComponentState> state{ComponentState::kCreated};
    std::string error;  // guarded by mu_
  };

  // Reads auth.token / auth.token_file of `config` and publishes the tokens to every listener;
  // on error nothing changes. `reload`: at a reload (counted, logged as such), else at Start.
  strobe::Status ApplyAuth(const config::Config& config, bool reload);
  void RegisterRoutes();
  void RegisterSelfMetrics();
  server::Response Readyz() const;
  server::Response Status() const;
  server::Response MetricsText(const server::Request& req) const;
  server::Response MetricsJson(const server::Request& req) const;

  strobe::metrics::Registry* registry_;
  // The ingress budget every HTTP listener and decompression charges (before the listeners and
  // components: it outlives them). Sized once at construction (server.max_inflight_body_bytes).
  std::unique_ptr<base::ByteBudget> ingress_budget_;
  server::Router router_;
  std::unique_ptr<server::ServerMetrics> server_metrics_;
  // Shared with every HTTP listener (read-only for them); Set() only on the control thread.
  const std::shared_ptr<server::Authenticator> auth_;
  std::unique_ptr<server::HttpServer> http_;
  std::vector<std::unique_ptr<Slot>> slots_;
  const config::LoadOptions load_options_;
  const std::chrono::steady_clock::time_point start_steady_;
  const std::chrono::system_clock::time_point start_wall_;

  mutable strobe::Mutex mu_;
  config::Config config_ STROBE_GUARDED_BY(mu_);
  std::map<std::string, std::string> listeners_ STROBE_GUARDED_BY(mu_);
  std::string last_reload_ STROBE_GUARDED_BY(mu_) = "none";

  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> reload_requested_{false};
  std::atomic<uint64_t> reloads_ok_{0};
  std::atomic<uint64_t> reloads_failed_{0};
  // strobe_auth_reloads_total{result}: token (re)reads that changed the accepted set, left it
  // as it was, or failed (the old tokens kept).
  std::atomic<uint64_t> auth_changed_{0};
  std::atomic<uint64_t> auth_unchanged_{0};
  std::atomic<uint64_t> auth_failed_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};  // read by /readyz and /api/v1/status
};

}  // namespace strobed::daemon
