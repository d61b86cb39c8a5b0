#include "strobed/server/server_metrics.h"

#include <algorithm>

#include "strobe/metrics/registry.h"

namespace strobed::server {

namespace m = strobe::metrics;

ServerMetrics::ServerMetrics(m::Registry& registry)
    : registry_(registry),
      mu_(std::make_shared<std::mutex>()),
      entries_(std::make_shared<std::vector<Entry>>()) {
  auto durations = registry_.AddHistogramFamily(
      {"strobe_http_request_duration_seconds",
       "Time from a request head received to its response written", "seconds"},
      {"listener", "route"}, {.unit_scale = 1e-9});
  if (durations.ok()) durations_ = *durations;

  auto mu = mu_;
  auto entries = entries_;
  // Each callback walks the attached servers under the mutex; stats are relaxed atomics.
  auto each = [mu, entries](auto&& fn) {
    std::lock_guard lock(*mu);
    for (const auto& e : *entries) fn(e.listener, e.server->stats());
  };
  auto ld = [](const std::atomic<uint64_t>& a) {
    return static_cast<double>(a.load(std::memory_order_relaxed));
  };
  (void)registry_.AddCallbackFamily(
      {"strobe_http_requests_total", "HTTP responses written, by status class", ""},
      m::CallbackType::kCounter, {"listener", "code"}, [each, ld](m::CallbackSink& s) {
        each([&](const std::string& l, const ServerStats& st) {
          s.Emit({l, "2xx"}, ld(st.responses_2xx));
          s.Emit({l, "3xx"}, ld(st.responses_3xx));
          s.Emit({l, "4xx"}, ld(st.responses_4xx));
          s.Emit({l, "5xx"}, ld(st.responses_5xx));
        });
      });
  (void)registry_.AddCallbackFamily(
      {"strobe_http_connections_open", "Open HTTP connections", ""}, m::CallbackType::kGauge,
      {"listener"}, [each](m::CallbackSink& s) {
        each([&](const std::string& l, const ServerStats& st) {
          s.Emit({l}, static_cast<double>(st.connections_open.load(std::memory_order_relaxed)));
        });
      });
  (void)registry_.AddCallbackFamily(
      {"strobe_http_connections_accepted_total", "HTTP connections accepted", ""},
      m::CallbackType::kCounter, {"listener"}, [each, ld](m::CallbackSink& s) {
        each([&](const std::string& l, const ServerStats& st) {
          s.Emit({l}, ld(st.connections_accepted));
        });
      });
  (void)registry_.AddCallbackFamily(
      {"strobe_http_dropped_connections_total",
       "HTTP connections closed by the listener's connection limits, by reason", ""},
      m::CallbackType::kCounter, {"listener", "reason"}, [each, ld](m::CallbackSink& s) {
        each([&](const std::string& l, const ServerStats& st) {
          s.Emit({l, "max_connections"}, ld(st.connections_rejected));
          s.Emit({l, "evicted"}, ld(st.connections_evicted));
          s.Emit({l, "per_client_limit"}, ld(st.connections_per_client_rejected));
          s.Emit({l, "reserved_only"}, ld(st.reserved_refused));
        });
      });
  (void)registry_.AddCallbackFamily(
      {"strobe_http_rejected_requests_total", "HTTP requests refused before their handler ran", ""},
      m::CallbackType::kCounter, {"listener", "reason"}, [each, ld](m::CallbackSink& s) {
        each([&](const std::string& l, const ServerStats& st) {
          s.Emit({l, "unauthorized"}, ld(st.unauthorized));
          s.Emit({l, "body_too_large"}, ld(st.body_too_large));
          s.Emit({l, "header_too_large"}, ld(st.header_too_large));
          s.Emit({l, "bad_request"}, ld(st.bad_requests));
          s.Emit({l, "timeout"}, ld(st.timeouts));
          s.Emit({l, "handler_exception"}, ld(st.handler_exceptions));
          s.Emit({l, "internal_error"}, ld(st.internal_errors));
          s.Emit({l, "memory"}, ld(st.memory_refused));
        });
      });
  (void)registry_.AddCallbackFamily(
      {"strobe_http_websocket_sessions_total", "WebSocket sessions opened", ""},
      m::CallbackType::kCounter, {"listener"}, [each, ld](m::CallbackSink& s) {
        each([&](const std::string& l, const ServerStats& st) {
          s.Emit({l}, ld(st.websocket_sessions));
        });
      });
  (void)registry_.AddCallbackFamily(
      {"strobe_http_websocket_dropped_messages_total",
       "WebSocket messages dropped because a client's send queue was full", ""},
      m::CallbackType::kCounter, {"listener"}, [each, ld](m::CallbackSink& s) {
        each([&](const std::string& l, const ServerStats& st) {
          s.Emit({l}, ld(st.websocket_dropped_messages));
        });
      });
}

ServerMetrics::~ServerMetrics() {
  {
    std::lock_guard lock(*mu_);
    entries_->clear();
  }
  // Callback families go; the duration histograms stay (they own their data).
  for (const char* name :
       {"strobe_http_requests_total", "strobe_http_connections_open",
        "strobe_http_connections_accepted_total", "strobe_http_dropped_connections_total",
        "strobe_http_rejected_requests_total", "strobe_http_websocket_sessions_total",
        "strobe_http_websocket_dropped_messages_total"}) {
    (void)registry_.Remove(name);
  }
}

void ServerMetrics::Attach(std::string listener, HttpServer& server) {
  if (durations_ != nullptr) {
    auto* family = durations_;
    server.SetRequestObserver(
        [family, listener](std::string_view route, std::string_view, int, double seconds) {
          std::string r = route.empty() ? "unmatched" : std::string(route);
          family->With({{"listener", listener}, {"route", r}})
              .Record(static_cast<uint64_t>(seconds * 1e9));
        });
  }
  std::lock_guard lock(*mu_);
  entries_->push_back({std::move(listener), &server});
}

void ServerMetrics::Detach(const HttpServer& server) {
  std::lock_guard lock(*mu_);
  std::erase_if(*entries_, [&](const Entry& e) { return e.server == &server; });
}

}  // namespace strobed::server
