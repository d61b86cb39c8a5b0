#include "strobed/otlp/otlp_decode.h"

#include <cmath>
#include <cstring>
#include <span>
#include <string>

#include "strobe/metrics/labels.h"
#include "strobed/otlp/decode_context.h"
#include "strobed/otlp/wire_reader.h"

namespace strobed::otlp {

const char* ItemName(Signal signal) {
  switch (signal) {
    case Signal::kTraces:
      return "spans";
    case Signal::kMetrics:
      return "metric_points";
    case Signal::kLogs:
      return "log_records";
  }
  return "items";
}

std::string_view SignalName(Signal s) {
  switch (s) {
    case Signal::kTraces:
      return "traces";
    case Signal::kMetrics:
      return "metrics";
    case Signal::kLogs:
      return "logs";
  }
  return "unknown";
}

namespace {

// True when every string in `v` (recursively through arrays and kvlists, bounded by the
// decoders' max_depth) is valid UTF-8.
bool ValueValidUtf8(const event::Value& v) {
  switch (v.type()) {
    case event::ValueType::kString:
      return strobe::metrics::IsValidUtf8(v.AsString());
    case event::ValueType::kArray:
      for (const event::Value& e : v.AsArray()) {
        if (!ValueValidUtf8(e)) return false;
      }
      return true;
    case event::ValueType::kKvList:
      for (const event::Attribute& a : v.AsKvList()) {
        if (!ValueValidUtf8(a.value)) return false;
      }
      return true;
    default:
      return true;
  }
}

bool AttributesValidUtf8(std::span<const event::Attribute> attrs) {
  for (const event::Attribute& a : attrs) {
    if (!ValueValidUtf8(a.value)) return false;
  }
  return true;
}

}  // namespace

strobe::Result<DecodeStats> Decode(Signal signal, Encoding encoding, std::string_view body,
                                   event::Batch& batch, const DecodeOptions& options) {
  strobe::Result<DecodeStats> r = encoding == Encoding::kJson
                                      ? internal::DecodeJson(signal, body, batch, options)
                                      : internal::DecodeProtobuf(signal, body, batch, options);
  if (r.ok() && signal == Signal::kMetrics) {
    // Label values become Prometheus label values, which must be UTF-8: a point whose labels
    // (or its resource's attributes, which become labels too) are not is refused here and
    // counted, instead of being stored and then never shown (docs/security.md). Points
    // already in the batch passed this check before, so only this request's are removed.
    const std::size_t refused = batch.RemoveMetricsIf([](const event::MetricPoint& p) {
      return !AttributesValidUtf8(p.labels) ||
             (p.resource != nullptr && !AttributesValidUtf8(p.resource->attributes));
    });
    r->items -= refused;
    r->invalid_utf8 = refused;
  }
  return r;
}

namespace internal {
namespace {

using event::Attribute;
using event::Value;

using Ctx = DecodeContext;

// Counts occurrences of length-delimited `field` in `msg`; -1 when malformed.
int64_t CountField(std::string_view msg, uint32_t field) {
  WireReader r(msg);
  int64_t n = 0;
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return -1;
    if (f == field && wt == kLengthDelimited) ++n;
    if (!r.Skip(wt)) return -1;
  }
  return n;
}

bool IdOk(std::string_view bytes, size_t want) {
  if (bytes.size() != want) return false;
  for (char c : bytes) {
    if (c != 0) return true;
  }
  return false;  // all zero
}

template <size_t N>
void CopyId(std::string_view bytes, std::array<uint8_t, N>& out) {
  std::memcpy(out.data(), bytes.data(), N);
}

bool DecodeAnyValue(Ctx& c, std::string_view msg, Value& out, int depth);

// Decodes KeyValue; sets `keep` false when the key could not be interned.
bool DecodeKeyValue(Ctx& c, std::string_view msg, Attribute& out, bool& keep, int depth) {
  WireReader r(msg);
  std::string_view key;
  std::string_view value_msg;
  bool has_value = false;
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("KeyValue");
    if (f == 1 && wt == kLengthDelimited) {
      if (!r.ReadBytes(key)) return c.Malformed("KeyValue.key");
    } else if (f == 2 && wt == kLengthDelimited) {
      if (!r.ReadBytes(value_msg)) return c.Malformed("KeyValue.value");
      has_value = true;
    } else if (!r.Skip(wt)) {
      return c.Malformed("KeyValue");
    }
  }
  out.value = Value();
  if (has_value && !DecodeAnyValue(c, value_msg, out.value, depth + 1)) return false;
  std::optional<event::KeyId> id = c.InternKey(key);
  keep = id.has_value();
  if (keep) out.key = *id;
  return true;
}

// Decodes repeated KeyValue field `field` of `msg` into an arena array.
bool DecodeAttributes(Ctx& c, std::string_view msg, uint32_t field, std::span<const Attribute>& out,
                      uint32_t& dropped, int depth) {
  int64_t n = CountField(msg, field);
  if (n < 0) return c.Malformed("attributes");
  if (n == 0) {
    out = {};
    return true;
  }
  Attribute* attrs = c.arena.AllocateArray<Attribute>(static_cast<size_t>(n));
  size_t kept = 0;
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("attributes");
    if (f == field && wt == kLengthDelimited) {
      std::string_view kv;
      if (!r.ReadBytes(kv)) return c.Malformed("attributes");
      bool keep = false;
      if (!DecodeKeyValue(c, kv, attrs[kept], keep, depth)) return false;
      if (keep) {
        ++kept;
      } else {
        ++dropped;
        ++c.stats.dropped_attributes;
      }
    } else if (!r.Skip(wt)) {
      return c.Malformed("attributes");
    }
  }
  out = {attrs, kept};
  return true;
}

