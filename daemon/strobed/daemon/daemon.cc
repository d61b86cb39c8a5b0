#include "strobed/daemon/daemon.h"

#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "strobe/base/check.h"
#include "strobe/base/version.h"
#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/byte_budget.h"
#include "strobed/base/json.h"
#include "strobed/base/parse.h"
#include "strobed/config/keys.h"
#include "strobed/config/print.h"

namespace strobed::daemon {
namespace {

using server::Request;
using server::Response;
using SteadyClock = std::chrono::steady_clock;

spdlog::level::level_enum LogLevel(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "warn") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  if (name == "off") return spdlog::level::off;
  return spdlog::level::info;
}

server::ServerOptions ApiServerOptions(const config::Config& c, base::ByteBudget* budget) {
  server::ServerOptions o;
  o.name = "http";
  o.host = c.http.host;
  o.port = c.http.port;
  o.threads = c.server.threads;
  o.max_header_bytes = c.server.max_header_bytes;
  o.read_header_timeout = c.server.read_header_timeout;
  o.body_timeout = c.server.body_timeout;
  o.idle_timeout = c.server.idle_timeout;
  o.write_timeout = c.server.write_timeout;
  o.max_connections = c.server.max_connections;
  o.reserved_connections = c.server.reserved_connections;
  o.max_connections_per_client = c.server.max_connections_per_client;
  o.max_body_bytes = c.server.max_body_bytes;  // routes that set no limit of their own
  o.body_budget = budget;
  return o;
}

const char* TypeName(strobe::snapshot::MetricType t) {
  switch (t) {
    case strobe::snapshot::MetricType::kCounter:
      return "counter";
    case strobe::snapshot::MetricType::kGauge:
      return "gauge";
    case strobe::snapshot::MetricType::kHistogram:
      return "histogram";
    case strobe::snapshot::MetricType::kSummary:
      return "summary";
  }
  return "unknown";
}

}  // namespace

std::string_view ComponentStateName(ComponentState state) {
  switch (state) {
    case ComponentState::kCreated:
      return "created";
    case ComponentState::kStarting:
      return "starting";
    case ComponentState::kRunning:
      return "running";
    case ComponentState::kFailed:
      return "failed";
    case ComponentState::kStopping:
      return "stopping";
    case ComponentState::kStopped:
      return "stopped";
  }
  return "unknown";
}

Daemon::Daemon(DaemonOptions options)
    : registry_(options.registry != nullptr ? options.registry
                                            : &strobe::metrics::Registry::Default()),
      server_metrics_(std::make_unique<server::ServerMetrics>(*registry_)),
      auth_(std::make_shared<server::Authenticator>()),
      load_options_(std::move(options.load)),
      start_steady_(SteadyClock::now()),
      start_wall_(std::chrono::system_clock::now()),
      config_(std::move(options.config)) {
  ingress_budget_ = std::make_unique<base::ByteBudget>(config_.server.max_inflight_body_bytes);
  // Freed body buffers (1 MiB and more) leave the process, so RSS follows the budget
  // (docs/security.md "Memory bound").
  if (!base::ReturnLargeBlocksToSystem()) spdlog::warn("mallopt(M_MMAP_THRESHOLD) refused");
  spdlog::set_level(LogLevel(config_.log_level));
  RegisterRoutes();
  RegisterSelfMetrics();
}

Daemon::~Daemon() {
  if (started_.load() && !stopped_.load()) (void)Shutdown();
  // The callbacks capture `this`.
  for (const char* name :
       {"strobe_build_info", "strobe_uptime_seconds", "strobe_component_up",
        "strobe_config_reloads_total", "strobe_heap_allocated_bytes", "strobe_ingress_memory_bytes",
        "strobe_ingress_memory_limit_bytes", "strobe_ingress_memory_peak_bytes",
        "strobe_auth_reloads_total", "strobe_auth_enabled"}) {
    (void)registry_->Remove(name);
  }
}

void Daemon::BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that disconnects mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);
}

