#include "strobed/exporters/clickhouse/row_encoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <set>

namespace strobed::exporters::clickhouse {
namespace {

using std::string_literals::operator""s;

// One span with every column set to a short value, so its RowBinary bytes can be written out by
// hand. Its strings are literals; attributes use ids of the fixture's own key table.
class RowEncoderTest : public ::testing::Test {
 protected:
  RowEncoderTest()
      : service_key_(*keys_.Intern("service.name")),
        n_key_(*keys_.Intern("n")),
        k_key_(*keys_.Intern("k")) {
    resource_attrs_[0] = {service_key_, event::Value::String("s")};
    resource_.attributes = resource_attrs_;
    span_attrs_[0] = {n_key_, event::Value::Int(-1)};
    event_attrs_[0] = {k_key_, event::Value::String("v")};
    events_[0].time_ns = 7;
    events_[0].name = "e";
    events_[0].attributes = event_attrs_;
    span_.trace_id = event::TraceId::FromHalves(0, 0xab);
    span_.span_id = event::SpanId::FromValue(1);
    span_.name = "op";
    span_.kind = event::SpanKind::kServer;
    span_.start_ns = 0x0102;
    span_.end_ns = 0x0102 + 5;
    span_.status.code = event::StatusCode::kError;
    span_.flags = 1;
    span_.attributes = span_attrs_;
    span_.events = events_;
    span_.resource = &resource_;
  }

  event::KeyTable keys_;
  event::KeyId service_key_, n_key_, k_key_;
  event::Attribute resource_attrs_[1];
  event::Resource resource_;
  event::Attribute span_attrs_[1];
  event::Attribute event_attrs_[1];
  event::SpanEvent events_[1];
  event::Span span_;
};

TEST_F(RowEncoderTest, SpanRowBinaryBytesByHand) {
  RowEncoder enc(keys_);
  std::string out;
  enc.Spans(Format::kRowBinary, {&span_, 1}, out);
  const std::string zero7(7, '\0');
  std::string want;
  want += "\x02\x01"s + std::string(6, '\0');    // StartTimeUnixNano 0x0102, LE
  want += "\x05"s + zero7;                       // DurationNano 5
  want += "\x20" + std::string(30, '0') + "ab";  // TraceId: len 32, hex
  want += "\x10" + std::string(15, '0') + "1";   // SpanId: len 16
  want += "\x00"s;                               // ParentSpanId "" (root)
  want += "\x00"s;                               // TraceState ""
  want += "\x02op";                              // Name
  want += "\x02";                                // Kind SERVER = 2
  want += "\x01s";                               // ServiceName
  want += "\x02";                                // StatusCode ERROR = 2
  want += "\x00"s;                               // StatusMessage
  want += "\x00\x00"s;                           // ScopeName, ScopeVersion
  want += "\x01\x00\x00\x00"s;                   // Flags 1 (UInt32 LE)
  want += "\x01\x0cservice.name";                // ResourceAttributes.Key
  want += "\x01\x01s";                           // ResourceAttributes.Value
  want += "\x01\x01n";                           // Attributes.Key
  want += "\x01\x02-1";                          // Attributes.Value (int as text)
  want += "\x01\x07"s + zero7;                   // Events.TimeUnixNano [7]
  want +=
      "\x01\x01"
      "e";                        // Events.Name ["e"]
  want += "\x01\x01\x01k";        // Events.AttributeKeys [["k"]]
  want += "\x01\x01\x01v";        // Events.AttributeValues [["v"]]
  want += "\x00\x00\x00"s;        // Links.* (no links)
  want += std::string(12, '\0');  // 3 dropped counts, UInt32
  EXPECT_EQ(out, want);
}

TEST_F(RowEncoderTest, SpanJsonEachRowByHand) {
  RowEncoder enc(keys_);
  std::string out;
  enc.Spans(Format::kJsonEachRow, {&span_, 1}, out);
  EXPECT_EQ(out,
            "{\"StartTimeUnixNano\":258,\"DurationNano\":5,"
            "\"TraceId\":\"000000000000000000000000000000ab\",\"SpanId\":\"0000000000000001\","
            "\"ParentSpanId\":\"\",\"TraceState\":\"\",\"Name\":\"op\",\"Kind\":\"SERVER\","
            "\"ServiceName\":\"s\",\"StatusCode\":\"ERROR\",\"StatusMessage\":\"\","
            "\"ScopeName\":\"\",\"ScopeVersion\":\"\",\"Flags\":1,"
            "\"ResourceAttributes.Key\":[\"service.name\"],\"ResourceAttributes.Value\":[\"s\"],"
            "\"Attributes.Key\":[\"n\"],\"Attributes.Value\":[\"-1\"],"
            "\"Events.TimeUnixNano\":[7],\"Events.Name\":[\"e\"],"
            "\"Events.AttributeKeys\":[[\"k\"]],\"Events.AttributeValues\":[[\"v\"]],"
            "\"Links.TraceId\":[],\"Links.SpanId\":[],\"Links.TraceState\":[],"
            "\"DroppedAttributesCount\":0,\"DroppedEventsCount\":0,\"DroppedLinksCount\":0}\n");
}

TEST_F(RowEncoderTest, JsonEscapesHostileStringsAndRowBinaryKeepsTheirBytes) {
  // Quote, backslash, control characters, DEL, a stray continuation byte, a truncated
  // 3-byte sequence, an encoded surrogate, and valid non-ASCII.
  const std::string hostile = "q\"b\\s\x01\n\t\x1f\x7f|\x80|\xe2\x82|\xed\xa0\x80|\xc3\xbc";
  span_.name = hostile;
  static const std::string message = "\x00z"s;
  span_.status.message = message;
  span_.events = {};
  span_.attributes = {};
  span_.resource = nullptr;
  RowEncoder enc(keys_);
  std::string json;
  enc.Spans(Format::kJsonEachRow, {&span_, 1}, json);
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_NE(json.find("\"Name\":\"q\\\"b\\\\s\\u0001\\n\\t\\u001f\x7f|" + fffd + "|" + fffd + fffd +
                      "|" + fffd + fffd + fffd + "|\xc3\xbc\","),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"StatusMessage\":\"\\u0000z\""), std::string::npos) << json;
  EXPECT_EQ(json.find('\n'), json.size() - 1) << "one line per row";

