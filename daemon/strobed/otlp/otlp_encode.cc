#include "strobed/otlp/otlp_encode.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "strobed/base/json.h"
#include "strobed/otlp/wire_reader.h"

namespace strobed::otlp {
namespace {

namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_resource = opentelemetry::proto::resource::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;
namespace pb_metrics = opentelemetry::proto::metrics::v1;
namespace pb_logs = opentelemetry::proto::logs::v1;

void SetValue(const event::Value& v, const event::KeyTable& keys, pb_common::AnyValue* out);

void SetAttributes(std::span<const event::Attribute> attrs, const event::KeyTable& keys,
                   google::protobuf::RepeatedPtrField<pb_common::KeyValue>* out) {
  out->Reserve(static_cast<int>(attrs.size()));
  for (const event::Attribute& a : attrs) {
    pb_common::KeyValue* kv = out->Add();
    kv->set_key(std::string(keys.Name(a.key)));
    SetValue(a.value, keys, kv->mutable_value());
  }
}

void SetValue(const event::Value& v, const event::KeyTable& keys, pb_common::AnyValue* out) {
  switch (v.type()) {
    case event::ValueType::kEmpty:
      break;
    case event::ValueType::kString:
      out->set_string_value(std::string(v.AsString()));
      break;
    case event::ValueType::kBool:
      out->set_bool_value(v.AsBool());
      break;
    case event::ValueType::kInt:
      out->set_int_value(v.AsInt());
      break;
    case event::ValueType::kDouble:
      out->set_double_value(v.AsDouble());
      break;
    case event::ValueType::kBytes: {
      auto b = v.AsBytes();
      out->set_bytes_value(std::string(reinterpret_cast<const char*>(b.data()), b.size()));
      break;
    }
    case event::ValueType::kArray: {
      auto* arr = out->mutable_array_value();
      for (const event::Value& e : v.AsArray()) SetValue(e, keys, arr->add_values());
      break;
    }
    case event::ValueType::kKvList:
      SetAttributes(v.AsKvList(), keys, out->mutable_kvlist_value()->mutable_values());
      break;
  }
}

// The resource of a Resource{Spans,Metrics,Logs} container and the container's schema_url.
template <typename Container>
void SetResource(const event::Resource* r, const event::KeyTable& keys, Container* container) {
  pb_resource::Resource* out = container->mutable_resource();
  if (r == nullptr) return;
  SetAttributes(r->attributes, keys, out->mutable_attributes());
  out->set_dropped_attributes_count(r->dropped_attributes_count);
  container->set_schema_url(std::string(r->schema_url));
}

// The scope of a Scope{Spans,Metrics,Logs} container and the container's schema_url.
template <typename Container>
void SetScope(const event::InstrumentationScope* s, const event::KeyTable& keys,
              Container* container) {
  pb_common::InstrumentationScope* out = container->mutable_scope();
  if (s == nullptr) return;
  out->set_name(std::string(s->name));
  out->set_version(std::string(s->version));
  SetAttributes(s->attributes, keys, out->mutable_attributes());
  container->set_schema_url(std::string(s->schema_url));
}

template <size_t N>
std::string Bytes(const std::array<uint8_t, N>& a) {
  return std::string(reinterpret_cast<const char*>(a.data()), N);
}

// Groups consecutive events by (resource, scope) pointer identity into the containers of
// `Req`. `add_resource(resource) -> ResourceX*`, `add_scope(ResourceX*, scope) -> ScopeX*`,
// `add_item(ScopeX*, event)`.
template <typename Event, typename AddResource, typename AddScope, typename AddItem>
void Group(std::span<const Event> events, AddResource add_resource, AddScope add_scope,
           AddItem add_item) {
  const event::Resource* cur_res = nullptr;
  const event::InstrumentationScope* cur_scope = nullptr;
  decltype(add_resource(nullptr)) res_msg = nullptr;
  decltype(add_scope(res_msg, nullptr)) scope_msg = nullptr;
  for (const Event& e : events) {
    if (res_msg == nullptr || e.resource != cur_res) {
      cur_res = e.resource;
      res_msg = add_resource(cur_res);
      scope_msg = nullptr;
    }
    if (scope_msg == nullptr || e.scope != cur_scope) {
      cur_scope = e.scope;
      scope_msg = add_scope(res_msg, cur_scope);
    }
    add_item(scope_msg, e);
  }
}

}  // namespace

std::string EncodeTraces(std::span<const event::Span> spans, const event::KeyTable& keys) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  Group<event::Span>(
      spans,
      [&](const event::Resource* r) {
        auto* rs = req.add_resource_spans();
        SetResource(r, keys, rs);
        return rs;
      },
      [&](pb_trace::ResourceSpans* rs, const event::InstrumentationScope* s) {
        auto* ss = rs->add_scope_spans();
        SetScope(s, keys, ss);
        return ss;
      },
      [&](pb_trace::ScopeSpans* ss, const event::Span& s) {
        pb_trace::Span* o = ss->add_spans();
        o->set_trace_id(Bytes(s.trace_id.bytes));
        o->set_span_id(Bytes(s.span_id.bytes));
        if (s.parent_span_id.IsValid()) o->set_parent_span_id(Bytes(s.parent_span_id.bytes));
        o->set_trace_state(std::string(s.trace_state));
        o->set_flags(s.flags);
        o->set_name(std::string(s.name));
        o->set_kind(static_cast<pb_trace::Span::SpanKind>(s.kind));
        o->set_start_time_unix_nano(s.start_ns);
        o->set_end_time_unix_nano(s.end_ns);
        SetAttributes(s.attributes, keys, o->mutable_attributes());
        o->set_dropped_attributes_count(s.dropped_attributes_count);
        for (const event::SpanEvent& e : s.events) {
          auto* oe = o->add_events();
          oe->set_time_unix_nano(e.time_ns);
          oe->set_name(std::string(e.name));
          SetAttributes(e.attributes, keys, oe->mutable_attributes());
          oe->set_dropped_attributes_count(e.dropped_attributes_count);
        }
        o->set_dropped_events_count(s.dropped_events_count);
        for (const event::SpanLink& l : s.links) {
          auto* ol = o->add_links();
          ol->set_trace_id(Bytes(l.trace_id.bytes));
          ol->set_span_id(Bytes(l.span_id.bytes));
          ol->set_trace_state(std::string(l.trace_state));
          SetAttributes(l.attributes, keys, ol->mutable_attributes());
          ol->set_dropped_attributes_count(l.dropped_attributes_count);
          ol->set_flags(l.flags);
        }
        o->set_dropped_links_count(s.dropped_links_count);
        if (s.status.code != event::StatusCode::kUnset || !s.status.message.empty()) {
          o->mutable_status()->set_code(static_cast<pb_trace::Status::StatusCode>(s.status.code));
          o->mutable_status()->set_message(std::string(s.status.message));
        }
      });
  return req.SerializeAsString();
}