void Daemon::AddComponent(std::unique_ptr<Component> component) {
  STROBE_CHECK(!started_.load());
  auto slot = std::make_unique<Slot>();
  slot->component = std::move(component);
  slots_.push_back(std::move(slot));
}

void Daemon::RegisterRoutes() {
  router_.Handle("GET", "/healthz",
                 [](const Request&) { return Response::Json(200, "{\"status\":\"ok\"}\n"); },
                 {.require_auth = false});
  router_.Handle("GET", "/readyz", [this](const Request&) { return Readyz(); });
  router_.Handle("GET", "/metrics", [this](const Request& r) { return MetricsText(r); });
  router_.Handle("GET", "/api/v1/status", [this](const Request&) { return Status(); });
  router_.Handle("GET", "/api/v1/metrics", [this](const Request& r) { return MetricsJson(r); });
}

void Daemon::RegisterSelfMetrics() {
  auto& r = *registry_;
  const std::string version = strobe::kVersion;
  (void)r.AddCallbackFamily({"strobe_build_info", "strobe version; always 1", ""},
                            strobe::metrics::CallbackType::kGauge, {"version"},
                            [version](strobe::metrics::CallbackSink& s) { s.Emit({version}, 1); });
  (void)r.AddCallbackGauge(
      {"strobe_uptime_seconds", "Seconds since the daemon started", "seconds"},
      [this] { return std::chrono::duration<double>(SteadyClock::now() - start_steady_).count(); });
  (void)r.AddCallbackFamily(
      {"strobe_component_up", "1 when a component is running and ready, else 0", ""},
      strobe::metrics::CallbackType::kGauge, {"component"},
      [this](strobe::metrics::CallbackSink& s) {
        for (const auto& slot : slots_) {
          bool up =
              slot->state.load() == ComponentState::kRunning && slot->component->Ready().ready;
          s.Emit({slot->component->Name()}, up ? 1 : 0);
        }
      });
  (void)r.AddCallbackFamily(
      {"strobe_config_reloads_total", "Configuration reloads (SIGHUP) by result", ""},
      strobe::metrics::CallbackType::kCounter, {"result"},
      [this](strobe::metrics::CallbackSink& s) {
        s.Emit({"ok"}, static_cast<double>(reloads_ok_.load()));
        s.Emit({"error"}, static_cast<double>(reloads_failed_.load()));
      });
  (void)r.AddCallbackFamily(
      {"strobe_auth_reloads_total",
       "Reads of auth.token / auth.token_file at reload, by result: changed, unchanged, or error "
       "(the previous tokens kept)",
       ""},
      strobe::metrics::CallbackType::kCounter, {"result"},
      [this](strobe::metrics::CallbackSink& s) {
        s.Emit({"changed"}, static_cast<double>(auth_changed_.load()));
        s.Emit({"unchanged"}, static_cast<double>(auth_unchanged_.load()));
        s.Emit({"error"}, static_cast<double>(auth_failed_.load()));
      });
  (void)r.AddCallbackGauge({"strobe_auth_enabled",
                            "1 when every HTTP listener requires a bearer token, 0 when open", ""},
                           [this] { return auth_->enabled() ? 1.0 : 0.0; });
  (void)r.AddCallbackGauge({"strobe_heap_allocated_bytes",
                            "Bytes allocated from the C heap (malloc arenas + mmap)", "bytes"},
                           [] {
                             struct mallinfo2 mi = mallinfo2();
                             return static_cast<double>(mi.uordblks + mi.hblkhd);
                           });
  // The ingress budget (server.max_inflight_body_bytes): request bodies being read and their
  // decompressed output, across every HTTP listener.
  const base::ByteBudget* budget = ingress_budget_.get();
  (void)r.AddCallbackGauge({"strobe_ingress_memory_bytes",
                            "Bytes of request bodies being read and of their decompressed "
                            "output, charged to the ingress budget",
                            "bytes"},
                           [budget] { return static_cast<double>(budget->used_bytes()); });
  (void)r.AddCallbackGauge(
      {"strobe_ingress_memory_limit_bytes",
       "The ingress budget (server.max_inflight_body_bytes); bodies past it get 503", "bytes"},
      [budget] { return static_cast<double>(budget->limit_bytes()); });
  (void)r.AddCallbackGauge({"strobe_ingress_memory_peak_bytes",
                            "Highest strobe_ingress_memory_bytes since start", "bytes"},
                           [budget] { return static_cast<double>(budget->peak_bytes()); });
  // The registry's own footprint is in strobe_metrics_* (Registry::Default self-metrics); a
  // callback here must not call back into the registry (it runs under its mutex).
}

