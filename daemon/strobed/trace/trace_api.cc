#include "strobed/trace/trace_api.h"

#include <charconv>

#include "strobed/base/json.h"

namespace strobed::trace {
namespace {

const char* KindName(event::SpanKind k) {
  switch (k) {
    case event::SpanKind::kInternal:
      return "internal";
    case event::SpanKind::kServer:
      return "server";
    case event::SpanKind::kClient:
      return "client";
    case event::SpanKind::kProducer:
      return "producer";
    case event::SpanKind::kConsumer:
      return "consumer";
    case event::SpanKind::kUnspecified:
      break;
  }
  return "unspecified";
}

const char* StatusName(event::StatusCode c) {
  switch (c) {
    case event::StatusCode::kOk:
      return "ok";
    case event::StatusCode::kError:
      return "error";
    case event::StatusCode::kUnset:
      break;
  }
  return "unset";
}

}  // namespace

std::string TraceJson(const AnalyzedTrace& t) {
  base::JsonWriter w;
  w.BeginObject();
  w.Key("traceId");
  w.String(t.trace_id.ToHex());
  w.Key("complete");
  w.Bool(t.complete);
  w.Key("spanCount");
  w.Uint(t.spans.size());
  w.Key("errorSpans");
  w.Uint(t.error_spans);
  w.Key("durationNs");
  w.Uint(t.duration_ns);
  w.Key("startTimeUnixNano");
  w.Uint(t.start_ns);
  w.Key("rootSpanId");
  w.String(t.spans.empty() ? "" : t.spans[t.root].span_id.ToHex());
  w.Key("spans");
  w.BeginArray();
  for (size_t i = 0; i < t.spans.size(); ++i) {
    const StoredSpan& s = t.spans[i];
    w.BeginObject();
    w.Key("spanId");
    w.String(s.span_id.ToHex());
    w.Key("parentSpanId");
    w.String(s.HasParent() ? s.parent_span_id.ToHex() : "");
    w.Key("missingParent");
    w.Bool(t.missing_parent[i]);
    w.Key("name");
    w.String(s.name);
    w.Key("service");
    w.String(s.service);
    w.Key("kind");
    w.String(KindName(s.kind));
    w.Key("startTimeUnixNano");
    w.Uint(s.start_ns);
    w.Key("endTimeUnixNano");
    w.Uint(s.end_ns);
    w.Key("durationNs");
    w.Uint(s.DurationNs());
    w.Key("selfTimeNs");
    w.Uint(t.self_ns[i]);
    w.Key("status");
    w.BeginObject();
    w.Key("code");
    w.String(StatusName(s.status));
    w.Key("message");
    w.String(s.status_message);
    w.EndObject();
    w.Key("attributes");
    w.BeginObject();
    for (const auto& [k, v] : s.attributes) {
      w.Key(k);
      w.String(v);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.Key("criticalPath");
  w.BeginArray();
  for (const CriticalSegment& c : t.critical_path) {
    const StoredSpan& s = t.spans[c.span];
    w.BeginObject();
    w.Key("spanId");
    w.String(s.span_id.ToHex());
    w.Key("name");
    w.String(s.name);
    w.Key("service");
    w.String(s.service);
    w.Key("contributionNs");
    w.Uint(c.contribution_ns);
    w.EndObject();
  }
  w.EndArray();
  w.Key("breakdown");
  w.BeginArray();
  for (const Breakdown& b : t.breakdown) {
    w.BeginObject();
    w.Key("service");
    w.String(b.service);
    w.Key("operation");
    w.String(b.operation);
    w.Key("spans");
    w.Uint(b.spans);
    w.Key("errors");
    w.Uint(b.errors);
    w.Key("selfTimeNs");
    w.Uint(b.self_ns);
    w.Key("criticalPathNs");
    w.Uint(b.critical_ns);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::move(w).Take();
}

std::string ServiceGraphJson(const std::vector<ServiceEdge>& edges, double window_seconds) {
  base::JsonWriter w;
  w.BeginObject();
  w.Key("windowSeconds");
  w.Double(window_seconds);
  w.Key("edges");
  w.BeginArray();
  for (const ServiceEdge& e : edges) {
    w.BeginObject();
    w.Key("client");
    w.String(e.caller);
    w.Key("server");
    w.String(e.callee);
    w.Key("calls");
    w.Uint(e.calls);
    w.Key("errors");
    w.Uint(e.errors);
    w.Key("p50Ms");
    w.Double(static_cast<double>(e.p50_ns) / 1e6);
    w.Key("p90Ms");
    w.Double(static_cast<double>(e.p90_ns) / 1e6);
    w.Key("p99Ms");
    w.Double(static_cast<double>(e.p99_ns) / 1e6);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::move(w).Take();
}

void MountTraceApi(server::Router& router, TraceStore& store, pipeline::Clock& clock) {
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
    base::JsonWriter w;
    w.BeginObject();
    w.Key("traces");
    w.BeginArray();
    for (const event::TraceId& id : store.Recent(limit)) w.String(id.ToHex());
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
    std::optional<AnalyzedTrace> t = store.Find(*tid);
    if (!t) return server::Response::Error(404, "no trace " + std::string(id));
    return server::Response::Json(200, TraceJson(*t));
  });
  router.Handle("GET", "/api/v1/service-graph", [&store, &clock](const server::Request&) {
    uint64_t now = clock.NowNs();
    store.Tick(now);
    double window = std::chrono::duration<double>(store.options().bucket).count() *
                    static_cast<double>(store.options().window_buckets);
    return server::Response::Json(200, ServiceGraphJson(store.ServiceGraph(now), window));
  });
}

}  // namespace strobed::trace
