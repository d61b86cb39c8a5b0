#include "strobed/service/trace_api.h"

#include <charconv>
#include <chrono>
#include <optional>
#include <string>

#include "strobed/base/json.h"
#include "strobed/trace/trace_json.h"

namespace strobed::service {

void MountTraceApi(server::Router& router, trace::TraceStore& store, base::MonotonicClock& clock) {
  router.Handle("GET", "/api/v1/traces", [&store](const server::Request& r) {
    size_t limit = 50;
    if (auto l = r.QueryParam("limit")) {
      size_t v = 0;
      auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
      if (ec != std::errc() || p != l->data() + l->size() || v == 0 || v > 10000) {
        return server::Response::Error(400, "limit must be an integer in 1..10000");
      }
      limit = v;
    }
    const bool summary = r.QueryParam("summary").value_or("") == "1";
    base::JsonWriter w;
    w.BeginObject();
    w.Key("traces");
    w.BeginArray();
    for (const event::TraceId& id : store.Recent(limit)) {
      if (!summary) {
        w.String(id.ToHex());
        continue;
      }
      // One line per trace for lists (the dashboard's recent/slowest tables).
      std::optional<trace::AnalyzedTrace> t = store.Find(id);
      if (!t || t->spans.empty()) continue;
      const trace::StoredSpan& root = t->spans[t->root];
      w.BeginObject();
      w.Key("traceId");
      w.String(id.ToHex());
      w.Key("service");
      w.String(root.service);
      w.Key("operation");
      w.String(root.name);
      w.Key("startTimeUnixNano");
      w.Uint(t->start_ns);
      w.Key("durationNs");
      w.Uint(t->duration_ns);
      w.Key("spanCount");
      w.Uint(t->spans.size());
      w.Key("errorSpans");
      w.Uint(t->error_spans);
      w.Key("complete");
      w.Bool(t->complete);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return server::Response::Json(200, std::move(w).Take());
  });
  router.Handle("GET", "/api/v1/traces/*", [&store, &clock](const server::Request& r) {
    std::string_view id = r.path;
    id.remove_prefix(std::string_view("/api/v1/traces/").size());
    std::optional<event::TraceId> tid = event::TraceId::FromHex(id);
    if (!tid || !tid->IsValid()) {
      return server::Response::Error(400, "trace id must be 32 hex digits, not all zero");
    }
    store.Tick(clock.NowNs());
    std::optional<trace::AnalyzedTrace> t = store.Find(*tid);
    if (!t) return server::Response::Error(404, "no trace " + std::string(id));
    return server::Response::Json(200, trace::TraceJson(*t));
  });
  router.Handle("GET", "/api/v1/service-graph", [&store, &clock](const server::Request&) {
    uint64_t now = clock.NowNs();
    store.Tick(now);
    double window = std::chrono::duration<double>(store.options().bucket).count() *
                    static_cast<double>(store.options().window_buckets);
    return server::Response::Json(200, trace::ServiceGraphJson(store.ServiceGraph(now), window));
  });
}

}  // namespace strobed::service