strobe::Status Daemon::ApplyAuth(const config::Config& config, bool reload) {
  const char* when = reload ? "reload" : "start";
  const std::string source = config.auth_token_file.empty()
                                 ? std::string("auth.token")
                                 : "auth.token_file " + config.auth_token_file;
  std::vector<std::string> tokens;
  if (!config.auth_token_file.empty()) {
    STROBE_ASSIGN_OR_RETURN(tokens, server::ReadTokenFile(config.auth_token_file));
  } else if (!config.auth_token.empty()) {
    tokens.push_back(config.auth_token);
  }
  strobe::Result<server::Authenticator::Change> change = auth_->Set(std::move(tokens));
  if (!change.ok()) return change.status().WithContext(source);
  if (reload) (change->changed ? auth_changed_ : auth_unchanged_).fetch_add(1);
  if (!change->changed) {
    if (reload) spdlog::info("reload: auth tokens unchanged");
  } else if (change->after == 0) {
    // Loud: from now on anyone who can reach a listener can read and write.
    spdlog::warn(
        "{}: auth is OFF: every HTTP listener (API and OTLP/HTTP) now accepts requests "
        "without a token",
        when);
  } else if (change->before == 0) {
    spdlog::warn(
        "{}: auth is ON: every HTTP listener (API and OTLP/HTTP) now requires a bearer "
        "token ({} accepted, from {})",
        when, change->after, source);
  } else {
    spdlog::warn(
        "{}: auth tokens rotated on every HTTP listener: {} accepted (from {}); "
        "tokens no longer listed are refused from now on",
        when, change->after, source);
  }
  return strobe::OkStatus();
}

strobe::Status Daemon::Start() {
  STROBE_CHECK(!started_.load());
  config::Config cfg = CurrentConfig();
  STROBE_RETURN_IF_ERROR(ApplyAuth(cfg, /*reload=*/false));
  if (cfg.http.enabled) {
    server::ServerOptions options = ApiServerOptions(cfg, ingress_budget_.get());
    options.auth = auth_;
    http_ = std::make_unique<server::HttpServer>(std::move(options), router_);
    server_metrics_->Attach("http", *http_);
    if (strobe::Status s = http_->Start(); !s.ok()) {
      server_metrics_->Detach(*http_);
      http_.reset();
      return s;
    }
    ReportListener("http", http_->BoundAddress());
    spdlog::info("listening on http://{} (API, /metrics, /healthz)", http_->BoundAddress());
  } else {
    spdlog::info("HTTP API listener is off");
  }
  started_.store(true);
  ComponentContext ctx{cfg, *registry_, router_, [this](std::string name, std::string address) {
                         spdlog::info("{} listening on {}", name, address);
                         ReportListener(std::move(name), std::move(address));
                       }};
  ctx.http_metrics = server_metrics_.get();
  ctx.ingress_budget = ingress_budget_.get();
  ctx.auth = auth_;
  for (auto& slot : slots_) {
    const std::string name = slot->component->Name();
    slot->state.store(ComponentState::kStarting);
    strobe::Status s;
    try {
      s = slot->component->Start(ctx);
    } catch (const std::exception& e) {
      s = strobe::Internal(std::string("threw: ") + e.what());
    }
    if (!s.ok()) {
      slot->state.store(ComponentState::kFailed);
      {
        strobe::MutexLock lock(mu_);
        slot->error = s.message();
      }
      strobe::Status err = s.WithContext("component " + name);
      (void)Shutdown();
      return err;
    }
    slot->state.store(ComponentState::kRunning);
    spdlog::info("component {} started", name);
  }
  spdlog::info("strobe {} ready (pid {}, config {})", strobe::kVersion, getpid(),
               cfg.file.empty() ? "built-in defaults" : cfg.file);
  return strobe::OkStatus();
}