bool DecodeAnyValue(Ctx& c, std::string_view msg, Value& out, int depth) {
  if (depth > c.max_depth) {
    return c.Fail("AnyValue nested deeper than " + std::to_string(c.max_depth) + " levels");
  }
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("AnyValue");
    uint64_t v = 0;
    std::string_view s;
    switch (f) {
      case 1:  // string_value
        if (wt != kLengthDelimited || !r.ReadBytes(s)) return c.Malformed("AnyValue.string_value");
        out = Value::String(s);
        break;
      case 2:  // bool_value
        if (wt != kVarint || !r.ReadVarint(v)) return c.Malformed("AnyValue.bool_value");
        out = Value::Bool(v != 0);
        break;
      case 3:  // int_value
        if (wt != kVarint || !r.ReadVarint(v)) return c.Malformed("AnyValue.int_value");
        out = Value::Int(static_cast<int64_t>(v));
        break;
      case 4: {  // double_value
        double d;
        if (wt != kFixed64 || !r.ReadDouble(d)) return c.Malformed("AnyValue.double_value");
        out = Value::Double(d);
        break;
      }
      case 5: {  // array_value: ArrayValue { repeated AnyValue values = 1; }
        if (wt != kLengthDelimited || !r.ReadBytes(s)) return c.Malformed("AnyValue.array_value");
        int64_t n = CountField(s, 1);
        if (n < 0) return c.Malformed("ArrayValue");
        Value* vals = n > 0 ? c.arena.AllocateArray<Value>(static_cast<size_t>(n)) : nullptr;
        size_t i = 0;
        WireReader ar(s);
        while (!ar.done()) {
          uint32_t af = 0, awt = 0;
          if (!ar.ReadTag(af, awt)) return c.Malformed("ArrayValue");
          if (af == 1 && awt == kLengthDelimited) {
            std::string_view e;
            if (!ar.ReadBytes(e)) return c.Malformed("ArrayValue");
            vals[i] = Value();
            if (!DecodeAnyValue(c, e, vals[i], depth + 1)) return false;
            ++i;
          } else if (!ar.Skip(awt)) {
            return c.Malformed("ArrayValue");
          }
        }
        out = Value::Array({vals, i});
        break;
      }
      case 6: {  // kvlist_value: KeyValueList { repeated KeyValue values = 1; }
        if (wt != kLengthDelimited || !r.ReadBytes(s)) return c.Malformed("AnyValue.kvlist_value");
        std::span<const Attribute> kv;
        uint32_t dropped = 0;
        if (!DecodeAttributes(c, s, 1, kv, dropped, depth)) return false;
        out = Value::KvList(kv);
        break;
      }
      case 7:  // bytes_value
        if (wt != kLengthDelimited || !r.ReadBytes(s)) return c.Malformed("AnyValue.bytes_value");
        out = Value::Bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
        break;
      default:
        if (!r.Skip(wt)) return c.Malformed("AnyValue");
    }
  }
  return true;
}

event::Resource* NewResource(Ctx& c) {
  auto* res = c.arena.AllocateArray<event::Resource>(1);
  return new (res) event::Resource();
}

event::InstrumentationScope* NewScope(Ctx& c) {
  auto* scope = c.arena.AllocateArray<event::InstrumentationScope>(1);
  return new (scope) event::InstrumentationScope();
}

bool DecodeResource(Ctx& c, std::string_view msg, event::Resource*& out) {
  event::Resource* res = NewResource(c);
  const uint32_t refused_before = c.budget.refused;
  if (!DecodeAttributes(c, msg, 1, res->attributes, res->dropped_attributes_count, 0)) {
    return false;
  }
  c.resource_refusal = c.RefusedSince(refused_before);
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("Resource");
    uint64_t v = 0;
    if (f == 2 && wt == kVarint) {
      if (!r.ReadVarint(v)) return c.Malformed("Resource");
      res->dropped_attributes_count += static_cast<uint32_t>(v);
    } else if (!r.Skip(wt)) {
      return c.Malformed("Resource");
    }
  }
  out = res;
  return true;
}

bool DecodeScope(Ctx& c, std::string_view msg, event::InstrumentationScope*& out) {
  event::InstrumentationScope* scope = NewScope(c);
  uint32_t dropped = 0;  // not carried: the event model has no scope dropped count
  const uint32_t refused_before = c.budget.refused;
  if (!DecodeAttributes(c, msg, 3, scope->attributes, dropped, 0)) return false;
  c.scope_refusal = c.RefusedSince(refused_before);
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("InstrumentationScope");
    if (f == 1 && wt == kLengthDelimited) {
      if (!r.ReadBytes(scope->name)) return c.Malformed("InstrumentationScope.name");
    } else if (f == 2 && wt == kLengthDelimited) {
      if (!r.ReadBytes(scope->version)) return c.Malformed("InstrumentationScope.version");
    } else if (!r.Skip(wt)) {
      return c.Malformed("InstrumentationScope");
    }
  }
  out = scope;
  return true;
}

