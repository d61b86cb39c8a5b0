// OTLP/JSON decoding (see otlp_decode.h for the rules and the mapping). simdjson's DOM parser
// (one per thread, reused) validates and parses the body; strings are copied into the batch
// arena because the parser's string buffer is reused by the next request.
#include <simdjson.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "strobed/otlp/decode_context.h"
#include "strobed/otlp/otlp_decode.h"

namespace strobed::otlp::internal {
namespace {

using event::Attribute;
using event::Value;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

using Ctx = DecodeContext;

// lowerCamelCase (the OTLP/JSON form) or the proto field name.
bool Is(std::string_view key, std::string_view camel, std::string_view snake) {
  return key == camel || key == snake;
}

bool GetString(Ctx& c, element e, std::string_view field, std::string_view& out) {
  std::string_view s;
  if (e.get_string().get(s)) return c.Type(field, "a string");
  out = c.arena.CopyString(s);
  return true;
}

bool GetU64(Ctx& c, element e, std::string_view field, uint64_t& out) {
  switch (e.type()) {
    case element_type::UINT64:
      out = e.get_uint64().value_unsafe();
      return true;
    case element_type::INT64: {
      int64_t v = e.get_int64().value_unsafe();
      if (v < 0) return c.Type(field, "a non-negative integer");
      out = static_cast<uint64_t>(v);
      return true;
    }
    case element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      if (s.empty() || s.size() > 20) return c.Type(field, "an unsigned integer");
      uint64_t v = 0;
      for (char ch : s) {
        if (ch < '0' || ch > '9') return c.Type(field, "an unsigned integer");
        uint64_t next = v * 10 + static_cast<uint64_t>(ch - '0');
        if (next / 10 != v) return c.Type(field, "an unsigned 64-bit integer");
        v = next;
      }
      out = v;
      return true;
    }
    default:
      return c.Type(field, "an unsigned integer (number or string)");
  }
}

bool GetI64(Ctx& c, element e, std::string_view field, int64_t& out) {
  switch (e.type()) {
    case element_type::INT64:
      out = e.get_int64().value_unsafe();
      return true;
    case element_type::UINT64: {
      uint64_t v = e.get_uint64().value_unsafe();
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return c.Type(field, "a 64-bit integer");
      }
      out = static_cast<int64_t>(v);
      return true;
    }
    case element_type::STRING: {
      std::string s(e.get_string().value_unsafe());
      if (s.empty() || s.size() > 20) return c.Type(field, "an integer");
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(s.c_str(), &end, 10);
      if (errno != 0 || end != s.c_str() + s.size()) return c.Type(field, "a 64-bit integer");
      out = v;
      return true;
    }
    default:
      return c.Type(field, "an integer (number or string)");
  }
}

bool GetDouble(Ctx& c, element e, std::string_view field, double& out) {
  switch (e.type()) {
    case element_type::DOUBLE:
      out = e.get_double().value_unsafe();
      return true;
    case element_type::INT64:
      out = static_cast<double>(e.get_int64().value_unsafe());
      return true;
    case element_type::UINT64:
      out = static_cast<double>(e.get_uint64().value_unsafe());
      return true;
    case element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      if (s == "NaN") {
        out = std::numeric_limits<double>::quiet_NaN();
      } else if (s == "Infinity") {
        out = std::numeric_limits<double>::infinity();
      } else if (s == "-Infinity") {
        out = -std::numeric_limits<double>::infinity();
      } else {
        std::string str(s);
        char* end = nullptr;
        out = std::strtod(str.c_str(), &end);
        if (str.empty() || end != str.c_str() + str.size()) return c.Type(field, "a number");
      }
      return true;
    }
    default:
      return c.Type(field, "a number");
  }
}

bool GetBool(Ctx& c, element e, std::string_view field, bool& out) {
  if (e.get_bool().get(out)) return c.Type(field, "true or false");
  return true;
}

bool GetEnum(Ctx& c, element e, std::string_view field, uint64_t max, uint64_t& out) {
  int64_t v;
  if (e.type() == element_type::STRING) return c.Type(field, "an integer (OTLP/JSON enum)");
  if (!GetI64(c, e, field, v)) return false;
  if (v < 0 || static_cast<uint64_t>(v) > max) {
    return c.Fail("field '" + std::string(field) + "' value " + std::to_string(v) +
                  " is out of range 0.." + std::to_string(max));
  }
  out = static_cast<uint64_t>(v);
  return true;
}