int Daemon::Run() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  while (!stop_requested_.load()) {
    if (reload_requested_.exchange(false)) (void)Reload();
    timespec timeout{0, 200'000'000};  // also polls RequestStop/RequestReload
    int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("received {}, draining (grace period {})", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                   base::DurationText(CurrentConfig().grace_period));
      break;
    }
    if (sig == SIGHUP) {
      spdlog::info("received SIGHUP, reloading configuration");
      (void)Reload();
    }
  }
  strobe::Status s = Shutdown();
  if (!s.ok()) spdlog::warn("shutdown: {}", s.message());
  spdlog::info("stopped");
  return 0;
}

void Daemon::RequestStop() { stop_requested_.store(true); }
void Daemon::RequestReload() { reload_requested_.store(true); }

strobe::Status Daemon::Shutdown() {
  if (stopped_.exchange(true)) return strobe::OkStatus();
  const auto grace = CurrentConfig().grace_period;
  const Deadline deadline = SteadyClock::now() + grace;
  strobe::Status result;
  if (http_) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    strobe::Status s = http_->Shutdown(std::max(left, std::chrono::milliseconds(0)));
    if (!s.ok()) result = s;
    server_metrics_->Detach(*http_);
  }
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) {
    Slot& slot = **it;
    if (slot.state.load() != ComponentState::kRunning) continue;
    slot.state.store(ComponentState::kStopping);
    strobe::Status s;
    try {
      s = slot.component->Shutdown(deadline);
    } catch (const std::exception& e) {
      s = strobe::Internal(std::string("threw: ") + e.what());
    }
    slot.state.store(ComponentState::kStopped);
    if (!s.ok()) {
      spdlog::warn("component {} shutdown: {}", slot.component->Name(), s.message());
      if (result.ok()) result = s.WithContext("component " + slot.component->Name());
    }
  }
  return result;
}

strobe::Status Daemon::Reload() {
  auto next = config::Load(load_options_);
  if (!next.ok()) {
    reloads_failed_.fetch_add(1);
    strobe::MutexLock lock(mu_);
    last_reload_ = "error: " + next.status().message();
    spdlog::error("reload failed, keeping the running configuration: {}", next.status().message());
    return next.status();
  }
  // The tokens first: a token file that cannot be read fails the whole reload, so the running
  // configuration and tokens stay (never an accidental opening).
  if (strobe::Status s = ApplyAuth(*next, /*reload=*/true); !s.ok()) {
    reloads_failed_.fetch_add(1);
    auth_failed_.fetch_add(1);
    strobe::MutexLock lock(mu_);
    last_reload_ = "error: " + s.message();
    spdlog::error("reload failed, keeping the running configuration and auth tokens: {}",
                  s.message());
    return s;
  }
  config::Config running = CurrentConfig();
  std::vector<std::string> restart = config::RestartRequired(running, *next);
  // Keys that need a restart keep their running values; everything else applies now.
  config::Config applied = *next;
  applied.http = running.http;
  applied.otlp_http = running.otlp_http;
  applied.otlp_grpc = running.otlp_grpc;
  applied.wire = running.wire;
  applied.shm_name = running.shm_name;
  applied.data_dir = running.data_dir;
  applied.server = running.server;
  applied.host.enabled = running.host.enabled;
  applied.host.proc_root = running.host.proc_root;
  applied.host.sys_root = running.host.sys_root;
  applied.demo.enabled = running.demo.enabled;
  applied.demo.seed = running.demo.seed;
  applied.sections = running.sections;
  // Reloadable module sections (alerts) go to the components as loaded now; each component
  // keeps what of them cannot apply live (config::RestartSubKeys).
  for (auto name : config::ModuleSections()) {
    if (!config::ReloadableSection(name)) continue;
    auto it = next->sections.find(name);
    if (it == next->sections.end()) {
      applied.sections.erase(std::string(name));
      continue;
    }
    config::RawSection section = it->second;
    section.node = YAML::Clone(it->second.node);
    const config::RawSection& was = running.Section(name);
    for (auto sub : config::RestartSubKeys(name)) {
      const std::string key(sub);
      if (!section.node.IsMap()) break;
      if (was.node.IsMap() && was.node[key]) {
        section.node[key] = YAML::Clone(was.node[key]);
      } else {
        section.node.remove(key);
      }
    }
    applied.sections[std::string(name)] = std::move(section);
  }
  for (const auto& key : restart) {
    spdlog::warn("reload: '{}' changed but needs a restart; keeping the running value", key);
  }
  spdlog::set_level(LogLevel(applied.log_level));
  // Every running component gets the new configuration; one that refuses it (keeping its own
  // running state) makes the reload a failure: counted as an error and named in the status,
  // never reported as ok. The first refusal is the one returned.
  strobe::Status failed;
  for (auto& slot : slots_) {
    if (slot->state.load() != ComponentState::kRunning) continue;
    strobe::Status s;
    try {  // a component's reload must not end the process, as at Start()
      s = slot->component->Reload(applied);
    } catch (const std::exception& e) {
      s = strobe::Internal(std::string("threw: ") + e.what());
    }
    if (!s.ok()) {
      spdlog::error("component {} reload: {}", slot->component->Name(), s.message());
      if (failed.ok()) failed = s.WithContext("component " + slot->component->Name());
    }
  }
  (failed.ok() ? reloads_ok_ : reloads_failed_).fetch_add(1);
  strobe::MutexLock lock(mu_);
  config_ = std::move(applied);
  if (!failed.ok()) {
    last_reload_ = "error: " + failed.message();
    spdlog::error("configuration reloaded (digest {}) but {}", config::Digest(config_),
                  failed.message());
    return failed;
  }
  last_reload_ = restart.empty() ? "ok" : "ok (restart needed for some keys)";
  spdlog::info("configuration reloaded (digest {})", config::Digest(config_));
  return strobe::OkStatus();
}