// Walks a Resource*/Scope* container: field 1 is the resource (or scope), field
// `items_field` the repeated children, field 3 the schema_url. Calls `on_header` for field 1
// and then `on_schema_url` with the last schema_url (when one is present) first, so a second
// pass handles the children with the header known regardless of field order.
template <typename HeaderFn, typename SchemaFn, typename ItemFn>
bool WalkContainer(Ctx& c, std::string_view msg, const char* what, uint32_t items_field,
                   HeaderFn on_header, SchemaFn on_schema_url, ItemFn on_item) {
  WireReader r(msg);
  std::string_view schema_url;
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed(what);
    if (f == 1 && wt == kLengthDelimited) {
      std::string_view h;
      if (!r.ReadBytes(h)) return c.Malformed(what);
      if (!on_header(h)) return false;
    } else if (f == 3 && wt == kLengthDelimited) {
      if (!r.ReadBytes(schema_url)) return c.Malformed(what);
    } else if (!r.Skip(wt)) {
      return c.Malformed(what);
    }
  }
  if (!schema_url.empty()) on_schema_url(schema_url);
  WireReader r2(msg);
  while (!r2.done()) {
    uint32_t f = 0, wt = 0;
    if (!r2.ReadTag(f, wt)) return c.Malformed(what);
    if (f == items_field && wt == kLengthDelimited) {
      std::string_view item;
      if (!r2.ReadBytes(item)) return c.Malformed(what);
      if (!on_item(item)) return false;
    } else if (!r2.Skip(wt)) {
      return c.Malformed(what);
    }
  }
  return true;
}

// Walks an Export*ServiceRequest: every Resource* container (field 1), every Scope* container
// in it (field 2), and calls `on_item(item, resource, scope)` for every item (field 2 of the
// scope container) with the decoded resource and scope.
template <typename ItemFn>
bool WalkRequest(Ctx& c, std::string_view body, const char* request, const char* resource_what,
                 const char* scope_what, ItemFn on_item) {
  WireReader r(body);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed(request);
    if (f != 1 || wt != kLengthDelimited) {
      if (!r.Skip(wt)) return c.Malformed(request);
      continue;
    }
    std::string_view resource_msg;
    if (!r.ReadBytes(resource_msg)) return c.Malformed(request);
    event::Resource* res = nullptr;
    c.resource_refusal = event::KeyRefusal::kNone;
    bool ok = WalkContainer(
        c, resource_msg, resource_what, 2,
        [&](std::string_view h) { return DecodeResource(c, h, res); },
        [&](std::string_view url) {
          if (res == nullptr) res = NewResource(c);
          res->schema_url = url;
        },
        [&](std::string_view scope_msg) {
          event::InstrumentationScope* scope = nullptr;
          c.scope_refusal = event::KeyRefusal::kNone;
          return WalkContainer(
              c, scope_msg, scope_what, 2,
              [&](std::string_view h) { return DecodeScope(c, h, scope); },
              [&](std::string_view url) {
                if (scope == nullptr) scope = NewScope(c);
                scope->schema_url = url;
              },
              [&](std::string_view item) { return on_item(item, res, scope); });
        });
    if (!ok) return false;
  }
  return true;
}

// ---- traces ----

bool DecodeStatus(Ctx& c, std::string_view msg, event::SpanStatus& st) {
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("Status");
    uint64_t v = 0;
    if (f == 2 && wt == kLengthDelimited) {
      if (!r.ReadBytes(st.message)) return c.Malformed("Status.message");
    } else if (f == 3 && wt == kVarint) {
      if (!r.ReadVarint(v)) return c.Malformed("Status.code");
      if (v > 2) return c.Fail("Status.code " + std::to_string(v) + " is not 0, 1 or 2");
      st.code = static_cast<event::StatusCode>(v);
    } else if (!r.Skip(wt)) {
      return c.Malformed("Status");
    }
  }
  return true;
}

bool DecodeEvent(Ctx& c, std::string_view msg, event::SpanEvent& e) {
  e = event::SpanEvent();
  if (!DecodeAttributes(c, msg, 3, e.attributes, e.dropped_attributes_count, 0)) return false;
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("Span.Event");
    uint64_t v = 0;
    if (f == 1 && wt == kFixed64) {
      if (!r.ReadFixed64(e.time_ns)) return c.Malformed("Span.Event.time_unix_nano");
    } else if (f == 2 && wt == kLengthDelimited) {
      if (!r.ReadBytes(e.name)) return c.Malformed("Span.Event.name");
    } else if (f == 4 && wt == kVarint) {
      if (!r.ReadVarint(v)) return c.Malformed("Span.Event");
      e.dropped_attributes_count += static_cast<uint32_t>(v);
    } else if (!r.Skip(wt)) {
      return c.Malformed("Span.Event");
    }
  }
  return true;
}