std::string EncodeMetrics(std::span<const event::MetricPoint> points, const event::KeyTable& keys) {
  opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest req;
  pb_metrics::Metric* cur = nullptr;
  const event::MetricPoint* prev = nullptr;
  Group<event::MetricPoint>(
      points,
      [&](const event::Resource* r) {
        auto* rm = req.add_resource_metrics();
        SetResource(r, keys, rm);
        return rm;
      },
      [&](pb_metrics::ResourceMetrics* rm, const event::InstrumentationScope* s) {
        auto* sm = rm->add_scope_metrics();
        SetScope(s, keys, sm);
        cur = nullptr;
        return sm;
      },
      [&](pb_metrics::ScopeMetrics* sm, const event::MetricPoint& p) {
        bool same = cur != nullptr && prev != nullptr && prev->name == p.name &&
                    prev->type == p.type && prev->temporality == p.temporality &&
                    prev->is_monotonic == p.is_monotonic;
        if (!same) {
          cur = sm->add_metrics();
          cur->set_name(std::string(p.name));
          cur->set_unit(std::string(p.unit));
          cur->set_description(std::string(p.description));
        }
        prev = &p;
        auto temporality = static_cast<pb_metrics::AggregationTemporality>(p.temporality);
        auto number = [&](pb_metrics::NumberDataPoint* dp) {
          SetAttributes(p.labels, keys, dp->mutable_attributes());
          dp->set_start_time_unix_nano(p.start_time_ns);
          dp->set_time_unix_nano(p.time_ns);
          if (p.is_int) {
            dp->set_as_int(p.int_value);
          } else {
            dp->set_as_double(p.double_value);
          }
          dp->set_flags(p.flags);
        };
        switch (p.type) {
          case event::MetricType::kGauge:
            number(cur->mutable_gauge()->add_data_points());
            break;
          case event::MetricType::kSum:
            cur->mutable_sum()->set_aggregation_temporality(temporality);
            cur->mutable_sum()->set_is_monotonic(p.is_monotonic);
            number(cur->mutable_sum()->add_data_points());
            break;
          case event::MetricType::kHistogram: {
            cur->mutable_histogram()->set_aggregation_temporality(temporality);
            auto* dp = cur->mutable_histogram()->add_data_points();
            SetAttributes(p.labels, keys, dp->mutable_attributes());
            dp->set_start_time_unix_nano(p.start_time_ns);
            dp->set_time_unix_nano(p.time_ns);
            dp->set_flags(p.flags);
            if (p.histogram != nullptr) {
              const event::HistogramData& h = *p.histogram;
              dp->set_count(h.count);
              dp->set_sum(h.sum);
              if (h.has_min_max) {
                dp->set_min(h.min);
                dp->set_max(h.max);
              }
              for (uint64_t c : h.bucket_counts) dp->add_bucket_counts(c);
              for (double b : h.explicit_bounds) dp->add_explicit_bounds(b);
            }
            break;
          }
          case event::MetricType::kExponentialHistogram: {
            cur->mutable_exponential_histogram()->set_aggregation_temporality(temporality);
            auto* dp = cur->mutable_exponential_histogram()->add_data_points();
            SetAttributes(p.labels, keys, dp->mutable_attributes());
            dp->set_start_time_unix_nano(p.start_time_ns);
            dp->set_time_unix_nano(p.time_ns);
            dp->set_flags(p.flags);
            if (p.exp_histogram != nullptr) {
              const event::ExponentialHistogramData& h = *p.exp_histogram;
              dp->set_count(h.count);
              dp->set_sum(h.sum);
              if (h.has_min_max) {
                dp->set_min(h.min);
                dp->set_max(h.max);
              }
              dp->set_scale(h.scale);
              dp->set_zero_count(h.zero_count);
              dp->set_zero_threshold(h.zero_threshold);
              dp->mutable_positive()->set_offset(h.positive.offset);
              for (uint64_t c : h.positive.counts) dp->mutable_positive()->add_bucket_counts(c);
              dp->mutable_negative()->set_offset(h.negative.offset);
              for (uint64_t c : h.negative.counts) dp->mutable_negative()->add_bucket_counts(c);
            }
            break;
          }
          case event::MetricType::kSummary: {
            auto* dp = cur->mutable_summary()->add_data_points();
            SetAttributes(p.labels, keys, dp->mutable_attributes());
            dp->set_start_time_unix_nano(p.start_time_ns);
            dp->set_time_unix_nano(p.time_ns);
            dp->set_flags(p.flags);
            if (p.summary != nullptr) {
              dp->set_count(p.summary->count);
              dp->set_sum(p.summary->sum);
              dp->mutable_quantile_values()->Reserve(static_cast<int>(p.summary->quantiles.size()));
              for (const event::QuantileValue& q : p.summary->quantiles) {
                auto* qv = dp->add_quantile_values();
                qv->set_quantile(q.quantile);
                qv->set_value(q.value);
              }
            }
            break;
          }
        }
      });
  return req.SerializeAsString();
}