std::string Daemon::HttpAddress() const { return http_ ? http_->BoundAddress() : ""; }

std::map<std::string, std::string> Daemon::Listeners() const {
  strobe::MutexLock lock(mu_);
  return listeners_;
}

void Daemon::ReportListener(std::string name, std::string address) {
  strobe::MutexLock lock(mu_);
  listeners_[std::move(name)] = std::move(address);
}

config::Config Daemon::CurrentConfig() const {
  strobe::MutexLock lock(mu_);
  return config_;
}

Response Daemon::Readyz() const {
  std::string reasons;
  for (const auto& slot : slots_) {
    ComponentState st = slot->state.load();
    std::string why;
    if (st != ComponentState::kRunning) {
      why = std::string(ComponentStateName(st));
    } else if (Readiness r = slot->component->Ready(); !r.ready) {
      why = r.reason.empty() ? "not ready" : r.reason;
    }
    if (!why.empty()) {
      if (!reasons.empty()) reasons += "; ";
      reasons += slot->component->Name() + ": " + why;
    }
  }
  if (!started_.load()) reasons = "daemon starting";
  if (stop_requested_.load() || stopped_.load()) reasons = "daemon shutting down";
  if (!reasons.empty()) return Response::Error(503, "not ready: " + reasons);
  return Response::Json(200, "{\"status\":\"ready\"}\n");
}