bool DecodeLink(Ctx& c, std::string_view msg, event::SpanLink& l) {
  l = event::SpanLink();
  if (!DecodeAttributes(c, msg, 4, l.attributes, l.dropped_attributes_count, 0)) return false;
  WireReader r(msg);
  bool has_trace = false;
  bool has_span = false;
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("Span.Link");
    std::string_view s;
    uint64_t v = 0;
    if (f == 1 && wt == kLengthDelimited) {
      if (!r.ReadBytes(s)) return c.Malformed("Span.Link.trace_id");
      if (!IdOk(s, 16)) return c.Fail("Span.Link.trace_id must be 16 non-zero bytes");
      CopyId(s, l.trace_id.bytes);
      has_trace = true;
    } else if (f == 2 && wt == kLengthDelimited) {
      if (!r.ReadBytes(s)) return c.Malformed("Span.Link.span_id");
      if (!IdOk(s, 8)) return c.Fail("Span.Link.span_id must be 8 non-zero bytes");
      CopyId(s, l.span_id.bytes);
      has_span = true;
    } else if (f == 3 && wt == kLengthDelimited) {
      if (!r.ReadBytes(l.trace_state)) return c.Malformed("Span.Link.trace_state");
    } else if (f == 5 && wt == kVarint) {
      if (!r.ReadVarint(v)) return c.Malformed("Span.Link");
      l.dropped_attributes_count += static_cast<uint32_t>(v);
    } else if (f == 6 && wt == kFixed32) {
      if (!r.ReadFixed32(l.flags)) return c.Malformed("Span.Link.flags");
    } else if (!r.Skip(wt)) {
      return c.Malformed("Span.Link");
    }
  }
  if (!has_trace || !has_span) return c.Fail("Span.Link without trace_id or span_id");
  return true;
}

template <typename T, typename Fn>
bool DecodeRepeated(Ctx& c, std::string_view msg, uint32_t field, const char* what,
                    std::span<const T>& out, Fn decode_one) {
  int64_t n = CountField(msg, field);
  if (n < 0) return c.Malformed(what);
  if (n == 0) {
    out = {};
    return true;
  }
  T* items = c.arena.AllocateArray<T>(static_cast<size_t>(n));
  size_t i = 0;
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed(what);
    if (f == field && wt == kLengthDelimited) {
      std::string_view s;
      if (!r.ReadBytes(s)) return c.Malformed(what);
      if (!decode_one(s, items[i])) return false;
      ++i;
    } else if (!r.Skip(wt)) {
      return c.Malformed(what);
    }
  }
  out = {items, i};
  return true;
}

bool DecodeSpan(Ctx& c, std::string_view msg, const event::Resource* res,
                const event::InstrumentationScope* scope) {
  size_t index = c.batch.spans().size();
  event::Span& s = c.batch.AddSpan();
  s.resource = res;
  s.scope = scope;
  auto where = [&](const char* field) {
    return "span " + std::to_string(c.stats.items) + ": " + field;
  };
  if (!DecodeAttributes(c, msg, 9, s.attributes, s.dropped_attributes_count, 0)) return false;
  if (!DecodeRepeated<event::SpanEvent>(
          c, msg, 11, "Span.events", s.events,
          [&](std::string_view m, event::SpanEvent& e) { return DecodeEvent(c, m, e); })) {
    return false;
  }
  if (!DecodeRepeated<event::SpanLink>(
          c, msg, 13, "Span.links", s.links,
          [&](std::string_view m, event::SpanLink& l) { return DecodeLink(c, m, l); })) {
    return false;
  }
  bool has_trace = false;
  bool has_span = false;
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("Span");
    std::string_view b;
    uint64_t v = 0;
    bool ok = true;
    switch (f) {
      case 1:
        ok = wt == kLengthDelimited && r.ReadBytes(b);
        if (ok && !IdOk(b, 16)) {
          return c.Fail(where("trace_id must be 16 bytes and not all zero, got ") +
                        std::to_string(b.size()) + " bytes");
        }
        if (ok) CopyId(b, s.trace_id.bytes);
        has_trace = ok;
        break;
      case 2:
        ok = wt == kLengthDelimited && r.ReadBytes(b);
        if (ok && !IdOk(b, 8)) {
          return c.Fail(where("span_id must be 8 bytes and not all zero, got ") +
                        std::to_string(b.size()) + " bytes");
        }
        if (ok) CopyId(b, s.span_id.bytes);
        has_span = ok;
        break;
      case 3:
        ok = wt == kLengthDelimited && r.ReadBytes(s.trace_state);
        break;
      case 4:
        ok = wt == kLengthDelimited && r.ReadBytes(b);
        if (ok && !b.empty()) {
          if (b.size() != 8) {
            return c.Fail(where("parent_span_id must be empty or 8 bytes, got ") +
                          std::to_string(b.size()) + " bytes");
          }
          CopyId(b, s.parent_span_id.bytes);
        }
        break;
      case 5:
        ok = wt == kLengthDelimited && r.ReadBytes(s.name);
        break;
      case 6:
        ok = wt == kVarint && r.ReadVarint(v);
        if (ok && v > 5) return c.Fail(where("kind ") + std::to_string(v) + " is not 0..5");
        if (ok) s.kind = static_cast<event::SpanKind>(v);
        break;
      case 7:
        ok = wt == kFixed64 && r.ReadFixed64(s.start_ns);
        break;
      case 8:
        ok = wt == kFixed64 && r.ReadFixed64(s.end_ns);
        break;
      case 10:
        ok = wt == kVarint && r.ReadVarint(v);
        s.dropped_attributes_count += static_cast<uint32_t>(v);
        break;
      case 12:
        ok = wt == kVarint && r.ReadVarint(v);
        s.dropped_events_count = static_cast<uint32_t>(v);
        break;
      case 14:
        ok = wt == kVarint && r.ReadVarint(v);
        s.dropped_links_count = static_cast<uint32_t>(v);
        break;
      case 15:
        ok = wt == kLengthDelimited && r.ReadBytes(b);
        if (ok && !DecodeStatus(c, b, s.status)) return false;
        break;
      case 16:
        ok = wt == kFixed32 && r.ReadFixed32(s.flags);
        break;
      default:
        ok = r.Skip(wt);
    }
    if (!ok) return c.Malformed("Span");
  }
  if (!has_trace) return c.Fail(where("trace_id is missing"));
  if (!has_span) return c.Fail(where("span_id is missing"));
  (void)index;
  ++c.stats.items;
  return true;
}

