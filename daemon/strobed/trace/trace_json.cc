#include "strobed/trace/trace_json.h"

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

}  // namespace strobed::trace