std::string EncodeLogs(std::span<const event::LogRecord> logs, const event::KeyTable& keys) {
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest req;
  Group<event::LogRecord>(
      logs,
      [&](const event::Resource* r) {
        auto* rl = req.add_resource_logs();
        SetResource(r, keys, rl);
        return rl;
      },
      [&](pb_logs::ResourceLogs* rl, const event::InstrumentationScope* s) {
        auto* sl = rl->add_scope_logs();
        SetScope(s, keys, sl);
        return sl;
      },
      [&](pb_logs::ScopeLogs* sl, const event::LogRecord& l) {
        auto* o = sl->add_log_records();
        o->set_time_unix_nano(l.time_ns);
        o->set_observed_time_unix_nano(l.observed_time_ns);
        o->set_severity_number(static_cast<pb_logs::SeverityNumber>(l.severity_number));
        o->set_severity_text(std::string(l.severity_text));
        if (!l.body.empty()) SetValue(l.body, keys, o->mutable_body());
        SetAttributes(l.attributes, keys, o->mutable_attributes());
        o->set_dropped_attributes_count(l.dropped_attributes_count);
        o->set_flags(l.flags);
        if (l.trace_id.IsValid()) o->set_trace_id(Bytes(l.trace_id.bytes));
        if (l.span_id.IsValid()) o->set_span_id(Bytes(l.span_id.bytes));
        o->set_event_name(std::string(l.event_name));
      });
  return req.SerializeAsString();
}