Response Daemon::Status() const {
  config::Config cfg = CurrentConfig();
  base::JsonWriter w;
  w.BeginObject();
  w.Key("version");
  w.String(strobe::kVersion);
  w.Key("pid");
  w.Int(getpid());
  w.Key("started_at_unix");
  w.Double(std::chrono::duration<double>(start_wall_.time_since_epoch()).count());
  w.Key("uptime_seconds");
  w.Double(std::chrono::duration<double>(SteadyClock::now() - start_steady_).count());
  w.Key("config");
  w.BeginObject();
  w.Key("file");
  w.String(cfg.file);
  w.Key("digest");
  w.String(config::Digest(cfg));
  w.Key("auth");
  w.Bool(auth_->enabled());
  w.Key("reloads_ok");
  w.Uint(reloads_ok_.load());
  w.Key("reloads_failed");
  w.Uint(reloads_failed_.load());
  {
    strobe::MutexLock lock(mu_);
    w.Key("last_reload");
    w.String(last_reload_);
  }
  w.EndObject();
  w.Key("listeners");
  w.BeginObject();
  for (const auto& [name, addr] : Listeners()) {
    w.Key(name);
    w.String(addr);
  }
  w.EndObject();
  bool all_ready = true;
  w.Key("components");
  w.BeginArray();
  for (const auto& slot : slots_) {
    ComponentState st = slot->state.load();
    Readiness r = st == ComponentState::kRunning
                      ? slot->component->Ready()
                      : Readiness{false, std::string(ComponentStateName(st))};
    all_ready = all_ready && r.ready;
    w.BeginObject();
    w.Key("name");
    w.String(slot->component->Name());
    w.Key("state");
    w.String(ComponentStateName(st));
    w.Key("ready");
    w.Bool(r.ready);
    if (!r.reason.empty()) {
      w.Key("reason");
      w.String(r.reason);
    }
    {
      strobe::MutexLock lock(mu_);
      if (!slot->error.empty()) {
        w.Key("error");
        w.String(slot->error);
      }
    }
    if (st == ComponentState::kRunning) {
      std::string details = slot->component->StatusJson();
      if (!details.empty()) {
        w.Key("details");
        w.Raw(details);
      }
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("ready");
  w.Bool(all_ready && started_.load() && !stopped_.load());
  w.EndObject();
  return Response::Json(200, std::move(w).Take() + "\n");
}

Response Daemon::MetricsText(const Request& req) const {
  auto n = strobe::metrics::NegotiateFormat(req.headers.Get("Accept").value_or(""));
  thread_local strobe::metrics::TextRenderer renderer;  // buffers reused per I/O thread
  Response r;
  renderer.Render(*registry_, n.format, &r.body);
  r.headers.Set("Content-Type", std::string(n.content_type));
  return r;
}

Response Daemon::MetricsJson(const Request& req) const {
  std::string prefix = req.QueryParam("name").value_or("");
  strobe::snapshot::Snapshot snap = registry_->Collect();
  base::JsonWriter w;
  w.BeginObject();
  w.Key("timestamp_unix_ms");
  w.Uint(snap.timestamp_unix_ns / 1'000'000);
  w.Key("metrics");
  w.BeginArray();
  for (const auto& f : snap.families) {
    if (!prefix.empty() && f.name.compare(0, prefix.size(), prefix) != 0) continue;
    w.BeginObject();
    w.Key("name");
    w.String(f.name);
    w.Key("type");
    w.String(TypeName(f.type));
    w.Key("help");
    w.String(f.help);
    if (!f.unit.empty()) {
      w.Key("unit");
      w.String(f.unit);
    }
    w.Key("series");
    w.BeginArray();
    for (const auto& p : f.points) {
      w.BeginObject();
      w.Key("labels");
      w.BeginObject();
      for (const auto& l : p.labels) {
        w.Key(l.name);
        w.String(l.value);
      }
      w.EndObject();
      if (f.type == strobe::snapshot::MetricType::kCounter ||
          f.type == strobe::snapshot::MetricType::kGauge) {
        w.Key("value");
        w.Double(p.value);
      } else {
        const auto& h = p.histogram;
        w.Key("count");
        w.Uint(h.count);
        w.Key("sum");
        w.Double(h.sum * h.unit_scale);
        if (h.count > 0) {
          w.Key("min");
          w.Double(h.min * h.unit_scale);
          w.Key("max");
          w.Double(h.max * h.unit_scale);
          for (double q : {0.5, 0.9, 0.99}) {
            w.Key(q == 0.5 ? "p50" : q == 0.9 ? "p90" : "p99");
            w.Double(strobe::snapshot::QuantileOf(h, q) * h.unit_scale);
          }
        }
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Response::Json(200, std::move(w).Take() + "\n");
}

}  // namespace strobed::daemon
