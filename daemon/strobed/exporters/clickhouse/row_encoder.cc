#include "strobed/exporters/clickhouse/row_encoder.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include "strobed/base/json.h"

namespace strobed::exporters::clickhouse {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Lowercase hex of an id into `buf`; "" for an all-zero (invalid) id.
template <std::size_t N>
std::string_view HexId(const std::array<uint8_t, N>& bytes, char (&buf)[2 * N]) {
  bool zero = true;
  for (std::size_t i = 0; i < N; ++i) {
    buf[2 * i] = kHex[bytes[i] >> 4];
    buf[2 * i + 1] = kHex[bytes[i] & 15];
    zero = zero && bytes[i] == 0;
  }
  return zero ? std::string_view() : std::string_view(buf, 2 * N);
}

void AppendBase64(std::span<const uint8_t> in, std::string& out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint32_t{in[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.append("==");
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
}

// Shortest round-trip decimal of a finite double.
void AppendDouble(double v, std::string& out) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

template <typename T>
void AppendInt(T v, std::string& out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

std::string_view KindName(event::SpanKind kind, int8_t& value) {
  static constexpr std::string_view kNames[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                                "CLIENT",      "PRODUCER", "CONSUMER"};
  auto i = static_cast<std::size_t>(kind);
  if (i >= std::size(kNames)) i = 0;  // an unknown kind must not fail the whole insert
  value = static_cast<int8_t>(i);
  return kNames[i];
}

std::string_view StatusName(event::StatusCode code, int8_t& value) {
  static constexpr std::string_view kNames[] = {"UNSET", "OK", "ERROR"};
  auto i = static_cast<std::size_t>(code);
  if (i >= std::size(kNames)) i = 0;
  value = static_cast<int8_t>(i);
  return kNames[i];
}

std::string_view MetricTypeName(event::MetricType type, int8_t& value) {
  static constexpr std::string_view kNames[] = {"gauge", "sum", "histogram",
                                                "exponential_histogram", "summary"};
  auto i = static_cast<std::size_t>(type);
  if (i >= std::size(kNames)) i = 0;
  value = static_cast<int8_t>(i);
  return kNames[i];
}

std::string_view TemporalityName(event::Temporality t, int8_t& value) {
  static constexpr std::string_view kNames[] = {"unspecified", "delta", "cumulative"};
  auto i = static_cast<std::size_t>(t);
  if (i >= std::size(kNames)) i = 0;
  value = static_cast<int8_t>(i);
  return kNames[i];
}

// Collects the top-level column names of a row (ColumnList): the writer interface with every
// value ignored.
class ColumnCollector {
 public:
  std::vector<std::string_view> names;
  void BeginRow() {}
  void EndRow() {}
  void UInt8(std::string_view c, uint8_t) { Name(c); }
  void UInt32(std::string_view c, uint32_t) { Name(c); }
  void UInt64(std::string_view c, uint64_t) { Name(c); }
  void Int32(std::string_view c, int32_t) { Name(c); }
  void Int64(std::string_view c, int64_t) { Name(c); }
  void Float64(std::string_view c, double) { Name(c); }
  void Enum8(std::string_view c, int8_t, std::string_view) { Name(c); }
  void String(std::string_view c, std::string_view) { Name(c); }
  void BeginArray(std::string_view c, std::size_t) {
    Name(c);
    ++depth_;
  }
  void EndArray() { --depth_; }

 private:
  void Name(std::string_view c) {
    if (depth_ == 0) names.push_back(c);
  }
  int depth_ = 0;
};

}  // namespace

std::string_view FormatName(Format format) {
  return format == Format::kRowBinary ? "RowBinary" : "JSONEachRow";
}

std::string_view TableName(Table table) {
  switch (table) {
    case Table::kSpans:
      return "spans";
    case Table::kLogs:
      return "logs";
    case Table::kMetrics:
      return "metrics";
  }
  return "?";
}

// --- RowBinary ----------------------------------------------------------------------------

void RowBinaryWriter::VarUInt(uint64_t v) {
  // Into a local buffer and one append: a push_back per byte showed up at 10 % of the
  // exporter's CPU in `perf` (string growth checks on every byte).
  char buf[10];
  std::size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out_.append(buf, n);
}

void RowBinaryWriter::UInt32(std::string_view, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out_.append(b, 4);
}

void RowBinaryWriter::UInt64(std::string_view, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out_.append(b, 8);
}

void RowBinaryWriter::Int32(std::string_view c, int32_t v) { UInt32(c, static_cast<uint32_t>(v)); }

void RowBinaryWriter::Int64(std::string_view c, int64_t v) { UInt64(c, static_cast<uint64_t>(v)); }

void RowBinaryWriter::Float64(std::string_view c, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  UInt64(c, bits);
}

void RowBinaryWriter::String(std::string_view, std::string_view v) {
  if (v.size() < 0x80) {  // the common case: a one-byte length
    char len = static_cast<char>(v.size());
    out_.append(&len, 1);
  } else {
    VarUInt(v.size());
  }
  out_.append(v);
}

void RowBinaryWriter::BeginArray(std::string_view, std::size_t size) { VarUInt(size); }

// --- JSONEachRow --------------------------------------------------------------------------

void JsonEachRowWriter::Key(std::string_view column) {
  if (!first_[depth_]) out_.push_back(',');
  first_[depth_] = false;
  if (depth_ == 0) {
    // Column names are ours (identifiers and dots): no escaping needed.
    out_.push_back('"');
    out_.append(column);
    out_.append("\":");
  }
}

void JsonEachRowWriter::BeginRow() {
  out_.push_back('{');
  depth_ = 0;
  first_[0] = true;
}

void JsonEachRowWriter::EndRow() { out_.append("}\n"); }

void JsonEachRowWriter::UInt64(std::string_view column, uint64_t v) {
  Key(column);
  AppendInt(v, out_);
}

void JsonEachRowWriter::Int64(std::string_view column, int64_t v) {
  Key(column);
  AppendInt(v, out_);
}

void JsonEachRowWriter::Float64(std::string_view column, double v) {
  Key(column);
  if (std::isfinite(v)) {
    AppendDouble(v, out_);
  } else {
    // JSON has no NaN/Inf; ClickHouse 18.16 reads these quoted spellings into Float64.
    out_.append(std::isnan(v) ? "\"nan\"" : v > 0 ? "\"inf\"" : "\"-inf\"");
  }
}

void JsonEachRowWriter::Enum8(std::string_view column, int8_t, std::string_view name) {
  Key(column);
  out_.push_back('"');
  out_.append(name);
  out_.push_back('"');
}

void JsonEachRowWriter::String(std::string_view column, std::string_view v) {
  Key(column);
  out_.push_back('"');
  base::AppendJsonEscaped(v, out_);
  out_.push_back('"');
}

void JsonEachRowWriter::BeginArray(std::string_view column, std::size_t) {
  Key(column);
  out_.push_back('[');
  ++depth_;
  first_[depth_] = true;
}

void JsonEachRowWriter::EndArray() {
  out_.push_back(']');
  --depth_;
}

// --- Rows ---------------------------------------------------------------------------------

RowEncoder::RowEncoder(const event::KeyTable& keys)
    : keys_(keys), service_name_(keys.Find("service.name")) {}

std::string_view RowEncoder::ServiceName(const event::Resource* resource) const {
  if (resource == nullptr || !service_name_) return {};
  const event::Value* v = event::FindAttribute(resource->attributes, *service_name_);
  return v != nullptr && v->type() == event::ValueType::kString ? v->AsString()
                                                                : std::string_view();
}

void RowEncoder::AppendJsonValue(const event::Value& v, std::string& out, int depth) const {
  if (depth > 32) {  // decoders bound nesting; this only keeps recursion finite
    out.append("null");
    return;
  }
  switch (v.type()) {
    case event::ValueType::kEmpty:
      out.append("null");
      return;
    case event::ValueType::kString:
      out.push_back('"');
      base::AppendJsonEscaped(v.AsString(), out);
      out.push_back('"');
      return;
    case event::ValueType::kBool:
      out.append(v.AsBool() ? "true" : "false");
      return;
    case event::ValueType::kInt:
      AppendInt(v.AsInt(), out);
      return;
    case event::ValueType::kDouble:
      out.append(base::JsonNumber(v.AsDouble()));
      return;
    case event::ValueType::kBytes:
      out.push_back('"');
      AppendBase64(v.AsBytes(), out);
      out.push_back('"');
      return;
    case event::ValueType::kArray: {
      out.push_back('[');
      bool first = true;
      for (const event::Value& e : v.AsArray()) {
        if (!first) out.push_back(',');
        first = false;
        AppendJsonValue(e, out, depth + 1);
      }
      out.push_back(']');
      return;
    }
    case event::ValueType::kKvList: {
      out.push_back('{');
      bool first = true;
      for (const event::Attribute& a : v.AsKvList()) {
        if (!first) out.push_back(',');
        first = false;
        out.push_back('"');
        base::AppendJsonEscaped(keys_.Name(a.key), out);
        out.append("\":");
        AppendJsonValue(a.value, out, depth + 1);
      }
      out.push_back('}');
      return;
    }
  }
}

void RowEncoder::AppendValueText(const event::Value& v, std::string& out) const {
  switch (v.type()) {
    case event::ValueType::kEmpty:
      return;
    case event::ValueType::kString:
      out.append(v.AsString());
      return;
    case event::ValueType::kBool:
      out.append(v.AsBool() ? "true" : "false");
      return;
    case event::ValueType::kInt:
      AppendInt(v.AsInt(), out);
      return;
    case event::ValueType::kDouble: {
      const double d = v.AsDouble();
      if (std::isfinite(d)) {
        AppendDouble(d, out);
      } else {
        out.append(std::isnan(d) ? "NaN" : d > 0 ? "Inf" : "-Inf");
      }
      return;
    }
    case event::ValueType::kBytes:
      AppendBase64(v.AsBytes(), out);
      return;
    case event::ValueType::kArray:
    case event::ValueType::kKvList:
      AppendJsonValue(v, out, 0);
      return;
  }
}

template <typename W>
void RowEncoder::AttributeValue(W& w, const event::Value& v) {
  if (v.type() == event::ValueType::kString) {
    w.String({}, v.AsString());
    return;
  }
  scratch_.clear();
  AppendValueText(v, scratch_);
  w.String({}, scratch_);
}

template <typename W>
void RowEncoder::Attributes(W& w, std::string_view key_column, std::string_view value_column,
                            std::span<const event::Attribute> attrs) {
  w.BeginArray(key_column, attrs.size());
  for (const event::Attribute& a : attrs) w.String({}, keys_.Name(a.key));
  w.EndArray();
  w.BeginArray(value_column, attrs.size());
  for (const event::Attribute& a : attrs) AttributeValue(w, a.value);
  w.EndArray();
}

template <typename W>
void RowEncoder::SpanRow(W& w, const event::Span& s) {
  char tid[32], sid[16], pid[16];
  int8_t kind = 0, status = 0;
  const std::string_view kind_name = KindName(s.kind, kind);
  const std::string_view status_name = StatusName(s.status.code, status);
  w.BeginRow();
  w.UInt64("StartTimeUnixNano", s.start_ns);
  w.UInt64("DurationNano", s.DurationNs());
  w.String("TraceId", HexId(s.trace_id.bytes, tid));
  w.String("SpanId", HexId(s.span_id.bytes, sid));
  w.String("ParentSpanId", HexId(s.parent_span_id.bytes, pid));
  w.String("TraceState", s.trace_state);
  w.String("Name", s.name);
  w.Enum8("Kind", kind, kind_name);
  w.String("ServiceName", ServiceName(s.resource));
  w.Enum8("StatusCode", status, status_name);
  w.String("StatusMessage", s.status.message);
  w.String("ScopeName", s.scope != nullptr ? s.scope->name : std::string_view());
  w.String("ScopeVersion", s.scope != nullptr ? s.scope->version : std::string_view());
  w.UInt32("Flags", s.flags);
  Attributes(w, "ResourceAttributes.Key", "ResourceAttributes.Value",
             s.resource != nullptr ? s.resource->attributes : std::span<const event::Attribute>());
  Attributes(w, "Attributes.Key", "Attributes.Value", s.attributes);
  w.BeginArray("Events.TimeUnixNano", s.events.size());
  for (const event::SpanEvent& e : s.events) w.UInt64({}, e.time_ns);
  w.EndArray();
  w.BeginArray("Events.Name", s.events.size());
  for (const event::SpanEvent& e : s.events) w.String({}, e.name);
  w.EndArray();
  w.BeginArray("Events.AttributeKeys", s.events.size());
  for (const event::SpanEvent& e : s.events) {
    w.BeginArray({}, e.attributes.size());
    for (const event::Attribute& a : e.attributes) w.String({}, keys_.Name(a.key));
    w.EndArray();
  }
  w.EndArray();
  w.BeginArray("Events.AttributeValues", s.events.size());
  for (const event::SpanEvent& e : s.events) {
    w.BeginArray({}, e.attributes.size());
    for (const event::Attribute& a : e.attributes) AttributeValue(w, a.value);
    w.EndArray();
  }
  w.EndArray();
  w.BeginArray("Links.TraceId", s.links.size());
  for (const event::SpanLink& l : s.links) w.String({}, HexId(l.trace_id.bytes, tid));
  w.EndArray();
  w.BeginArray("Links.SpanId", s.links.size());
  for (const event::SpanLink& l : s.links) w.String({}, HexId(l.span_id.bytes, sid));
  w.EndArray();
  w.BeginArray("Links.TraceState", s.links.size());
  for (const event::SpanLink& l : s.links) w.String({}, l.trace_state);
  w.EndArray();
  w.UInt32("DroppedAttributesCount", s.dropped_attributes_count);
  w.UInt32("DroppedEventsCount", s.dropped_events_count);
  w.UInt32("DroppedLinksCount", s.dropped_links_count);
  w.EndRow();
}

template <typename W>
void RowEncoder::LogRow(W& w, const event::LogRecord& l) {
  char tid[32], sid[16];
  w.BeginRow();
  // Timestamp and partition come from the record's time, or when the source set none (OTLP
  // allows 0) from the time it was observed.
  w.UInt64("TimeUnixNano", l.time_ns != 0 ? l.time_ns : l.observed_time_ns);
  w.UInt64("ObservedTimeUnixNano", l.observed_time_ns);
  w.String("TraceId", HexId(l.trace_id.bytes, tid));
  w.String("SpanId", HexId(l.span_id.bytes, sid));
  w.UInt32("Flags", l.flags);
  w.UInt8("SeverityNumber", l.severity_number);
  w.String("SeverityText", l.severity_text);
  w.String("ServiceName", ServiceName(l.resource));
  if (l.body.type() == event::ValueType::kString) {
    w.String("Body", l.body.AsString());
  } else {
    scratch_.clear();
    AppendValueText(l.body, scratch_);
    w.String("Body", scratch_);
  }
  w.String("EventName", l.event_name);
  w.String("ScopeName", l.scope != nullptr ? l.scope->name : std::string_view());
  w.String("ScopeVersion", l.scope != nullptr ? l.scope->version : std::string_view());
  Attributes(w, "ResourceAttributes.Key", "ResourceAttributes.Value",
             l.resource != nullptr ? l.resource->attributes : std::span<const event::Attribute>());
  Attributes(w, "Attributes.Key", "Attributes.Value", l.attributes);
  w.UInt32("DroppedAttributesCount", l.dropped_attributes_count);
  w.EndRow();
}

template <typename W>
void RowEncoder::MetricRow(W& w, const event::MetricPoint& m) {
  int8_t type = 0, temporality = 0;
  const std::string_view type_name = MetricTypeName(m.type, type);
  const std::string_view temporality_name = TemporalityName(m.temporality, temporality);
  const bool number = m.type == event::MetricType::kGauge || m.type == event::MetricType::kSum;
  const event::HistogramData* h = m.type == event::MetricType::kHistogram ? m.histogram : nullptr;
  const event::ExponentialHistogramData* eh =
      m.type == event::MetricType::kExponentialHistogram ? m.exp_histogram : nullptr;
  const event::SummaryData* sm = m.type == event::MetricType::kSummary ? m.summary : nullptr;
  uint64_t count = 0;
  double sum = 0, min = 0, max = 0;
  if (h != nullptr) {
    count = h->count, sum = h->sum;
    if (h->has_min_max) min = h->min, max = h->max;
  } else if (eh != nullptr) {
    count = eh->count, sum = eh->sum;
    if (eh->has_min_max) min = eh->min, max = eh->max;
  } else if (sm != nullptr) {
    count = sm->count, sum = sm->sum;
  }
  w.BeginRow();
  w.UInt64("TimeUnixNano", m.time_ns);
  w.UInt64("StartTimeUnixNano", m.start_time_ns);
  w.String("Name", m.name);
  w.String("Unit", m.unit);
  w.String("Description", m.description);
  w.Enum8("Type", type, type_name);
  w.Enum8("Temporality", temporality, temporality_name);
  w.UInt8("IsMonotonic", m.is_monotonic ? 1 : 0);
  w.String("ServiceName", ServiceName(m.resource));
  w.Float64("Value", number ? m.Number() : 0.0);
  w.Int64("IntValue", number && m.is_int ? m.int_value : 0);
  w.UInt64("Count", count);
  w.Float64("Sum", sum);
  w.Float64("Min", min);
  w.Float64("Max", max);
  const std::span<const double> bounds =
      h != nullptr ? h->explicit_bounds : std::span<const double>();
  w.BeginArray("BucketBounds", bounds.size());
  for (double b : bounds) w.Float64({}, b);
  w.EndArray();
  const std::span<const uint64_t> counts =
      h != nullptr ? h->bucket_counts : std::span<const uint64_t>();
  w.BeginArray("BucketCounts", counts.size());
  for (uint64_t c : counts) w.UInt64({}, c);
  w.EndArray();
  w.Int32("ExpScale", eh != nullptr ? eh->scale : 0);
  w.UInt64("ExpZeroCount", eh != nullptr ? eh->zero_count : 0);
  w.Int32("ExpPositiveOffset", eh != nullptr ? eh->positive.offset : 0);
  const std::span<const uint64_t> pos = eh != nullptr ? eh->positive.counts : counts.subspan(0, 0);
  w.BeginArray("ExpPositiveCounts", pos.size());
  for (uint64_t c : pos) w.UInt64({}, c);
  w.EndArray();
  w.Int32("ExpNegativeOffset", eh != nullptr ? eh->negative.offset : 0);
  const std::span<const uint64_t> neg = eh != nullptr ? eh->negative.counts : counts.subspan(0, 0);
  w.BeginArray("ExpNegativeCounts", neg.size());
  for (uint64_t c : neg) w.UInt64({}, c);
  w.EndArray();
  const std::span<const event::QuantileValue> qs =
      sm != nullptr ? sm->quantiles : std::span<const event::QuantileValue>();
  w.BeginArray("Quantiles.Quantile", qs.size());
  for (const event::QuantileValue& q : qs) w.Float64({}, q.quantile);
  w.EndArray();
  w.BeginArray("Quantiles.Value", qs.size());
  for (const event::QuantileValue& q : qs) w.Float64({}, q.value);
  w.EndArray();
  w.UInt32("Flags", m.flags);
  w.String("ScopeName", m.scope != nullptr ? m.scope->name : std::string_view());
  w.String("ScopeVersion", m.scope != nullptr ? m.scope->version : std::string_view());
  Attributes(w, "ResourceAttributes.Key", "ResourceAttributes.Value",
             m.resource != nullptr ? m.resource->attributes : std::span<const event::Attribute>());
  Attributes(w, "Labels.Key", "Labels.Value", m.labels);
  w.EndRow();
}

void RowEncoder::Spans(Format format, std::span<const event::Span> spans, std::string& out) {
  if (format == Format::kRowBinary) {
    RowBinaryWriter w(out);
    for (const event::Span& s : spans) SpanRow(w, s);
  } else {
    JsonEachRowWriter w(out);
    for (const event::Span& s : spans) SpanRow(w, s);
  }
}

void RowEncoder::Logs(Format format, std::span<const event::LogRecord> logs, std::string& out) {
  if (format == Format::kRowBinary) {
    RowBinaryWriter w(out);
    for (const event::LogRecord& l : logs) LogRow(w, l);
  } else {
    JsonEachRowWriter w(out);
    for (const event::LogRecord& l : logs) LogRow(w, l);
  }
}

void RowEncoder::Metrics(Format format, std::span<const event::MetricPoint> points,
                         std::string& out) {
  if (format == Format::kRowBinary) {
    RowBinaryWriter w(out);
    for (const event::MetricPoint& m : points) MetricRow(w, m);
  } else {
    JsonEachRowWriter w(out);
    for (const event::MetricPoint& m : points) MetricRow(w, m);
  }
}

const std::string& ColumnList(Table table) {
  static const std::array<std::string, kTables> lists = [] {
    std::array<std::string, kTables> out;
    RowEncoder enc(event::KeyTable::Global());
    for (std::size_t t = 0; t < kTables; ++t) {
      ColumnCollector c;
      switch (static_cast<Table>(t)) {
        case Table::kSpans:
          enc.SpanRow(c, event::Span{});
          break;
        case Table::kLogs:
          enc.LogRow(c, event::LogRecord{});
          break;
        case Table::kMetrics:
          enc.MetricRow(c, event::MetricPoint{});
          break;
      }
      std::string list = "(";
      for (std::size_t i = 0; i < c.names.size(); ++i) {
        if (i != 0) list += ", ";
        list += "`";
        list += c.names[i];
        list += "`";
      }
      out[t] = list + ")";
    }
    return out;
  }();
  return lists[static_cast<std::size_t>(table)];
}

namespace {

// Column definitions, in the encoders' order after the two server-computed columns. Types
// available in ClickHouse 18.16 (no DateTime64, Map or LowCardinality there): times are
// UInt64 Unix nanoseconds, Timestamp/Date are computed for filters and partitioning,
// attributes are Nested parallel key/value arrays.
constexpr std::string_view kAttributeColumns =
    "  ResourceAttributes Nested(Key String, Value String),\n";

constexpr std::string_view kSpansColumns =
    "  Date Date DEFAULT toDate(Timestamp),\n"
    "  Timestamp DateTime DEFAULT toDateTime(intDiv(StartTimeUnixNano, 1000000000)),\n"
    "  StartTimeUnixNano UInt64,\n"
    "  DurationNano UInt64,\n"
    "  TraceId String,\n"
    "  SpanId String,\n"
    "  ParentSpanId String,\n"
    "  TraceState String,\n"
    "  Name String,\n"
    "  Kind Enum8('UNSPECIFIED' = 0, 'INTERNAL' = 1, 'SERVER' = 2, 'CLIENT' = 3, "
    "'PRODUCER' = 4, 'CONSUMER' = 5),\n"
    "  ServiceName String,\n"
    "  StatusCode Enum8('UNSET' = 0, 'OK' = 1, 'ERROR' = 2),\n"
    "  StatusMessage String,\n"
    "  ScopeName String,\n"
    "  ScopeVersion String,\n"
    "  Flags UInt32,\n"
    "%ATTRS%"
    "  Attributes Nested(Key String, Value String),\n"
    "  Events Nested(TimeUnixNano UInt64, Name String, AttributeKeys Array(String), "
    "AttributeValues Array(String)),\n"
    "  Links Nested(TraceId String, SpanId String, TraceState String),\n"
    "  DroppedAttributesCount UInt32,\n"
    "  DroppedEventsCount UInt32,\n"
    "  DroppedLinksCount UInt32\n"
    ") ENGINE = MergeTree PARTITION BY Date ORDER BY (ServiceName, Name, Timestamp)";

constexpr std::string_view kLogsColumns =
    "  Date Date DEFAULT toDate(Timestamp),\n"
    "  Timestamp DateTime DEFAULT toDateTime(intDiv(TimeUnixNano, 1000000000)),\n"
    "  TimeUnixNano UInt64,\n"
    "  ObservedTimeUnixNano UInt64,\n"
    "  TraceId String,\n"
    "  SpanId String,\n"
    "  Flags UInt32,\n"
    "  SeverityNumber UInt8,\n"
    "  SeverityText String,\n"
    "  ServiceName String,\n"
    "  Body String,\n"
    "  EventName String,\n"
    "  ScopeName String,\n"
    "  ScopeVersion String,\n"
    "%ATTRS%"
    "  Attributes Nested(Key String, Value String),\n"
    "  DroppedAttributesCount UInt32\n"
    ") ENGINE = MergeTree PARTITION BY Date ORDER BY (ServiceName, Timestamp)";

constexpr std::string_view kMetricsColumns =
    "  Date Date DEFAULT toDate(Timestamp),\n"
    "  Timestamp DateTime DEFAULT toDateTime(intDiv(TimeUnixNano, 1000000000)),\n"
    "  TimeUnixNano UInt64,\n"
    "  StartTimeUnixNano UInt64,\n"
    "  Name String,\n"
    "  Unit String,\n"
    "  Description String,\n"
    "  Type Enum8('gauge' = 0, 'sum' = 1, 'histogram' = 2, 'exponential_histogram' = 3, "
    "'summary' = 4),\n"
    "  Temporality Enum8('unspecified' = 0, 'delta' = 1, 'cumulative' = 2),\n"
    "  IsMonotonic UInt8,\n"
    "  ServiceName String,\n"
    "  Value Float64,\n"
    "  IntValue Int64,\n"
    "  Count UInt64,\n"
    "  Sum Float64,\n"
    "  Min Float64,\n"
    "  Max Float64,\n"
    "  BucketBounds Array(Float64),\n"
    "  BucketCounts Array(UInt64),\n"
    "  ExpScale Int32,\n"
    "  ExpZeroCount UInt64,\n"
    "  ExpPositiveOffset Int32,\n"
    "  ExpPositiveCounts Array(UInt64),\n"
    "  ExpNegativeOffset Int32,\n"
    "  ExpNegativeCounts Array(UInt64),\n"
    "  Quantiles Nested(Quantile Float64, Value Float64),\n"
    "  Flags UInt32,\n"
    "  ScopeName String,\n"
    "  ScopeVersion String,\n"
    "%ATTRS%"
    "  Labels Nested(Key String, Value String)\n"
    ") ENGINE = MergeTree PARTITION BY Date ORDER BY (Name, ServiceName, Timestamp)";

}  // namespace

std::string CreateTableSql(Table table, std::string_view database, std::string_view name) {
  std::string_view body = table == Table::kSpans  ? kSpansColumns
                          : table == Table::kLogs ? kLogsColumns
                                                  : kMetricsColumns;
  std::string sql = "CREATE TABLE IF NOT EXISTS `";
  sql.append(database).append("`.`").append(name).append("` (\n");
  const std::size_t at = body.find("%ATTRS%");
  sql.append(body.substr(0, at));
  sql.append(kAttributeColumns);
  sql.append(body.substr(at + 7));
  return sql;
}

bool IsIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

}  // namespace strobed::exporters::clickhouse
