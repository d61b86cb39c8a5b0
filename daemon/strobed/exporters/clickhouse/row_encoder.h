#pragma once

// The ClickHouse exporter's row encoders and table schema: spans, log records and metric points
// as rows of three tables, in ClickHouse's RowBinary or JSONEachRow input format, plus the
// CREATE statements of those tables (the schema docs/pipeline.md documents).
//
// One row-writing function per table drives either format through a writer with the same
// methods (RowBinaryWriter, JsonEachRowWriter), so the two formats cannot disagree on column
// order or content; the INSERT column list is derived from the same function (ColumnList).
// Columns with a DEFAULT expression (Date, Timestamp) are computed by the server and not sent.
//
// What the formats carry:
//   RowBinary    little-endian numbers, LEB128 lengths; strings are sent byte for byte
//                (ClickHouse String holds any bytes, so invalid UTF-8 is stored as received).
//   JSONEachRow  one JSON object per row (base/json.h escaping: invalid UTF-8 becomes U+FFFD,
//                control characters \u00XX). Non-finite doubles are sent as the strings
//                "nan", "inf", "-inf" (the only spelling ClickHouse 18.16 reads into Float64;
//                `null` would become 0). ClickHouse 18.16's JSON float parser reads subnormal
//                doubles (< 2.2e-308) as 0: RowBinary is exact, JSON is not for those.
// Attribute values are stored as text: strings as they are, integers in decimal, doubles in
// the shortest form that reads back as the same double, booleans true/false, bytes in base64,
// arrays and key/value lists as JSON (as the OpenTelemetry Collector's ClickHouse exporter
// renders them).
//
// Thread class: the functions are thread-safe (pure apart from their output arguments); the
// writers are thread-compatible.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strobed/event/attribute.h"
#include "strobed/event/log.h"
#include "strobed/event/metric.h"
#include "strobed/event/span.h"

namespace strobed::exporters::clickhouse {

enum class Format : uint8_t { kRowBinary, kJsonEachRow };
// "RowBinary" / "JSONEachRow": the FORMAT clause.
std::string_view FormatName(Format format);

enum class Table : uint8_t { kSpans = 0, kLogs = 1, kMetrics = 2 };
inline constexpr std::size_t kTables = 3;
// "spans", "logs", "metrics": the default table name suffix and the `table` metric label.
std::string_view TableName(Table table);

// Writes rows in RowBinary: values appended to `out` in column order, names ignored.
class RowBinaryWriter {
 public:
  explicit RowBinaryWriter(std::string& out) : out_(out) {}
  void BeginRow() {}
  void EndRow() {}
  void UInt8(std::string_view /*column*/, uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void UInt32(std::string_view column, uint32_t v);
  void UInt64(std::string_view column, uint64_t v);
  void Int32(std::string_view column, int32_t v);
  void Int64(std::string_view column, int64_t v);
  void Float64(std::string_view column, double v);
  // An Enum8 column: RowBinary sends the numeric value, JSON the name.
  void Enum8(std::string_view /*column*/, int8_t value, std::string_view /*name*/) {
    out_.push_back(static_cast<char>(value));
  }
  void String(std::string_view column, std::string_view v);
  // An Array column (or an array element of an Array(Array)): `size` elements follow, written
  // with an empty column name, then EndArray().
  void BeginArray(std::string_view column, std::size_t size);
  void EndArray() {}

 private:
  void VarUInt(uint64_t v);
  std::string& out_;
};

// Writes rows in JSONEachRow: {"Column":value,...}\n per row.
class JsonEachRowWriter {
 public:
  explicit JsonEachRowWriter(std::string& out) : out_(out) {}
  void BeginRow();
  void EndRow();
  void UInt8(std::string_view column, uint8_t v) { UInt64(column, v); }
  void UInt32(std::string_view column, uint32_t v) { UInt64(column, v); }
  void UInt64(std::string_view column, uint64_t v);
  void Int32(std::string_view column, int32_t v) { Int64(column, v); }
  void Int64(std::string_view column, int64_t v);
  void Float64(std::string_view column, double v);
  void Enum8(std::string_view column, int8_t value, std::string_view name);
  void String(std::string_view column, std::string_view v);
  void BeginArray(std::string_view column, std::size_t size);
  void EndArray();

 private:
  void Key(std::string_view column);
  static constexpr int kMaxDepth = 4;  // row, array, array of arrays (+1 spare)
  std::string& out_;
  bool first_[kMaxDepth] = {};
  int depth_ = 0;
};

// State shared by the rows of one encoding call: the key table (attribute names), the
// service.name key and a scratch buffer for rendered values.
class RowEncoder {
 public:
  explicit RowEncoder(const event::KeyTable& keys);

  // Appends one row per event to `out` in `format`.
  void Spans(Format format, std::span<const event::Span> spans, std::string& out);
  void Logs(Format format, std::span<const event::LogRecord> logs, std::string& out);
  void Metrics(Format format, std::span<const event::MetricPoint> points, std::string& out);

  // Appends `value` rendered as text (header comment) to `out`.
  void AppendValueText(const event::Value& value, std::string& out) const;

  // The template row functions (public for the writers' sake; callers use the methods above).
  template <typename W>
  void SpanRow(W& w, const event::Span& s);
  template <typename W>
  void LogRow(W& w, const event::LogRecord& l);
  template <typename W>
  void MetricRow(W& w, const event::MetricPoint& m);

 private:
  template <typename W>
  void Attributes(W& w, std::string_view key_column, std::string_view value_column,
                  std::span<const event::Attribute> attrs);
  template <typename W>
  void AttributeValue(W& w, const event::Value& v);
  std::string_view ServiceName(const event::Resource* resource) const;
  void AppendJsonValue(const event::Value& value, std::string& out, int depth) const;

  const event::KeyTable& keys_;
  std::optional<event::KeyId> service_name_;
  std::string scratch_;
};

// "(`Col1`, `Col2`, ...)": the INSERT column list of `table`, in the encoders' order.
const std::string& ColumnList(Table table);

// The CREATE TABLE IF NOT EXISTS statement of `table` as `database`.`name` (both must be
// valid identifiers: IsIdentifier). The schema works on ClickHouse 18.16 and later.
std::string CreateTableSql(Table table, std::string_view database, std::string_view name);

// True for [A-Za-z_][A-Za-z0-9_]* up to 128 bytes: the database and table names the exporter
// accepts (they are spliced into SQL).
bool IsIdentifier(std::string_view name);

}  // namespace strobed::exporters::clickhouse