namespace {

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

}  // namespace

std::string EncodeResponse(Signal signal, Encoding encoding, int64_t rejected,
                           std::string_view error_message) {
  bool partial = rejected > 0 || !error_message.empty();
  if (encoding == Encoding::kJson) {
    if (!partial) return "{}";
    const char* field = signal == Signal::kTraces    ? "rejectedSpans"
                        : signal == Signal::kMetrics ? "rejectedDataPoints"
                                                     : "rejectedLogRecords";
    return std::string("{\"partialSuccess\":{\"") + field + "\":\"" + std::to_string(rejected) +
           "\",\"errorMessage\":\"" + base::JsonEscape(error_message) + "\"}}";
  }
  if (!partial) return {};
  // Export*PartialSuccess { int64 rejected = 1; string error_message = 2; } in field 1.
  std::string inner;
  if (rejected != 0) {
    inner += '\x08';
    AppendVarint(inner, static_cast<uint64_t>(rejected));
  }
  if (!error_message.empty()) {
    inner += '\x12';
    AppendVarint(inner, error_message.size());
    inner.append(error_message);
  }
  std::string out = "\x0a";
  AppendVarint(out, inner.size());
  return out + inner;
}

strobe::Result<PartialSuccess> DecodeResponse(Signal signal, std::string_view body) {
  PartialSuccess ps;
  bool ok = false;
  auto parse = [&](auto& msg) {
    ok = msg.ParseFromArray(body.data(), static_cast<int>(body.size()));
    return ok;
  };
  switch (signal) {
    case Signal::kTraces: {
      opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse r;
      if (parse(r)) {
        ps.rejected = r.partial_success().rejected_spans();
        ps.error_message = r.partial_success().error_message();
      }
      break;
    }
    case Signal::kMetrics: {
      opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse r;
      if (parse(r)) {
        ps.rejected = r.partial_success().rejected_data_points();
        ps.error_message = r.partial_success().error_message();
      }
      break;
    }
    case Signal::kLogs: {
      opentelemetry::proto::collector::logs::v1::ExportLogsServiceResponse r;
      if (parse(r)) {
        ps.rejected = r.partial_success().rejected_log_records();
        ps.error_message = r.partial_success().error_message();
      }
      break;
    }
  }
  if (!ok) return strobe::InvalidArgument("malformed OTLP export response");
  return ps;
}

std::string EncodeRpcStatus(Encoding encoding, int32_t grpc_code, std::string_view message) {
  if (encoding == Encoding::kJson) {
    return "{\"code\":" + std::to_string(grpc_code) + ",\"message\":\"" +
           base::JsonEscape(message) + "\"}";
  }
  std::string out;
  if (grpc_code != 0) {
    out += '\x08';
    AppendVarint(out, static_cast<uint64_t>(grpc_code));
  }
  out += '\x12';
  AppendVarint(out, message.size());
  out.append(message);
  return out;
}