bool DecodeTraces(Ctx& c, std::string_view body) {
  return WalkRequest(
      c, body, "ExportTraceServiceRequest", "ResourceSpans", "ScopeSpans",
      [&](std::string_view span, const event::Resource* res,
          const event::InstrumentationScope* scope) { return DecodeSpan(c, span, res, scope); });
}

// ---- metrics ----

// Reads a packed (or unpacked) repeated fixed64/double field into an arena array of T.
template <typename T>
bool ReadPackedFixed64(Ctx& c, std::string_view msg, uint32_t field, const char* what,
                       const T*& out, size_t& n) {
  static_assert(sizeof(T) == 8);
  size_t count = 0;
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed(what);
    if (f == field && wt == kLengthDelimited) {
      std::string_view s;
      if (!r.ReadBytes(s) || s.size() % 8 != 0) return c.Malformed(what);
      count += s.size() / 8;
    } else if (f == field && wt == kFixed64) {
      uint64_t v = 0;
      if (!r.ReadFixed64(v)) return c.Malformed(what);
      ++count;
    } else if (!r.Skip(wt)) {
      return c.Malformed(what);
    }
  }
  T* arr = count > 0 ? c.arena.AllocateArray<T>(count) : nullptr;
  size_t i = 0;
  WireReader r2(msg);  // validated above
  while (!r2.done()) {
    uint32_t f = 0, wt = 0;
    r2.ReadTag(f, wt);
    if (f == field && wt == kLengthDelimited) {
      std::string_view s;
      r2.ReadBytes(s);
      if (!s.empty()) std::memcpy(static_cast<void*>(arr + i), s.data(), s.size());
      i += s.size() / 8;
    } else if (f == field && wt == kFixed64) {
      uint64_t v = 0;
      r2.ReadFixed64(v);
      std::memcpy(static_cast<void*>(arr + i), &v, 8);
      ++i;
    } else {
      r2.Skip(wt);
    }
  }
  out = arr;
  n = count;
  return true;
}

bool ReadPackedVarint(Ctx& c, std::string_view msg, uint32_t field, const char* what,
                      const uint64_t*& out, size_t& n) {
  size_t count = 0;
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed(what);
    uint64_t v = 0;
    if (f == field && wt == kLengthDelimited) {
      std::string_view s;
      if (!r.ReadBytes(s)) return c.Malformed(what);
      WireReader p(s);
      while (!p.done()) {
        if (!p.ReadVarint(v)) return c.Malformed(what);
        ++count;
      }
    } else if (f == field && wt == kVarint) {
      if (!r.ReadVarint(v)) return c.Malformed(what);
      ++count;
    } else if (!r.Skip(wt)) {
      return c.Malformed(what);
    }
  }
  auto* arr = count > 0 ? c.arena.AllocateArray<uint64_t>(count) : nullptr;
  size_t i = 0;
  WireReader r2(msg);
  while (!r2.done()) {
    uint32_t f = 0, wt = 0;
    r2.ReadTag(f, wt);
    if (f == field && wt == kLengthDelimited) {
      std::string_view s;
      r2.ReadBytes(s);
      WireReader p(s);
      while (!p.done()) p.ReadVarint(arr[i++]);
    } else if (f == field && wt == kVarint) {
      r2.ReadVarint(arr[i++]);
    } else {
      r2.Skip(wt);
    }
  }
  out = arr;
  n = count;
  return true;
}

int32_t ZigZag32(uint64_t v) {
  auto u = static_cast<uint32_t>(v);
  return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
}

bool DecodeNumberPoint(Ctx& c, std::string_view msg, const MetricHeader& h, event::MetricType type,
                       event::Temporality t, bool monotonic) {
  std::span<const Attribute> labels;
  uint32_t dropped = 0;
  if (!DecodeAttributes(c, msg, 7, labels, dropped, 0)) return false;
  event::MetricPoint& p = NewPoint(c, h, type, t, monotonic);
  p.labels = labels;
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("NumberDataPoint");
    uint64_t v = 0;
    bool ok = true;
    if (f == 2 && wt == kFixed64) {
      ok = r.ReadFixed64(p.start_time_ns);
    } else if (f == 3 && wt == kFixed64) {
      ok = r.ReadFixed64(p.time_ns);
    } else if (f == 4 && wt == kFixed64) {
      ok = r.ReadDouble(p.double_value);
      p.is_int = false;
    } else if (f == 6 && wt == kFixed64) {
      ok = r.ReadFixed64(v);
      p.int_value = static_cast<int64_t>(v);
      p.is_int = true;
    } else if (f == 8 && wt == kVarint) {
      ok = r.ReadVarint(v);
      p.flags = static_cast<uint32_t>(v);
    } else {
      ok = r.Skip(wt);
    }
    if (!ok) return c.Malformed("NumberDataPoint");
  }
  return true;
}