template <size_t N>
bool GetId(Ctx& c, element e, std::string_view field, std::array<uint8_t, N>& out, bool& present) {
  std::string_view s;
  if (e.get_string().get(s)) return c.Type(field, "a hex string");
  present = !s.empty();
  if (!present) return true;
  auto hex = [](char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  if (s.size() != N * 2) {
    return c.Fail("field '" + std::string(field) + "' must be " + std::to_string(N * 2) +
                  " hex digits, got " + std::to_string(s.size()) + " characters");
  }
  bool nonzero = false;
  for (size_t i = 0; i < N; ++i) {
    int hi = hex(s[2 * i]);
    int lo = hex(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return c.Type(field, "a hex string");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
    nonzero = nonzero || out[i] != 0;
  }
  if (!nonzero) return c.Fail("field '" + std::string(field) + "' is all zeros");
  return true;
}

bool GetBase64(Ctx& c, element e, std::string_view field, std::span<const uint8_t>& out) {
  std::string_view s;
  if (e.get_string().get(s)) return c.Type(field, "a base64 string");
  auto val = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+' || ch == '-') return 62;
    if (ch == '/' || ch == '_') return 63;
    return -1;
  };
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  if (s.size() % 4 == 1) return c.Type(field, "valid base64");
  uint8_t* buf = c.arena.AllocateArray<uint8_t>(s.size() * 3 / 4 + 1);
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : s) {
    int v = val(ch);
    if (v < 0) return c.Type(field, "valid base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      buf[n++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  out = {buf, n};
  return true;
}

bool GetArray(Ctx& c, element e, std::string_view field, array& out) {
  if (e.get_array().get(out)) return c.Type(field, "an array");
  return true;
}

bool GetObject(Ctx& c, element e, std::string_view field, object& out) {
  if (e.get_object().get(out)) return c.Type(field, "an object");
  return true;
}

bool DecodeAnyValue(Ctx& c, element e, Value& out, int depth);

bool DecodeAttributes(Ctx& c, element e, std::string_view field, std::span<const Attribute>& out,
                      uint32_t& dropped, int depth) {
  array arr;
  if (!GetArray(c, e, field, arr)) return false;
  size_t n = arr.size();
  if (n == 0) {
    out = {};
    return true;
  }
  Attribute* attrs = c.arena.AllocateArray<Attribute>(n);
  size_t kept = 0;
  for (element kv : arr) {
    object o;
    if (!GetObject(c, kv, field, o)) return false;
    std::string_view key;
    Value value;
    for (auto [k, v] : o) {
      if (k == "key") {
        if (v.get_string().get(key)) return c.Type("key", "a string");
      } else if (k == "value") {
        if (!DecodeAnyValue(c, v, value, depth + 1)) return false;
      }
    }
    std::optional<event::KeyId> id = c.InternKey(key);
    if (!id) {
      ++dropped;
      ++c.stats.dropped_attributes;
      continue;
    }
    attrs[kept++] = {*id, value};
  }
  out = {attrs, kept};
  return true;
}

bool DecodeAnyValue(Ctx& c, element e, Value& out, int depth) {
  if (depth > c.max_depth) {
    return c.Fail("AnyValue nested deeper than " + std::to_string(c.max_depth) + " levels");
  }
  out = Value();
  if (e.is_null()) return true;
  object o;
  if (!GetObject(c, e, "value", o)) return false;
  for (auto [k, v] : o) {
    if (Is(k, "stringValue", "string_value")) {
      std::string_view s;
      if (!GetString(c, v, k, s)) return false;
      out = Value::String(s);
    } else if (Is(k, "boolValue", "bool_value")) {
      bool b;
      if (!GetBool(c, v, k, b)) return false;
      out = Value::Bool(b);
    } else if (Is(k, "intValue", "int_value")) {
      int64_t i;
      if (!GetI64(c, v, k, i)) return false;
      out = Value::Int(i);
    } else if (Is(k, "doubleValue", "double_value")) {
      double d;
      if (!GetDouble(c, v, k, d)) return false;
      out = Value::Double(d);
    } else if (Is(k, "bytesValue", "bytes_value")) {
      std::span<const uint8_t> b;
      if (!GetBase64(c, v, k, b)) return false;
      out = Value::Bytes(b);
    } else if (Is(k, "arrayValue", "array_value")) {
      object ao;
      if (!GetObject(c, v, k, ao)) return false;
      array values;
      element ve;
      if (ao["values"].get(ve)) {
        out = Value::Array({});
        continue;
      }
      if (!GetArray(c, ve, "values", values)) return false;
      size_t n = values.size();
      Value* vals = n > 0 ? c.arena.AllocateArray<Value>(n) : nullptr;
      size_t i = 0;
      for (element item : values) {
        if (!DecodeAnyValue(c, item, vals[i], depth + 1)) return false;
        ++i;
      }
      out = Value::Array({vals, i});
    } else if (Is(k, "kvlistValue", "kvlist_value")) {
      object ko;
      if (!GetObject(c, v, k, ko)) return false;
      element ve;
      std::span<const Attribute> kv;
      uint32_t dropped = 0;
      if (!ko["values"].get(ve) && !DecodeAttributes(c, ve, "values", kv, dropped, depth)) {
        return false;
      }
      out = Value::KvList(kv);
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

// The schemaUrl of a ResourceX/ScopeX container (`o`), when present and non-empty. False (a
// Status in `c`) when it is not a string.
bool GetSchemaUrl(Ctx& c, object o, std::string_view& url) {
  for (auto [k, v] : o) {
    if (Is(k, "schemaUrl", "schema_url") && !GetString(c, v, k, url)) return false;
  }
  return true;
}

bool DecodeResource(Ctx& c, element e, event::Resource*& out) {
  object o;
  if (!GetObject(c, e, "resource", o)) return false;
  event::Resource* res = NewResource(c);
  const uint32_t refused_before = c.budget.refused;
  for (auto [k, v] : o) {
    if (k == "attributes") {
      if (!DecodeAttributes(c, v, k, res->attributes, res->dropped_attributes_count, 0)) {
        return false;
      }
    } else if (Is(k, "droppedAttributesCount", "dropped_attributes_count")) {
      uint64_t n;
      if (!GetU64(c, v, k, n)) return false;
      res->dropped_attributes_count += static_cast<uint32_t>(n);
    }
  }
  c.resource_refusal = c.RefusedSince(refused_before);
  out = res;
  return true;
}

bool DecodeScope(Ctx& c, element e, event::InstrumentationScope*& out) {
  object o;
  if (!GetObject(c, e, "scope", o)) return false;
  event::InstrumentationScope* scope = NewScope(c);
  const uint32_t refused_before = c.budget.refused;
  for (auto [k, v] : o) {
    uint32_t dropped = 0;  // not carried: the event model has no scope dropped count
    if (k == "name") {
      if (!GetString(c, v, k, scope->name)) return false;
    } else if (k == "version") {
      if (!GetString(c, v, k, scope->version)) return false;
    } else if (k == "attributes") {
      if (!DecodeAttributes(c, v, k, scope->attributes, dropped, 0)) return false;
    }
  }
  c.scope_refusal = c.RefusedSince(refused_before);
  out = scope;
  return true;
}

// Walks resourceX[] → scopeX[] → items[], calling `item(element, resource, scope)`.
template <typename ItemFn>
bool Walk(Ctx& c, element doc, std::string_view resource_field, std::string_view resource_snake,
          std::string_view scope_field, std::string_view scope_snake, std::string_view items_field,
          std::string_view items_snake, ItemFn item) {
  object root;
  if (!GetObject(c, doc, "request", root)) return false;
  for (auto [rk, rv] : root) {
    if (!Is(rk, resource_field, resource_snake)) continue;
    array resources;
    if (!GetArray(c, rv, rk, resources)) return false;
    for (element r : resources) {
      object ro;
      if (!GetObject(c, r, rk, ro)) return false;
      event::Resource* res = nullptr;
      c.resource_refusal = event::KeyRefusal::kNone;
      element re;
      if (!ro["resource"].get(re) && !DecodeResource(c, re, res)) return false;
      std::string_view res_schema;
      if (!GetSchemaUrl(c, ro, res_schema)) return false;
      if (!res_schema.empty()) {
        if (res == nullptr) res = NewResource(c);
        res->schema_url = res_schema;
      }
      for (auto [sk, sv] : ro) {
        if (!Is(sk, scope_field, scope_snake)) continue;
        array scopes;
        if (!GetArray(c, sv, sk, scopes)) return false;
        for (element s : scopes) {
          object so;
          if (!GetObject(c, s, sk, so)) return false;
          event::InstrumentationScope* scope = nullptr;
          c.scope_refusal = event::KeyRefusal::kNone;
          element se;
          if (!so["scope"].get(se) && !DecodeScope(c, se, scope)) return false;
          std::string_view scope_schema;
          if (!GetSchemaUrl(c, so, scope_schema)) return false;
          if (!scope_schema.empty()) {
            if (scope == nullptr) scope = NewScope(c);
            scope->schema_url = scope_schema;
          }
          for (auto [ik, iv] : so) {
            if (!Is(ik, items_field, items_snake)) continue;
            array items;
            if (!GetArray(c, iv, ik, items)) return false;
            for (element it : items) {
              if (!item(it, res, scope)) return false;
            }
          }
        }
      }
    }
  }
  return true;
}

// ---- traces ----

bool Prefix(Ctx& c, const std::string& where) {
  c.error = where + c.error;
  return false;
}

bool DecodeSpan(Ctx& c, element e, const event::Resource* res,
                const event::InstrumentationScope* scope) {
  object o;
  if (!GetObject(c, e, "spans", o)) return false;
  event::Span& s = c.batch.AddSpan();
  s.resource = res;
  s.scope = scope;
  bool has_trace = false;
  bool has_span = false;
  std::string where = "span " + std::to_string(c.stats.items) + ": ";
  for (auto [k, v] : o) {
    uint64_t u;
    bool present = false;
    if (Is(k, "traceId", "trace_id")) {
      if (!GetId(c, v, k, s.trace_id.bytes, has_trace)) return Prefix(c, where);
    } else if (Is(k, "spanId", "span_id")) {
      if (!GetId(c, v, k, s.span_id.bytes, has_span)) return Prefix(c, where);
    } else if (Is(k, "parentSpanId", "parent_span_id")) {
      if (!GetId(c, v, k, s.parent_span_id.bytes, present)) return Prefix(c, where);
    } else if (Is(k, "traceState", "trace_state")) {
      if (!GetString(c, v, k, s.trace_state)) return false;
    } else if (k == "flags") {
      if (!GetU64(c, v, k, u)) return false;
      s.flags = static_cast<uint32_t>(u);
    } else if (k == "name") {
      if (!GetString(c, v, k, s.name)) return false;
    } else if (k == "kind") {
      if (!GetEnum(c, v, k, 5, u)) return false;
      s.kind = static_cast<event::SpanKind>(u);
    } else if (Is(k, "startTimeUnixNano", "start_time_unix_nano")) {
      if (!GetU64(c, v, k, s.start_ns)) return false;
    } else if (Is(k, "endTimeUnixNano", "end_time_unix_nano")) {
      if (!GetU64(c, v, k, s.end_ns)) return false;
    } else if (k == "attributes") {
      if (!DecodeAttributes(c, v, k, s.attributes, s.dropped_attributes_count, 0)) return false;
    } else if (Is(k, "droppedAttributesCount", "dropped_attributes_count")) {
      if (!GetU64(c, v, k, u)) return false;
      s.dropped_attributes_count += static_cast<uint32_t>(u);
    } else if (Is(k, "droppedEventsCount", "dropped_events_count")) {
      if (!GetU64(c, v, k, u)) return false;
      s.dropped_events_count = static_cast<uint32_t>(u);
    } else if (Is(k, "droppedLinksCount", "dropped_links_count")) {
      if (!GetU64(c, v, k, u)) return false;
      s.dropped_links_count = static_cast<uint32_t>(u);
    } else if (k == "status") {
      object so;
      if (!GetObject(c, v, k, so)) return false;
      for (auto [sk, sv] : so) {
        if (sk == "message") {
          if (!GetString(c, sv, sk, s.status.message)) return false;
        } else if (sk == "code") {
          if (!GetEnum(c, sv, sk, 2, u)) return false;
          s.status.code = static_cast<event::StatusCode>(u);
        }
      }
    } else if (k == "events") {
      array arr;
      if (!GetArray(c, v, k, arr)) return false;
      auto* evs = arr.size() > 0 ? c.arena.AllocateArray<event::SpanEvent>(arr.size()) : nullptr;
      size_t i = 0;
      for (element ev : arr) {
        object eo;
        if (!GetObject(c, ev, k, eo)) return false;
        event::SpanEvent& out = evs[i++];
        out = event::SpanEvent();
        for (auto [ek, evv] : eo) {
          if (Is(ek, "timeUnixNano", "time_unix_nano")) {
            if (!GetU64(c, evv, ek, out.time_ns)) return false;
          } else if (ek == "name") {
            if (!GetString(c, evv, ek, out.name)) return false;
          } else if (ek == "attributes") {
            if (!DecodeAttributes(c, evv, ek, out.attributes, out.dropped_attributes_count, 0)) {
              return false;
            }
          } else if (Is(ek, "droppedAttributesCount", "dropped_attributes_count")) {
            if (!GetU64(c, evv, ek, u)) return false;
            out.dropped_attributes_count += static_cast<uint32_t>(u);
          }
        }
      }
      s.events = {evs, i};
    } else if (k == "links") {
      array arr;
      if (!GetArray(c, v, k, arr)) return false;
      auto* links = arr.size() > 0 ? c.arena.AllocateArray<event::SpanLink>(arr.size()) : nullptr;
      size_t i = 0;
      for (element lv : arr) {
        object lo;
        if (!GetObject(c, lv, k, lo)) return false;
        event::SpanLink& out = links[i++];
        out = event::SpanLink();
        bool lt = false, ls = false;
        for (auto [lk, lvv] : lo) {
          if (Is(lk, "traceId", "trace_id")) {
            if (!GetId(c, lvv, lk, out.trace_id.bytes, lt)) return false;
          } else if (Is(lk, "spanId", "span_id")) {
            if (!GetId(c, lvv, lk, out.span_id.bytes, ls)) return false;
          } else if (Is(lk, "traceState", "trace_state")) {
            if (!GetString(c, lvv, lk, out.trace_state)) return false;
          } else if (lk == "attributes") {
            if (!DecodeAttributes(c, lvv, lk, out.attributes, out.dropped_attributes_count, 0)) {
              return false;
            }
          } else if (lk == "flags") {
            if (!GetU64(c, lvv, lk, u)) return false;
            out.flags = static_cast<uint32_t>(u);
          } else if (Is(lk, "droppedAttributesCount", "dropped_attributes_count")) {
            if (!GetU64(c, lvv, lk, u)) return false;
            out.dropped_attributes_count += static_cast<uint32_t>(u);
          }
        }
        if (!lt || !ls) return c.Fail(where + "link without traceId or spanId");
      }
      s.links = {links, i};
    }
  }
  if (!has_trace) return c.Fail(where + "traceId is missing");
  if (!has_span) return c.Fail(where + "spanId is missing");
  ++c.stats.items;
  return true;
}

// ---- metrics ----

using Header = MetricHeader;

// Common fields of every data point kind.
bool CommonPointField(Ctx& c, std::string_view k, element v, event::MetricPoint& p,
                      std::string_view attributes_key, bool& handled) {
  handled = true;
  uint64_t u;
  uint32_t dropped = 0;
  if (k == attributes_key) return DecodeAttributes(c, v, k, p.labels, dropped, 0);
  if (Is(k, "startTimeUnixNano", "start_time_unix_nano")) return GetU64(c, v, k, p.start_time_ns);
  if (Is(k, "timeUnixNano", "time_unix_nano")) return GetU64(c, v, k, p.time_ns);
  if (k == "flags") {
    if (!GetU64(c, v, k, u)) return false;
    p.flags = static_cast<uint32_t>(u);
    return true;
  }
  handled = false;
  return true;
}

bool DecodeU64Array(Ctx& c, element v, std::string_view k, std::span<const uint64_t>& out) {
  array arr;
  if (!GetArray(c, v, k, arr)) return false;
  auto* vals = arr.size() > 0 ? c.arena.AllocateArray<uint64_t>(arr.size()) : nullptr;
  size_t i = 0;
  for (element e : arr) {
    if (!GetU64(c, e, k, vals[i++])) return false;
  }
  out = {vals, i};
  return true;
}

bool DecodeBuckets(Ctx& c, element v, std::string_view k, event::ExponentialBuckets& b) {
  object o;
  if (!GetObject(c, v, k, o)) return false;
  for (auto [bk, bv] : o) {
    int64_t off;
    if (bk == "offset") {
      if (!GetI64(c, bv, bk, off)) return false;
      b.offset = static_cast<int32_t>(off);
    } else if (Is(bk, "bucketCounts", "bucket_counts")) {
      if (!DecodeU64Array(c, bv, bk, b.counts)) return false;
    }
  }
  return true;
}

bool DecodePoint(Ctx& c, element e, const Header& h, std::string_view kind, event::Temporality t,
                 bool monotonic) {
  object o;
  if (!GetObject(c, e, "dataPoints", o)) return false;
  bool handled;
  if (kind == "gauge" || kind == "sum") {
    event::MetricPoint& p = NewPoint(
        c, h, kind == "gauge" ? event::MetricType::kGauge : event::MetricType::kSum, t, monotonic);
    for (auto [k, v] : o) {
      if (!CommonPointField(c, k, v, p, "attributes", handled)) return false;
      if (handled) continue;
      if (Is(k, "asDouble", "as_double")) {
        if (!GetDouble(c, v, k, p.double_value)) return false;
        p.is_int = false;
      } else if (Is(k, "asInt", "as_int")) {
        if (!GetI64(c, v, k, p.int_value)) return false;
        p.is_int = true;
      }
    }
    return true;
  }
  if (kind == "histogram") {
    auto* hd = c.arena.AllocateArray<event::HistogramData>(1);
    new (hd) event::HistogramData();
    event::MetricPoint& p = NewPoint(c, h, event::MetricType::kHistogram, t, false);
    p.histogram = hd;
    bool has_min = false, has_max = false;
    for (auto [k, v] : o) {
      if (!CommonPointField(c, k, v, p, "attributes", handled)) return false;
      if (handled) continue;
      bool ok = true;
      if (k == "count") {
        ok = GetU64(c, v, k, hd->count);
      } else if (k == "sum") {
        ok = GetDouble(c, v, k, hd->sum);
      } else if (k == "min") {
        ok = GetDouble(c, v, k, hd->min);
        has_min = true;
      } else if (k == "max") {
        ok = GetDouble(c, v, k, hd->max);
        has_max = true;
      } else if (Is(k, "bucketCounts", "bucket_counts")) {
        ok = DecodeU64Array(c, v, k, hd->bucket_counts);
      } else if (Is(k, "explicitBounds", "explicit_bounds")) {
        array arr;
        if (!GetArray(c, v, k, arr)) return false;
        auto* b = arr.size() > 0 ? c.arena.AllocateArray<double>(arr.size()) : nullptr;
        size_t i = 0;
        for (element be : arr) {
          if (!GetDouble(c, be, k, b[i++])) return false;
        }
        hd->explicit_bounds = {b, i};
      }
      if (!ok) return false;
    }
    hd->has_min_max = has_min && has_max;
    if (!hd->bucket_counts.empty() && hd->bucket_counts.size() != hd->explicit_bounds.size() + 1) {
      return c.Fail("histogram " + std::string(h.name) + ": " +
                    std::to_string(hd->bucket_counts.size()) + " bucket counts for " +
                    std::to_string(hd->explicit_bounds.size()) + " bounds (need bounds + 1)");
    }
    return true;
  }
  if (kind == "exponentialHistogram") {
    auto* hd = c.arena.AllocateArray<event::ExponentialHistogramData>(1);
    new (hd) event::ExponentialHistogramData();
    event::MetricPoint& p = NewPoint(c, h, event::MetricType::kExponentialHistogram, t, false);
    p.exp_histogram = hd;
    bool has_min = false, has_max = false;
    for (auto [k, v] : o) {
      if (!CommonPointField(c, k, v, p, "attributes", handled)) return false;
      if (handled) continue;
      bool ok = true;
      int64_t i64;
      if (k == "count") {
        ok = GetU64(c, v, k, hd->count);
      } else if (k == "sum") {
        ok = GetDouble(c, v, k, hd->sum);
      } else if (k == "min") {
        ok = GetDouble(c, v, k, hd->min);
        has_min = true;
      } else if (k == "max") {
        ok = GetDouble(c, v, k, hd->max);
        has_max = true;
      } else if (k == "scale") {
        ok = GetI64(c, v, k, i64);
        if (ok && (i64 < -10 || i64 > 20)) {
          return c.Fail("exponential histogram scale " + std::to_string(i64) +
                        " outside [-10, 20]");
        }
        hd->scale = static_cast<int32_t>(i64);
      } else if (Is(k, "zeroCount", "zero_count")) {
        ok = GetU64(c, v, k, hd->zero_count);
      } else if (Is(k, "zeroThreshold", "zero_threshold")) {
        ok = GetDouble(c, v, k, hd->zero_threshold);
      } else if (k == "positive") {
        ok = DecodeBuckets(c, v, k, hd->positive);
      } else if (k == "negative") {
        ok = DecodeBuckets(c, v, k, hd->negative);
      }
      if (!ok) return false;
    }
    hd->has_min_max = has_min && has_max;
    return true;
  }
  // summary → one kSummary point (otlp_decode.h).
  auto* sd = c.arena.AllocateArray<event::SummaryData>(1);
  new (sd) event::SummaryData();
  event::MetricPoint& p =
      NewPoint(c, h, event::MetricType::kSummary, event::Temporality::kUnspecified, false);
  p.summary = sd;
  for (auto [k, v] : o) {
    if (!CommonPointField(c, k, v, p, "attributes", handled)) return false;
    if (handled) continue;
    if (k == "count") {
      if (!GetU64(c, v, k, sd->count)) return false;
    } else if (k == "sum") {
      if (!GetDouble(c, v, k, sd->sum)) return false;
    } else if (Is(k, "quantileValues", "quantile_values")) {
      array quantiles;
      if (!GetArray(c, v, k, quantiles)) return false;
      const size_t nq = quantiles.size();
      if (nq > event::SummaryData::kMaxQuantiles) {
        return c.Fail("summary " + std::string(h.name) + ": " + std::to_string(nq) +
                      " quantile values (at most " +
                      std::to_string(event::SummaryData::kMaxQuantiles) + ")");
      }
      auto* qs = nq > 0 ? c.arena.AllocateArray<event::QuantileValue>(nq) : nullptr;
      size_t n = 0;
      for (element qe : quantiles) {
        object qo;
        if (!GetObject(c, qe, k, qo)) return false;
        event::QuantileValue& q = qs[n++];
        q = event::QuantileValue();
        for (auto [qk, qv] : qo) {
          if (qk == "quantile" && !GetDouble(c, qv, qk, q.quantile)) return false;
          if (qk == "value" && !GetDouble(c, qv, qk, q.value)) return false;
        }
        if (!(q.quantile >= 0 && q.quantile <= 1)) {
          return c.Fail("summary " + std::string(h.name) + ": quantile " +
                        std::to_string(q.quantile) + " outside [0, 1]");
        }
      }
      sd->quantiles = {qs, n};
    }
  }
  return true;
}

bool DecodeMetric(Ctx& c, element e, const event::Resource* res,
                  const event::InstrumentationScope* scope) {
  object o;
  if (!GetObject(c, e, "metrics", o)) return false;
  Header h{{}, {}, {}, res, scope};
  for (auto [k, v] : o) {
    if (k == "name" && !GetString(c, v, k, h.name)) return false;
    if (k == "unit" && !GetString(c, v, k, h.unit)) return false;
    if (k == "description" && !GetString(c, v, k, h.description)) return false;
  }
  if (h.name.empty()) return c.Fail("metric without a name");
  for (auto [k, v] : o) {
    std::string_view kind;
    if (k == "gauge" || k == "sum" || k == "histogram" || k == "summary") {
      kind = k;
    } else if (Is(k, "exponentialHistogram", "exponential_histogram")) {
      kind = "exponentialHistogram";
    } else {
      continue;
    }
    object data;
    if (!GetObject(c, v, k, data)) return false;
    event::Temporality t = event::Temporality::kUnspecified;
    bool monotonic = false;
    array points;
    bool has_points = false;
    for (auto [dk, dv] : data) {
      uint64_t u;
      if (Is(dk, "aggregationTemporality", "aggregation_temporality")) {
        if (!GetEnum(c, dv, dk, 2, u)) return false;
        t = static_cast<event::Temporality>(u);
      } else if (Is(dk, "isMonotonic", "is_monotonic")) {
        if (!GetBool(c, dv, dk, monotonic)) return false;
      } else if (Is(dk, "dataPoints", "data_points")) {
        if (!GetArray(c, dv, dk, points)) return false;
        has_points = true;
      }
    }
    if (!has_points) continue;
    for (element p : points) {
      if (!DecodeMetricPoint(c, [&] { return DecodePoint(c, p, h, kind, t, monotonic); })) {
        return false;
      }
    }
  }
  return true;
}

// ---- logs ----

bool DecodeLog(Ctx& c, element e, const event::Resource* res,
               const event::InstrumentationScope* scope) {
  object o;
  if (!GetObject(c, e, "logRecords", o)) return false;
  event::LogRecord& l = c.batch.AddLog();
  l.resource = res;
  l.scope = scope;
  for (auto [k, v] : o) {
    uint64_t u;
    bool present;
    if (Is(k, "timeUnixNano", "time_unix_nano")) {
      if (!GetU64(c, v, k, l.time_ns)) return false;
    } else if (Is(k, "observedTimeUnixNano", "observed_time_unix_nano")) {
      if (!GetU64(c, v, k, l.observed_time_ns)) return false;
    } else if (Is(k, "severityNumber", "severity_number")) {
      if (!GetEnum(c, v, k, 24, u)) return false;
      l.severity_number = static_cast<uint8_t>(u);
    } else if (Is(k, "severityText", "severity_text")) {
      if (!GetString(c, v, k, l.severity_text)) return false;
    } else if (k == "body") {
      if (!DecodeAnyValue(c, v, l.body, 0)) return false;
    } else if (k == "attributes") {
      if (!DecodeAttributes(c, v, k, l.attributes, l.dropped_attributes_count, 0)) return false;
    } else if (Is(k, "droppedAttributesCount", "dropped_attributes_count")) {
      if (!GetU64(c, v, k, u)) return false;
      l.dropped_attributes_count += static_cast<uint32_t>(u);
    } else if (k == "flags") {
      if (!GetU64(c, v, k, u)) return false;
      l.flags = static_cast<uint32_t>(u);
    } else if (Is(k, "traceId", "trace_id")) {
      if (!GetId(c, v, k, l.trace_id.bytes, present)) return false;
    } else if (Is(k, "spanId", "span_id")) {
      if (!GetId(c, v, k, l.span_id.bytes, present)) return false;
    } else if (Is(k, "eventName", "event_name")) {
      if (!GetString(c, v, k, l.event_name)) return false;
    }
  }
  ++c.stats.items;
  return true;
}

}  // namespace

strobe::Result<DecodeStats> DecodeJson(Signal signal, std::string_view body, event::Batch& batch,
                                       const DecodeOptions& options) {
  thread_local simdjson::dom::parser parser;  // reused: its buffers grow to the largest body
  element doc;
  simdjson::error_code err = parser.parse(body.data(), body.size()).get(doc);
  if (err) {
    return strobe::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  Ctx c(batch, options);
  bool ok = false;
  switch (signal) {
    case Signal::kTraces:
      ok = Walk(c, doc, "resourceSpans", "resource_spans", "scopeSpans", "scope_spans", "spans",
                "spans",
                [&](element e, const event::Resource* r, const event::InstrumentationScope* s) {
                  return DecodeSpan(c, e, r, s);
                });
      break;
    case Signal::kMetrics:
      ok = Walk(c, doc, "resourceMetrics", "resource_metrics", "scopeMetrics", "scope_metrics",
                "metrics", "metrics",
                [&](element e, const event::Resource* r, const event::InstrumentationScope* s) {
                  return DecodeMetric(c, e, r, s);
                });
      break;
    case Signal::kLogs:
      ok = Walk(c, doc, "resourceLogs", "resource_logs", "scopeLogs", "scope_logs", "logRecords",
                "log_records",
                [&](element e, const event::Resource* r, const event::InstrumentationScope* s) {
                  return DecodeLog(c, e, r, s);
                });
      break;
  }
  return c.Finish(ok);
}

}  // namespace strobed::otlp::internal