namespace {

void AppendTag(std::string& out, uint32_t field, uint32_t wire_type) {
  AppendVarint(out, (uint64_t{field} << 3) | wire_type);
}

void AppendLengthDelimited(std::string& out, uint32_t field, std::string_view bytes) {
  AppendTag(out, field, 2);
  AppendVarint(out, bytes.size());
  out.append(bytes);
}

// google.protobuf.Duration {seconds = 1, nanos = 2}.
bool DecodeDuration(std::string_view bytes, uint64_t& ns) {
  internal::WireReader r(bytes);
  uint64_t seconds = 0, nanos = 0;
  while (!r.done()) {
    uint32_t field = 0, wt = 0;
    if (!r.ReadTag(field, wt)) return false;
    if (field == 1 && wt == internal::kVarint) {
      if (!r.ReadVarint(seconds)) return false;
    } else if (field == 2 && wt == internal::kVarint) {
      if (!r.ReadVarint(nanos)) return false;
    } else if (!r.Skip(wt)) {
      return false;
    }
  }
  // Negative values are 10-byte varints with the top bit set: refused with the overflow.
  constexpr uint64_t kMaxSeconds = uint64_t{1} << 33;  // ~272 years: far beyond any retry delay
  if (seconds > kMaxSeconds || nanos >= 1000000000) return false;
  ns = seconds * 1000000000 + nanos;
  return true;
}

}  // namespace

std::string EncodeRpcStatusWithRetry(int32_t grpc_code, std::string_view message,
                                     uint64_t retry_delay_ns) {
  std::string duration;
  if (retry_delay_ns / 1000000000 > 0) {
    AppendTag(duration, 1, 0);
    AppendVarint(duration, retry_delay_ns / 1000000000);
  }
  if (retry_delay_ns % 1000000000 > 0) {
    AppendTag(duration, 2, 0);
    AppendVarint(duration, retry_delay_ns % 1000000000);
  }
  std::string retry_info;
  AppendLengthDelimited(retry_info, 1, duration);
  std::string any;
  AppendLengthDelimited(any, 1, kRetryInfoTypeUrl);
  AppendLengthDelimited(any, 2, retry_info);
  std::string out = EncodeRpcStatus(Encoding::kProtobuf, grpc_code, message);
  AppendLengthDelimited(out, 3, any);
  return out;
}

strobe::Result<RpcStatus> DecodeRpcStatus(std::string_view bytes) {
  RpcStatus st;
  internal::WireReader r(bytes);
  auto malformed = [] { return strobe::InvalidArgument("malformed google.rpc.Status"); };
  while (!r.done()) {
    uint32_t field = 0, wt = 0;
    if (!r.ReadTag(field, wt)) return malformed();
    if (field == 1 && wt == internal::kVarint) {
      uint64_t code = 0;
      if (!r.ReadVarint(code)) return malformed();
      st.code = static_cast<int32_t>(static_cast<uint32_t>(code));  // int32 on the wire
    } else if (field == 2 && wt == internal::kLengthDelimited) {
      std::string_view m;
      if (!r.ReadBytes(m)) return malformed();
      st.message = std::string(m);
    } else if (field == 3 && wt == internal::kLengthDelimited) {
      std::string_view any;
      if (!r.ReadBytes(any)) return malformed();
      internal::WireReader a(any);
      std::string_view type_url, value;
      while (!a.done()) {
        uint32_t af = 0, awt = 0;
        if (!a.ReadTag(af, awt)) return malformed();
        if (af == 1 && awt == internal::kLengthDelimited) {
          if (!a.ReadBytes(type_url)) return malformed();
        } else if (af == 2 && awt == internal::kLengthDelimited) {
          if (!a.ReadBytes(value)) return malformed();
        } else if (!a.Skip(awt)) {
          return malformed();
        }
      }
      if (type_url != kRetryInfoTypeUrl || st.retry_delay_ns.has_value()) continue;
      internal::WireReader ri(value);
      uint64_t ns = 0;
      while (!ri.done()) {
        uint32_t rf = 0, rwt = 0;
        if (!ri.ReadTag(rf, rwt)) return malformed();
        if (rf == 1 && rwt == internal::kLengthDelimited) {
          std::string_view d;
          if (!ri.ReadBytes(d) || !DecodeDuration(d, ns)) return malformed();
        } else if (!ri.Skip(rwt)) {
          return malformed();
        }
      }
      st.retry_delay_ns = ns;
    } else if (!r.Skip(wt)) {
      return malformed();
    }
  }
  return st;
}

}  // namespace strobed::otlp