bool DecodeHistogramPoint(Ctx& c, std::string_view msg, const MetricHeader& h,
                          event::Temporality t) {
  std::span<const Attribute> labels;
  uint32_t dropped = 0;
  if (!DecodeAttributes(c, msg, 9, labels, dropped, 0)) return false;
  auto* hd = c.arena.AllocateArray<event::HistogramData>(1);
  new (hd) event::HistogramData();
  const uint64_t* counts = nullptr;
  size_t ncounts = 0;
  const double* bounds = nullptr;
  size_t nbounds = 0;
  if (!ReadPackedFixed64<uint64_t>(c, msg, 6, "HistogramDataPoint.bucket_counts", counts,
                                   ncounts) ||
      !ReadPackedFixed64<double>(c, msg, 7, "HistogramDataPoint.explicit_bounds", bounds,
                                 nbounds)) {
    return false;
  }
  if (ncounts != 0 && ncounts != nbounds + 1) {
    return c.Fail("histogram " + std::string(h.name) + ": " + std::to_string(ncounts) +
                  " bucket counts for " + std::to_string(nbounds) + " bounds (need bounds + 1)");
  }
  hd->bucket_counts = {counts, ncounts};
  hd->explicit_bounds = {bounds, nbounds};
  event::MetricPoint& p = NewPoint(c, h, event::MetricType::kHistogram, t, false);
  p.labels = labels;
  p.histogram = hd;
  bool has_min = false;
  bool has_max = false;
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("HistogramDataPoint");
    uint64_t v = 0;
    bool ok = true;
    if (f == 2 && wt == kFixed64) {
      ok = r.ReadFixed64(p.start_time_ns);
    } else if (f == 3 && wt == kFixed64) {
      ok = r.ReadFixed64(p.time_ns);
    } else if (f == 4 && wt == kFixed64) {
      ok = r.ReadFixed64(hd->count);
    } else if (f == 5 && wt == kFixed64) {
      ok = r.ReadDouble(hd->sum);
    } else if (f == 10 && wt == kVarint) {
      ok = r.ReadVarint(v);
      p.flags = static_cast<uint32_t>(v);
    } else if (f == 11 && wt == kFixed64) {
      ok = r.ReadDouble(hd->min);
      has_min = true;
    } else if (f == 12 && wt == kFixed64) {
      ok = r.ReadDouble(hd->max);
      has_max = true;
    } else {
      ok = r.Skip(wt);
    }
    if (!ok) return c.Malformed("HistogramDataPoint");
  }
  hd->has_min_max = has_min && has_max;
  return true;
}

bool DecodeBuckets(Ctx& c, std::string_view msg, event::ExponentialBuckets& b) {
  const uint64_t* counts = nullptr;
  size_t n = 0;
  if (!ReadPackedVarint(c, msg, 2, "Buckets.bucket_counts", counts, n)) return false;
  b.counts = {counts, n};
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("Buckets");
    uint64_t v = 0;
    if (f == 1 && wt == kVarint) {
      if (!r.ReadVarint(v)) return c.Malformed("Buckets.offset");
      b.offset = ZigZag32(v);
    } else if (!r.Skip(wt)) {
      return c.Malformed("Buckets");
    }
  }
  return true;
}

bool DecodeExpHistogramPoint(Ctx& c, std::string_view msg, const MetricHeader& h,
                             event::Temporality t) {
  std::span<const Attribute> labels;
  uint32_t dropped = 0;
  if (!DecodeAttributes(c, msg, 1, labels, dropped, 0)) return false;
  auto* hd = c.arena.AllocateArray<event::ExponentialHistogramData>(1);
  new (hd) event::ExponentialHistogramData();
  event::MetricPoint& p = NewPoint(c, h, event::MetricType::kExponentialHistogram, t, false);
  p.labels = labels;
  p.exp_histogram = hd;
  bool has_min = false;
  bool has_max = false;
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("ExponentialHistogramDataPoint");
    uint64_t v = 0;
    std::string_view s;
    bool ok = true;
    if (f == 2 && wt == kFixed64) {
      ok = r.ReadFixed64(p.start_time_ns);
    } else if (f == 3 && wt == kFixed64) {
      ok = r.ReadFixed64(p.time_ns);
    } else if (f == 4 && wt == kFixed64) {
      ok = r.ReadFixed64(hd->count);
    } else if (f == 5 && wt == kFixed64) {
      ok = r.ReadDouble(hd->sum);
    } else if (f == 6 && wt == kVarint) {
      ok = r.ReadVarint(v);
      hd->scale = ZigZag32(v);
      if (ok && (hd->scale < -10 || hd->scale > 20)) {
        return c.Fail("exponential histogram " + std::string(h.name) + ": scale " +
                      std::to_string(hd->scale) + " outside [-10, 20]");
      }
    } else if (f == 7 && wt == kFixed64) {
      ok = r.ReadFixed64(hd->zero_count);
    } else if (f == 8 && wt == kLengthDelimited) {
      ok = r.ReadBytes(s);
      if (ok && !DecodeBuckets(c, s, hd->positive)) return false;
    } else if (f == 9 && wt == kLengthDelimited) {
      ok = r.ReadBytes(s);
      if (ok && !DecodeBuckets(c, s, hd->negative)) return false;
    } else if (f == 10 && wt == kVarint) {
      ok = r.ReadVarint(v);
      p.flags = static_cast<uint32_t>(v);
    } else if (f == 12 && wt == kFixed64) {
      ok = r.ReadDouble(hd->min);
      has_min = true;
    } else if (f == 13 && wt == kFixed64) {
      ok = r.ReadDouble(hd->max);
      has_max = true;
    } else if (f == 14 && wt == kFixed64) {
      ok = r.ReadDouble(hd->zero_threshold);
    } else {
      ok = r.Skip(wt);
    }
    if (!ok) return c.Malformed("ExponentialHistogramDataPoint");
  }
  hd->has_min_max = has_min && has_max;
  return true;
}