  std::string bin;
  enc.Spans(Format::kRowBinary, {&span_, 1}, bin);
  const std::string name_field = std::string(1, static_cast<char>(hostile.size())) + hostile;
  EXPECT_NE(bin.find(name_field), std::string::npos) << "RowBinary sends the bytes unchanged";
}

TEST_F(RowEncoderTest, ValuesAsText) {
  RowEncoder enc(keys_);
  auto text = [&](const event::Value& v) {
    std::string s;
    enc.AppendValueText(v, s);
    return s;
  };
  EXPECT_EQ(text(event::Value::String("a\"b")), "a\"b");
  EXPECT_EQ(text(event::Value::Int(-9007199254740993)), "-9007199254740993");
  EXPECT_EQ(text(event::Value::Double(0.1)), "0.1");
  EXPECT_EQ(text(event::Value::Double(1e21)), "1e+21");
  EXPECT_EQ(text(event::Value::Double(std::nan(""))), "NaN");
  EXPECT_EQ(text(event::Value::Double(-INFINITY)), "-Inf");
  EXPECT_EQ(text(event::Value::Bool(true)), "true");
  const uint8_t bytes[] = {0, 1, 2, 3};
  EXPECT_EQ(text(event::Value::Bytes(bytes)), "AAECAw==");
  EXPECT_EQ(text(event::Value::Bytes({bytes, 2})), "AAE=");
  EXPECT_EQ(text(event::Value::Bytes({bytes, 3})), "AAEC");
  const event::Value arr[] = {event::Value::String("a"), event::Value::Int(7),
                              event::Value::Double(NAN)};
  EXPECT_EQ(text(event::Value::Array(arr)), "[\"a\",7,null]");
  const event::Attribute kv[] = {{k_key_, event::Value::String("v\n")},
                                 {n_key_, event::Value::Array({arr, 1})}};
  EXPECT_EQ(text(event::Value::KvList(kv)), "{\"k\":\"v\\n\",\"n\":[\"a\"]}");
  EXPECT_EQ(text(event::Value()), "");
}

TEST_F(RowEncoderTest, UnknownEnumValuesBecomeTheZeroName) {
  span_.kind = static_cast<event::SpanKind>(9);
  span_.status.code = static_cast<event::StatusCode>(7);
  RowEncoder enc(keys_);
  std::string json;
  enc.Spans(Format::kJsonEachRow, {&span_, 1}, json);
  EXPECT_NE(json.find("\"Kind\":\"UNSPECIFIED\""), std::string::npos);
  EXPECT_NE(json.find("\"StatusCode\":\"UNSET\""), std::string::npos);
}

TEST_F(RowEncoderTest, LogRowFallsBackToObservedTime) {
  event::LogRecord l;
  l.observed_time_ns = 42;
  l.severity_number = 17;
  l.severity_text = "ERROR";
  l.body = event::Value::Int(3);
  l.trace_id = span_.trace_id;
  RowEncoder enc(keys_);
  std::string json;
  enc.Logs(Format::kJsonEachRow, {&l, 1}, json);
  EXPECT_EQ(json,
            "{\"TimeUnixNano\":42,\"ObservedTimeUnixNano\":42,"
            "\"TraceId\":\"000000000000000000000000000000ab\",\"SpanId\":\"\",\"Flags\":0,"
            "\"SeverityNumber\":17,\"SeverityText\":\"ERROR\",\"ServiceName\":\"\","
            "\"Body\":\"3\",\"EventName\":\"\",\"ScopeName\":\"\",\"ScopeVersion\":\"\","
            "\"ResourceAttributes.Key\":[],\"ResourceAttributes.Value\":[],"
            "\"Attributes.Key\":[],\"Attributes.Value\":[],\"DroppedAttributesCount\":0}\n");
}

TEST_F(RowEncoderTest, MetricRowsCarryEachPointKind) {
  const double bounds[] = {1, 5};
  const uint64_t counts[] = {2, 3, 4};
  event::HistogramData h{9, 20.5, 0.5, 7, true, bounds, counts};
  const event::QuantileValue qv[] = {{0.5, 2}, {0.99, NAN}};
  event::SummaryData sd{10, 55, qv};
  event::MetricPoint points[3];
  points[0].name = "g";
  points[0].is_int = true;
  points[0].int_value = (int64_t{1} << 53) + 1;  // exact in IntValue, rounded in Value
  points[0].time_ns = 5;
  points[1].name = "h";
  points[1].type = event::MetricType::kHistogram;
  points[1].temporality = event::Temporality::kCumulative;
  points[1].histogram = &h;
  points[2].name = "s";
  points[2].type = event::MetricType::kSummary;
  points[2].summary = &sd;
  RowEncoder enc(keys_);
  std::string json;
  enc.Metrics(Format::kJsonEachRow, points, json);
  EXPECT_NE(json.find("\"Name\":\"g\",\"Unit\":\"\",\"Description\":\"\",\"Type\":\"gauge\","
                      "\"Temporality\":\"unspecified\",\"IsMonotonic\":0,\"ServiceName\":\"\","
                      "\"Value\":9007199254740992,\"IntValue\":9007199254740993,\"Count\":0"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"Type\":\"histogram\",\"Temporality\":\"cumulative\""), std::string::npos);
  EXPECT_NE(json.find("\"Count\":9,\"Sum\":20.5,\"Min\":0.5,\"Max\":7,\"BucketBounds\":[1,5],"
                      "\"BucketCounts\":[2,3,4]"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"Count\":10,\"Sum\":55,"), std::string::npos);
  EXPECT_NE(json.find("\"Quantiles.Quantile\":[0.5,0.99],\"Quantiles.Value\":[2,\"nan\"]"),
            std::string::npos)
      << json;

  // RowBinary carries the NaN's bits.
  std::string bin;
  enc.Metrics(Format::kRowBinary, {&points[2], 1}, bin);
  const double nan = NAN;
  std::string nan_bytes(8, '\0');
  std::memcpy(nan_bytes.data(), &nan, 8);
  const double two = 2;
  std::string two_bytes(8, '\0');
  std::memcpy(two_bytes.data(), &two, 8);
  EXPECT_NE(bin.find("\x02" + two_bytes + nan_bytes), std::string::npos);
}

// The column list the encoders send must be exactly the schema's columns minus the two the
// server computes (Date, Timestamp), in order.
TEST(RowEncoderSchemaTest, ColumnListMatchesTheCreateStatement) {
  for (Table t : {Table::kSpans, Table::kLogs, Table::kMetrics}) {
    const std::string sql = CreateTableSql(t, "db", "tbl");
    ASSERT_EQ(sql.rfind("CREATE TABLE IF NOT EXISTS `db`.`tbl` (\n", 0), 0u) << sql;
    std::string expected = "(";
    std::size_t pos = sql.find('\n') + 1;
    while (pos < sql.size() && sql.compare(pos, 2, "  ") == 0) {
      const std::size_t eol = sql.find('\n', pos);
      const std::string line = sql.substr(pos + 2, eol - pos - 2);
      pos = eol + 1;
      const std::string name = line.substr(0, line.find(' '));
      if (line.find(" DEFAULT ") != std::string::npos) continue;
      const std::size_t nested = line.find("Nested(");
      std::vector<std::string> names;
      if (nested == std::string::npos) {
        names.push_back(name);
      } else {
        // Nested(A T, B Array(T), ...): split on ", " at depth 1.
        std::string inner = line.substr(nested + 7, line.rfind(')') - nested - 7);
        int depth = 0;
        std::string cur;
        for (char c : inner + ",") {
          if (c == '(') ++depth;
          if (c == ')') --depth;
          if (c == ',' && depth == 0) {
            while (!cur.empty() && cur.front() == ' ') cur.erase(0, 1);
            names.push_back(name + "." + cur.substr(0, cur.find(' ')));
            cur.clear();
          } else {
            cur += c;
          }
        }
      }
      for (const std::string& n : names) {
        expected += (expected.size() > 1 ? ", `" : "`") + n + "`";
      }
    }
    expected += ")";
    EXPECT_EQ(ColumnList(t), expected) << TableName(t);
  }
}

TEST(RowEncoderSchemaTest, Identifiers) {
  EXPECT_TRUE(IsIdentifier("strobe_spans2"));
  EXPECT_TRUE(IsIdentifier("_x"));
  EXPECT_FALSE(IsIdentifier(""));
  EXPECT_FALSE(IsIdentifier("2x"));
  EXPECT_FALSE(IsIdentifier("a`b"));
  EXPECT_FALSE(IsIdentifier("a.b"));
  EXPECT_FALSE(IsIdentifier("a b"));
  EXPECT_FALSE(IsIdentifier(std::string(129, 'a')));
}

}  // namespace
}  // namespace strobed::exporters::clickhouse