// A summary point stays one kSummary point: count, sum and its quantile values.
bool DecodeSummaryPoint(Ctx& c, std::string_view msg, const MetricHeader& h) {
  std::span<const Attribute> labels;
  uint32_t dropped = 0;
  if (!DecodeAttributes(c, msg, 7, labels, dropped, 0)) return false;
  int64_t nq = CountField(msg, 6);
  if (nq < 0) return c.Malformed("SummaryDataPoint");
  if (static_cast<uint64_t>(nq) > event::SummaryData::kMaxQuantiles) {
    return c.Fail("summary " + std::string(h.name) + ": " + std::to_string(nq) +
                  " quantile values (at most " + std::to_string(event::SummaryData::kMaxQuantiles) +
                  ")");
  }
  auto* sd = c.arena.AllocateArray<event::SummaryData>(1);
  new (sd) event::SummaryData();
  auto* qs =
      nq > 0 ? c.arena.AllocateArray<event::QuantileValue>(static_cast<size_t>(nq)) : nullptr;
  size_t n = 0;
  event::MetricPoint& p =
      NewPoint(c, h, event::MetricType::kSummary, event::Temporality::kUnspecified, false);
  p.labels = labels;
  p.summary = sd;
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("SummaryDataPoint");
    uint64_t v = 0;
    std::string_view s;
    bool ok = true;
    if (f == 2 && wt == kFixed64) {
      ok = r.ReadFixed64(p.start_time_ns);
    } else if (f == 3 && wt == kFixed64) {
      ok = r.ReadFixed64(p.time_ns);
    } else if (f == 4 && wt == kFixed64) {
      ok = r.ReadFixed64(sd->count);
    } else if (f == 5 && wt == kFixed64) {
      ok = r.ReadDouble(sd->sum);
    } else if (f == 6 && wt == kLengthDelimited) {
      if (!r.ReadBytes(s)) return c.Malformed("SummaryDataPoint.quantile_values");
      event::QuantileValue& q = qs[n++];
      q = event::QuantileValue();
      WireReader vr(s);
      while (!vr.done()) {
        uint32_t vf = 0, vwt = 0;
        if (!vr.ReadTag(vf, vwt)) return c.Malformed("ValueAtQuantile");
        bool vok = true;
        if (vf == 1 && vwt == kFixed64) {
          vok = vr.ReadDouble(q.quantile);
        } else if (vf == 2 && vwt == kFixed64) {
          vok = vr.ReadDouble(q.value);
        } else {
          vok = vr.Skip(vwt);
        }
        if (!vok) return c.Malformed("ValueAtQuantile");
      }
      if (!(q.quantile >= 0 && q.quantile <= 1)) {
        return c.Fail("summary " + std::string(h.name) + ": quantile " +
                      std::to_string(q.quantile) + " outside [0, 1]");
      }
    } else if (f == 8 && wt == kVarint) {
      ok = r.ReadVarint(v);
      p.flags = static_cast<uint32_t>(v);
    } else {
      ok = r.Skip(wt);
    }
    if (!ok) return c.Malformed("SummaryDataPoint");
  }
  sd->quantiles = {qs, n};
  return true;
}

// Reads aggregation_temporality (2) and is_monotonic (3) of a Sum/Histogram message.
bool ReadAggregation(Ctx& c, std::string_view msg, event::Temporality& t, bool& monotonic) {
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("Metric data");
    uint64_t v = 0;
    if (f == 2 && wt == kVarint) {
      if (!r.ReadVarint(v)) return c.Malformed("aggregation_temporality");
      if (v > 2) return c.Fail("aggregation_temporality " + std::to_string(v) + " is not 0..2");
      t = static_cast<event::Temporality>(v);
    } else if (f == 3 && wt == kVarint) {
      if (!r.ReadVarint(v)) return c.Malformed("is_monotonic");
      monotonic = v != 0;
    } else if (!r.Skip(wt)) {
      return c.Malformed("Metric data");
    }
  }
  return true;
}

bool DecodeMetric(Ctx& c, std::string_view msg, const event::Resource* res,
                  const event::InstrumentationScope* scope) {
  MetricHeader h{{}, {}, {}, res, scope};
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("Metric");
    bool ok = true;
    if (f == 1 && wt == kLengthDelimited) {
      ok = r.ReadBytes(h.name);
    } else if (f == 2 && wt == kLengthDelimited) {
      ok = r.ReadBytes(h.description);
    } else if (f == 3 && wt == kLengthDelimited) {
      ok = r.ReadBytes(h.unit);
    } else {
      ok = r.Skip(wt);
    }
    if (!ok) return c.Malformed("Metric");
  }
  if (h.name.empty()) return c.Fail("metric without a name");
  WireReader d(msg);
  while (!d.done()) {
    uint32_t f = 0, wt = 0;
    if (!d.ReadTag(f, wt)) return c.Malformed("Metric");
    if (wt != kLengthDelimited || f < 5 || f > 11 || f == 6 || f == 8) {
      if (!d.Skip(wt)) return c.Malformed("Metric");
      continue;
    }
    std::string_view data;
    if (!d.ReadBytes(data)) return c.Malformed("Metric");
    event::Temporality t = event::Temporality::kUnspecified;
    bool monotonic = false;
    if (f != 5 && f != 11 && !ReadAggregation(c, data, t, monotonic)) return false;
    WireReader pr(data);
    while (!pr.done()) {
      uint32_t pf = 0, pwt = 0;
      if (!pr.ReadTag(pf, pwt)) return c.Malformed("Metric data");
      if (pf != 1 || pwt != kLengthDelimited) {
        if (!pr.Skip(pwt)) return c.Malformed("Metric data");
        continue;
      }
      std::string_view point;
      if (!pr.ReadBytes(point)) return c.Malformed("Metric data");
      bool ok = DecodeMetricPoint(c, [&] {
        switch (f) {
          case 5:
            return DecodeNumberPoint(c, point, h, event::MetricType::kGauge, t, false);
          case 7:
            return DecodeNumberPoint(c, point, h, event::MetricType::kSum, t, monotonic);
          case 9:
            return DecodeHistogramPoint(c, point, h, t);
          case 10:
            return DecodeExpHistogramPoint(c, point, h, t);
          default:
            return DecodeSummaryPoint(c, point, h);
        }
      });
      if (!ok) return false;
    }
  }
  return true;
}

bool DecodeMetrics(Ctx& c, std::string_view body) {
  return WalkRequest(c, body, "ExportMetricsServiceRequest", "ResourceMetrics", "ScopeMetrics",
                     [&](std::string_view metric, const event::Resource* res,
                         const event::InstrumentationScope* scope) {
                       return DecodeMetric(c, metric, res, scope);
                     });
}

// ---- logs ----

bool DecodeLogRecord(Ctx& c, std::string_view msg, const event::Resource* res,
                     const event::InstrumentationScope* scope) {
  std::span<const Attribute> attrs;
  uint32_t dropped = 0;
  if (!DecodeAttributes(c, msg, 6, attrs, dropped, 0)) return false;
  event::LogRecord& l = c.batch.AddLog();
  l.resource = res;
  l.scope = scope;
  l.attributes = attrs;
  l.dropped_attributes_count = dropped;
  WireReader r(msg);
  while (!r.done()) {
    uint32_t f = 0, wt = 0;
    if (!r.ReadTag(f, wt)) return c.Malformed("LogRecord");
    uint64_t v = 0;
    std::string_view s;
    bool ok = true;
    switch (f) {
      case 1:
        ok = wt == kFixed64 && r.ReadFixed64(l.time_ns);
        break;
      case 11:
        ok = wt == kFixed64 && r.ReadFixed64(l.observed_time_ns);
        break;
      case 2:
        ok = wt == kVarint && r.ReadVarint(v);
        if (ok && v > 24) return c.Fail("log record severity_number " + std::to_string(v));
        l.severity_number = static_cast<uint8_t>(v);
        break;
      case 3:
        ok = wt == kLengthDelimited && r.ReadBytes(l.severity_text);
        break;
      case 5:
        ok = wt == kLengthDelimited && r.ReadBytes(s);
        if (ok && !DecodeAnyValue(c, s, l.body, 0)) return false;
        break;
      case 7:
        ok = wt == kVarint && r.ReadVarint(v);
        l.dropped_attributes_count += static_cast<uint32_t>(v);
        break;
      case 8:
        ok = wt == kFixed32 && r.ReadFixed32(l.flags);
        break;
      case 9:
        ok = wt == kLengthDelimited && r.ReadBytes(s);
        if (ok && !s.empty()) {
          if (s.size() != 16) return c.Fail("log record trace_id must be empty or 16 bytes");
          CopyId(s, l.trace_id.bytes);
        }
        break;
      case 10:
        ok = wt == kLengthDelimited && r.ReadBytes(s);
        if (ok && !s.empty()) {
          if (s.size() != 8) return c.Fail("log record span_id must be empty or 8 bytes");
          CopyId(s, l.span_id.bytes);
        }
        break;
      case 12:
        ok = wt == kLengthDelimited && r.ReadBytes(l.event_name);
        break;
      default:
        ok = r.Skip(wt);
    }
    if (!ok) return c.Malformed("LogRecord");
  }
  ++c.stats.items;
  return true;
}

bool DecodeLogs(Ctx& c, std::string_view body) {
  return WalkRequest(c, body, "ExportLogsServiceRequest", "ResourceLogs", "ScopeLogs",
                     [&](std::string_view record, const event::Resource* res,
                         const event::InstrumentationScope* scope) {
                       return DecodeLogRecord(c, record, res, scope);
                     });
}

}  // namespace

strobe::Result<DecodeStats> DecodeProtobuf(Signal signal, std::string_view body,
                                           event::Batch& batch, const DecodeOptions& options) {
  Ctx c(batch, options);
  // One copy of the body into the arena; every view of the events points into it.
  std::string_view owned = batch.arena().CopyString(body);
  bool ok = false;
  switch (signal) {
    case Signal::kTraces:
      ok = DecodeTraces(c, owned);
      break;
    case Signal::kMetrics:
      ok = DecodeMetrics(c, owned);
      break;
    case Signal::kLogs:
      ok = DecodeLogs(c, owned);
      break;
  }
  return c.Finish(ok);
}

}  // namespace internal
}  // namespace strobed::otlp
