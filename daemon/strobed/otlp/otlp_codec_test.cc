#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/otlp/otlp_encode.h"

namespace strobed::otlp {
namespace {

namespace pb_trace = opentelemetry::proto::trace::v1;
namespace pb_metrics = opentelemetry::proto::metrics::v1;
using opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;
using opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

std::string Attr(const event::KeyTable& keys, std::span<const event::Attribute> attrs,
                 std::string_view key) {
  for (const auto& a : attrs) {
    if (keys.Name(a.key) == key) return a.value.ToString();
  }
  return "<none>";
}

ExportTraceServiceRequest SampleTraces() {
  ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("checkout");
  rs->set_schema_url("https://opentelemetry.io/schemas/1.21.0");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("lib");
  ss->mutable_scope()->set_version("1.2");
  ss->set_schema_url("https://example.com/scope/1");
  auto* s = ss->add_spans();
  s->set_trace_id(
      std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16));
  s->set_span_id(std::string("\xaa\xbb\xcc\xdd\x01\x02\x03\x04", 8));
  s->set_parent_span_id(std::string("\x11\x22\x33\x44\x55\x66\x77\x88", 8));
  s->set_name("GET /cart");
  s->set_kind(pb_trace::Span::SPAN_KIND_SERVER);
  s->set_start_time_unix_nano(1000);
  s->set_end_time_unix_nano(5000);
  s->set_flags(1);
  auto* a = s->add_attributes();
  a->set_key("http.status_code");
  a->mutable_value()->set_int_value(503);
  a = s->add_attributes();
  a->set_key("ratio");
  a->mutable_value()->set_double_value(0.25);
  a = s->add_attributes();
  a->set_key("tags");
  a->mutable_value()->mutable_array_value()->add_values()->set_string_value("x");
  a->mutable_value()->mutable_array_value()->add_values()->set_bool_value(true);
  auto* e = s->add_events();
  e->set_name("exception");
  e->set_time_unix_nano(2000);
  auto* ea = e->add_attributes();
  ea->set_key("exception.message");
  ea->mutable_value()->set_string_value("boom");
  auto* l = s->add_links();
  l->set_trace_id(std::string(16, '\x07'));
  l->set_span_id(std::string(8, '\x09'));
  l->set_dropped_attributes_count(5);
  s->mutable_status()->set_code(pb_trace::Status::STATUS_CODE_ERROR);
  s->mutable_status()->set_message("upstream failed");
  return req;
}

void CheckSampleSpan(const event::Batch& b) {
  const event::KeyTable& keys = event::KeyTable::Global();
  ASSERT_EQ(b.spans().size(), 1u);
  const event::Span& s = b.spans()[0];
  EXPECT_EQ(s.trace_id.ToHex(), "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(s.span_id.ToHex(), "aabbccdd01020304");
  EXPECT_EQ(s.parent_span_id.ToHex(), "1122334455667788");
  EXPECT_EQ(s.name, "GET /cart");
  EXPECT_EQ(s.kind, event::SpanKind::kServer);
  EXPECT_EQ(s.start_ns, 1000u);
  EXPECT_EQ(s.end_ns, 5000u);
  EXPECT_EQ(s.flags, 1u);
  EXPECT_EQ(Attr(keys, s.attributes, "http.status_code"), "503");
  EXPECT_EQ(Attr(keys, s.attributes, "ratio"), "0.25");
  EXPECT_EQ(Attr(keys, s.attributes, "tags"), "[\"x\", true]");
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].name, "exception");
  EXPECT_EQ(s.events[0].time_ns, 2000u);
  EXPECT_EQ(Attr(keys, s.events[0].attributes, "exception.message"), "\"boom\"");
  ASSERT_EQ(s.links.size(), 1u);
  EXPECT_EQ(s.links[0].span_id.ToHex(), "0909090909090909");
  EXPECT_EQ(s.links[0].dropped_attributes_count, 5u);
  EXPECT_EQ(s.status.code, event::StatusCode::kError);
  EXPECT_EQ(s.status.message, "upstream failed");
  ASSERT_NE(s.resource, nullptr);
  EXPECT_EQ(Attr(keys, s.resource->attributes, "service.name"), "\"checkout\"");
  // schema_url belongs to the ResourceSpans/ScopeSpans container; strobe keeps it with the
  // resource and scope it describes (it was dropped on decode and never encoded).
  EXPECT_EQ(s.resource->schema_url, "https://opentelemetry.io/schemas/1.21.0");
  ASSERT_NE(s.scope, nullptr);
  EXPECT_EQ(s.scope->name, "lib");
  EXPECT_EQ(s.scope->version, "1.2");
  EXPECT_EQ(s.scope->schema_url, "https://example.com/scope/1");
}

TEST(OtlpDecodeTest, ProtobufTracesMatchTheGeneratedEncoder) {
  std::string body = SampleTraces().SerializeAsString();
  event::Batch b(nullptr, 4096, 1 << 20);
  auto r = Decode(Signal::kTraces, Encoding::kProtobuf, body, b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->items, 1u);
  CheckSampleSpan(b);
}

TEST(OtlpDecodeTest, EncodeThenDecodeKeepsEverything) {
  std::string body = SampleTraces().SerializeAsString();
  event::Batch b(nullptr, 4096, 1 << 20);
  ASSERT_TRUE(Decode(Signal::kTraces, Encoding::kProtobuf, body, b).ok());
  std::string again = EncodeTraces(b.spans(), event::KeyTable::Global());
  event::Batch b2(nullptr, 4096, 1 << 20);
  ASSERT_TRUE(Decode(Signal::kTraces, Encoding::kProtobuf, again, b2).ok());
  CheckSampleSpan(b2);
}

// A container may carry a schema_url and no resource (or scope) at all: the URL is still kept,
// on an empty resource and scope, and leaves again on every signal's containers.
TEST(OtlpDecodeTest, SchemaUrlsWithoutAResourceOrScopeAreKept) {
  const std::string json = R"({"resourceLogs":[{"schemaUrl":"https://r","scopeLogs":[
      {"schemaUrl":"https://s","logRecords":[{"timeUnixNano":"5","body":{"stringValue":"x"}}]}]}]})";
  event::Batch b(nullptr, 4096, 1 << 20);
  ASSERT_TRUE(Decode(Signal::kLogs, Encoding::kJson, json, b).ok());
  ASSERT_EQ(b.logs().size(), 1u);
  ASSERT_NE(b.logs()[0].resource, nullptr);
  ASSERT_NE(b.logs()[0].scope, nullptr);
  EXPECT_EQ(b.logs()[0].resource->schema_url, "https://r");
  EXPECT_EQ(b.logs()[0].scope->schema_url, "https://s");
  ExportLogsServiceRequest req;
  ASSERT_TRUE(req.ParseFromString(EncodeLogs(b.logs(), event::KeyTable::Global())));
  ASSERT_EQ(req.resource_logs_size(), 1);
  EXPECT_EQ(req.resource_logs(0).schema_url(), "https://r");
  ASSERT_EQ(req.resource_logs(0).scope_logs_size(), 1);
  EXPECT_EQ(req.resource_logs(0).scope_logs(0).schema_url(), "https://s");

  ExportMetricsServiceRequest m;
  auto* rm = m.add_resource_metrics();
  rm->set_schema_url("https://rm");
  auto* sm = rm->add_scope_metrics();
  sm->set_schema_url("https://sm");
  auto* metric = sm->add_metrics();
  metric->set_name("g");
  metric->mutable_gauge()->add_data_points()->set_as_double(1.5);
  event::Batch bm(nullptr, 4096, 1 << 20);
  ASSERT_TRUE(Decode(Signal::kMetrics, Encoding::kProtobuf, m.SerializeAsString(), bm).ok());
  ExportMetricsServiceRequest again;
  ASSERT_TRUE(again.ParseFromString(EncodeMetrics(bm.metrics(), event::KeyTable::Global())));
  ASSERT_EQ(again.resource_metrics_size(), 1);
  EXPECT_EQ(again.resource_metrics(0).schema_url(), "https://rm");
  ASSERT_EQ(again.resource_metrics(0).scope_metrics_size(), 1);
  EXPECT_EQ(again.resource_metrics(0).scope_metrics(0).schema_url(), "https://sm");
}

TEST(OtlpDecodeTest, JsonTracesWithOtlpJsonRules) {
  const std::string json = R"({"resourceSpans":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"checkout"}}]},
    "schemaUrl":"https://opentelemetry.io/schemas/1.21.0",
    "scopeSpans":[{"scope":{"name":"lib","version":"1.2"},
      "schemaUrl":"https://example.com/scope/1","spans":[{
      "traceId":"0102030405060708090A0B0C0D0E0F10","spanId":"aabbccdd01020304",
      "parentSpanId":"1122334455667788","name":"GET /cart","kind":2,
      "startTimeUnixNano":"1000","endTimeUnixNano":5000,"flags":1,
      "attributes":[{"key":"http.status_code","value":{"intValue":"503"}},
                    {"key":"ratio","value":{"doubleValue":0.25}},
                    {"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"x"},{"boolValue":true}]}}}],
      "events":[{"timeUnixNano":"2000","name":"exception",
                 "attributes":[{"key":"exception.message","value":{"stringValue":"boom"}}]}],
      "links":[{"traceId":"07070707070707070707070707070707","spanId":"0909090909090909",
                "droppedAttributesCount":5}],
      "status":{"code":2,"message":"upstream failed"},"unknownField":{"x":1}}]}]}]})";
  event::Batch b(nullptr, 4096, 1 << 20);
  auto r = Decode(Signal::kTraces, Encoding::kJson, json, b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  CheckSampleSpan(b);
}

TEST(OtlpDecodeTest, BadInputIsRejectedWithAReason) {
  std::string body = SampleTraces().SerializeAsString();
  event::Batch b(nullptr, 4096, 1 << 20);
  auto truncated = Decode(Signal::kTraces, Encoding::kProtobuf, body.substr(0, body.size() - 7), b);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("malformed protobuf"), std::string::npos);

  ExportTraceServiceRequest req = SampleTraces();
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_trace_id("short");
  auto bad_id = Decode(Signal::kTraces, Encoding::kProtobuf, req.SerializeAsString(), b);
  ASSERT_FALSE(bad_id.ok());
  EXPECT_NE(bad_id.status().message().find("trace_id must be 16 bytes"), std::string::npos);

  req = SampleTraces();
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_parent_span_id(
      "123");
  auto bad_parent = Decode(Signal::kTraces, Encoding::kProtobuf, req.SerializeAsString(), b);
  ASSERT_FALSE(bad_parent.ok());
  EXPECT_NE(bad_parent.status().message().find("parent_span_id"), std::string::npos);

  auto bad_json = Decode(Signal::kTraces, Encoding::kJson, "{\"resourceSpans\":[", b);
  ASSERT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.status().message().find("invalid JSON"), std::string::npos);

  auto short_hex = Decode(
      Signal::kTraces, Encoding::kJson,
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abcd","spanId":"0909090909090909"}]}]}]})",
      b);
  ASSERT_FALSE(short_hex.ok());
  EXPECT_NE(short_hex.status().message().find("32 hex digits"), std::string::npos)
      << short_hex.status().message();

  auto kind_name = Decode(
      Signal::kTraces, Encoding::kJson,
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"07070707070707070707070707070707","spanId":"0909090909090909","kind":"SPAN_KIND_SERVER"}]}]}]})",
      b);
  ASSERT_FALSE(kind_name.ok());
}

TEST(OtlpDecodeTest, DeeplyNestedValuesAreRejected) {
  ExportTraceServiceRequest req = SampleTraces();
  auto* v = req.mutable_resource_spans(0)
                ->mutable_scope_spans(0)
                ->mutable_spans(0)
                ->add_attributes()
                ->mutable_value();
  for (int i = 0; i < 40; ++i) v = v->mutable_array_value()->add_values();
  v->set_int_value(1);
  event::Batch b(nullptr, 4096, 1 << 20);
  auto r = Decode(Signal::kTraces, Encoding::kProtobuf, req.SerializeAsString(), b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nested deeper"), std::string::npos);
}

TEST(OtlpDecodeTest, FullKeyTableDropsAndCountsAttributes) {
  event::KeyTable small(2);
  DecodeOptions opts;
  opts.keys = &small;
  event::Batch b(nullptr, 4096, 1 << 20);
  auto r =
      Decode(Signal::kTraces, Encoding::kProtobuf, SampleTraces().SerializeAsString(), b, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->dropped_attributes, 0u);
  EXPECT_GT(b.spans()[0].dropped_attributes_count, 0u);
}

ExportMetricsServiceRequest SampleMetrics() {
  ExportMetricsServiceRequest req;
  auto* sm = req.add_resource_metrics()->add_scope_metrics();
  auto* g = sm->add_metrics();
  g->set_name("temp");
  auto* gp = g->mutable_gauge()->add_data_points();
  gp->set_as_double(21.5);
  gp->set_time_unix_nano(10);
  auto* s = sm->add_metrics();
  s->set_name("requests");
  s->mutable_sum()->set_aggregation_temporality(pb_metrics::AGGREGATION_TEMPORALITY_DELTA);
  s->mutable_sum()->set_is_monotonic(true);
  auto* sp = s->mutable_sum()->add_data_points();
  sp->set_as_int(7);
  auto* lbl = sp->add_attributes();
  lbl->set_key("route");
  lbl->mutable_value()->set_string_value("/a");
  auto* h = sm->add_metrics();
  h->set_name("latency");
  h->mutable_histogram()->set_aggregation_temporality(
      pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* hp = h->mutable_histogram()->add_data_points();
  hp->set_count(6);
  hp->set_sum(12.5);
  hp->add_explicit_bounds(1);
  hp->add_explicit_bounds(5);
  hp->add_bucket_counts(1);
  hp->add_bucket_counts(2);
  hp->add_bucket_counts(3);
  hp->set_min(0.5);
  hp->set_max(9);
  auto* e = sm->add_metrics();
  e->set_name("size");
  e->mutable_exponential_histogram()->set_aggregation_temporality(
      pb_metrics::AGGREGATION_TEMPORALITY_DELTA);
  auto* ep = e->mutable_exponential_histogram()->add_data_points();
  ep->set_count(3);
  ep->set_scale(-2);
  ep->set_zero_count(1);
  ep->mutable_positive()->set_offset(-3);
  ep->mutable_positive()->add_bucket_counts(2);
  auto* q = sm->add_metrics();
  q->set_name("rpc");
  auto* qp = q->mutable_summary()->add_data_points();
  qp->set_count(10);
  qp->set_sum(55);
  qp->set_start_time_unix_nano(5);
  qp->set_time_unix_nano(20);
  auto* ql = qp->add_attributes();
  ql->set_key("method");
  ql->mutable_value()->set_string_value("get");
  auto* qv = qp->add_quantile_values();
  qv->set_quantile(0.5);
  qv->set_value(4);
  qv = qp->add_quantile_values();
  qv->set_quantile(0.99);
  qv->set_value(9.5);
  return req;
}

// The summary point of SampleMetrics(): one kSummary point, nothing split off.
void CheckSampleSummary(const event::MetricPoint& p) {
  EXPECT_EQ(p.name, "rpc");
  EXPECT_EQ(p.type, event::MetricType::kSummary);
  EXPECT_EQ(p.start_time_ns, 5u);
  EXPECT_EQ(p.time_ns, 20u);
  EXPECT_EQ(Attr(event::KeyTable::Global(), p.labels, "method"), "\"get\"");
  EXPECT_EQ(Attr(event::KeyTable::Global(), p.labels, "quantile"), "<none>");
  ASSERT_NE(p.summary, nullptr);
  EXPECT_EQ(p.summary->count, 10u);
  EXPECT_DOUBLE_EQ(p.summary->sum, 55);
  ASSERT_EQ(p.summary->quantiles.size(), 2u);
  EXPECT_EQ(p.summary->quantiles[0].quantile, 0.5);
  EXPECT_EQ(p.summary->quantiles[0].value, 4);
  EXPECT_EQ(p.summary->quantiles[1].quantile, 0.99);
  EXPECT_EQ(p.summary->quantiles[1].value, 9.5);
}

void CheckSampleMetrics(const event::Batch& b) {
  const event::KeyTable& keys = event::KeyTable::Global();
  ASSERT_EQ(b.metrics().size(), 5u);  // one point per OTLP point, a summary included
  const auto& m = b.metrics();
  EXPECT_EQ(m[0].name, "temp");
  EXPECT_EQ(m[0].type, event::MetricType::kGauge);
  EXPECT_DOUBLE_EQ(m[0].Number(), 21.5);
  EXPECT_EQ(m[1].type, event::MetricType::kSum);
  EXPECT_EQ(m[1].temporality, event::Temporality::kDelta);
  EXPECT_TRUE(m[1].is_monotonic);
  EXPECT_TRUE(m[1].is_int);
  EXPECT_EQ(m[1].int_value, 7);
  EXPECT_EQ(Attr(keys, m[1].labels, "route"), "\"/a\"");
  ASSERT_NE(m[2].histogram, nullptr);
  EXPECT_EQ(m[2].histogram->count, 6u);
  EXPECT_EQ(m[2].histogram->bucket_counts.size(), 3u);
  EXPECT_EQ(m[2].histogram->bucket_counts[2], 3u);
  EXPECT_DOUBLE_EQ(m[2].histogram->explicit_bounds[1], 5);
  EXPECT_TRUE(m[2].histogram->has_min_max);
  ASSERT_NE(m[3].exp_histogram, nullptr);
  EXPECT_EQ(m[3].exp_histogram->scale, -2);
  EXPECT_EQ(m[3].exp_histogram->positive.offset, -3);
  EXPECT_EQ(m[3].exp_histogram->positive.counts[0], 2u);
  CheckSampleSummary(m[4]);
}

// Two gauges that differ only by the label `customer`, plus one whose resource carries a key.
ExportMetricsServiceRequest CustomerGauges(std::string_view resource_key) {
  ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  if (!resource_key.empty()) {
    auto* kv = rm->mutable_resource()->add_attributes();
    kv->set_key(std::string(resource_key));
    kv->mutable_value()->set_string_value("r");
  }
  auto* m = rm->add_scope_metrics()->add_metrics();
  m->set_name("orders");
  for (const auto& [customer, value] : {std::pair{"alice", 10}, std::pair{"bob", 20}}) {
    auto* p = m->mutable_gauge()->add_data_points();
    p->set_as_int(value);
    auto* kv = p->add_attributes();
    kv->set_key("customer");
    kv->mutable_value()->set_string_value(customer);
  }
  auto* p = m->mutable_gauge()->add_data_points();  // no labels: its identity is intact
  p->set_as_int(30);
  return req;
}

TEST(OtlpDecodeTest, MetricPointsThatLoseALabelAreRefusedNotMerged) {
  event::KeyTable table(100);
  for (Encoding enc : {Encoding::kProtobuf, Encoding::kJson}) {
    event::KeyBudget budget;
    budget.max_new_keys = 0;  // "customer" is new: refused
    DecodeOptions opts;
    opts.keys = &table;
    opts.budget = &budget;
    event::Batch b(nullptr, 4096, 1 << 20);
    std::string body = CustomerGauges("").SerializeAsString();
    if (enc == Encoding::kJson) {
      body = R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"orders","gauge":{
        "dataPoints":[{"asInt":"10","attributes":[{"key":"customer","value":{"stringValue":
        "alice"}}]},{"asInt":"20","attributes":[{"key":"customer","value":{"stringValue":"bob"}}]},
        {"asInt":"30"}]}}]}]}]})";
    }
    auto r = Decode(Signal::kMetrics, enc, body, b, opts);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->items, 1u);  // only the unlabelled point
    EXPECT_EQ(r->refused_items, 2u);
    EXPECT_EQ(r->refused_by[static_cast<size_t>(event::KeyRefusal::kRequestLimit)], 2u);
    ASSERT_EQ(b.metrics().size(), 1u);
    EXPECT_EQ(b.metrics()[0].int_value, 30);
    EXPECT_TRUE(b.metrics()[0].labels.empty());
  }
  // With room for the key both points are kept, as two series.
  event::KeyBudget budget;
  budget.max_new_keys = 1;
  DecodeOptions opts;
  opts.keys = &table;
  opts.budget = &budget;
  event::Batch b(nullptr, 4096, 1 << 20);
  auto r = Decode(Signal::kMetrics, Encoding::kProtobuf, CustomerGauges("").SerializeAsString(), b,
                  opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->items, 3u);
  EXPECT_EQ(r->refused_items, 0u);
  EXPECT_EQ(budget.added, 1u);
  EXPECT_EQ(Attr(table, b.metrics()[1].labels, "customer"), "\"bob\"");
}

TEST(OtlpDecodeTest, AResourceThatLosesAKeyRefusesItsPoints) {
  event::KeyTable table(100);
  ASSERT_TRUE(table.Intern("customer").has_value());
  event::KeyBudget budget;
  budget.max_new_keys = 0;
  DecodeOptions opts;
  opts.keys = &table;
  opts.budget = &budget;
  event::Batch b(nullptr, 4096, 1 << 20);
  auto r = Decode(Signal::kMetrics, Encoding::kProtobuf,
                  CustomerGauges("deployment.new").SerializeAsString(), b, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->items, 0u);
  EXPECT_EQ(r->refused_items, 3u);
  EXPECT_TRUE(b.metrics().empty());
}

TEST(OtlpDecodeTest, SpanAttributesRefusedByTheBudgetAreCounted) {
  event::KeyTable table(100);
  event::KeyBudget budget;
  budget.max_new_keys = 1;  // "service.name" fits; the span's keys do not
  DecodeOptions opts;
  opts.keys = &table;
  opts.budget = &budget;
  event::Batch b(nullptr, 4096, 1 << 20);
  auto r =
      Decode(Signal::kTraces, Encoding::kProtobuf, SampleTraces().SerializeAsString(), b, opts);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(b.spans().size(), 1u);
  EXPECT_EQ(b.spans()[0].attributes.size(), 0u);
  EXPECT_EQ(b.spans()[0].dropped_attributes_count, 3u);
  EXPECT_EQ(r->dropped_attributes, 4u);  // and the event's exception.message
  EXPECT_EQ(r->dropped_by[static_cast<size_t>(event::KeyRefusal::kRequestLimit)], 4u);
  EXPECT_EQ(r->refused_items, 0u);
}

TEST(OtlpDecodeTest, EveryMetricTypeFromProtobuf) {
  event::Batch b(nullptr, 4096, 1 << 20);
  auto r = Decode(Signal::kMetrics, Encoding::kProtobuf, SampleMetrics().SerializeAsString(), b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  CheckSampleMetrics(b);
  // And the encoder keeps every type intact.
  std::string again = EncodeMetrics(b.metrics(), event::KeyTable::Global());
  event::Batch b2(nullptr, 4096, 1 << 20);
  ASSERT_TRUE(Decode(Signal::kMetrics, Encoding::kProtobuf, again, b2).ok());
  CheckSampleMetrics(b2);
  EXPECT_EQ(b2.metrics()[2].histogram->bucket_counts[1], 2u);
  EXPECT_EQ(b2.metrics()[3].exp_histogram->positive.offset, -3);
}

// A point whose label value (or resource attribute) is not UTF-8 is refused alone and
// counted; it used to be accepted and then never shown by the Prometheus exposition.
TEST(OtlpDecodeTest, PointsWithLabelsNotUtf8AreRefusedAlone) {
  ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  auto* g = rm->add_scope_metrics()->add_metrics();
  g->set_name("temp");
  for (const char* room : {"alice", "b\x01ob", "caf\xc3\xa9", "list"}) {
    auto* p = g->mutable_gauge()->add_data_points();
    p->set_as_double(1);
    auto* kv = p->add_attributes();
    kv->set_key("room");
    if (std::string_view(room) == "list") {  // nested in an array value
      auto* arr = kv->mutable_value()->mutable_array_value();
      arr->add_values()->set_string_value("ok");
      arr->add_values()->set_string_value("x\x02y");
    } else {
      kv->mutable_value()->set_string_value(room);
    }
  }
  // protobuf will not serialize a string that is not UTF-8, so the values above are valid
  // markers; the wire bytes then get one byte of each marker replaced by 0xff.
  std::string body = req.SerializeAsString();
  for (std::string_view marker : {"b\x01ob", "x\x02y"}) {
    size_t at = body.find(marker);
    ASSERT_NE(at, std::string::npos);
    body[at + 1] = '\xff';
  }
  event::Batch b(nullptr, 4096, 1 << 20);
  auto r = Decode(Signal::kMetrics, Encoding::kProtobuf, body, b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->items, 2u);
  EXPECT_EQ(r->invalid_utf8, 2u);
  ASSERT_EQ(b.metrics().size(), 2u);
  EXPECT_EQ(b.metrics()[0].labels[0].value.AsString(), "alice");
  EXPECT_EQ(b.metrics()[1].labels[0].value.AsString(), "caf\xc3\xa9");

  // An invalid resource attribute refuses the points of that resource.
  req.Clear();
  rm = req.add_resource_metrics();
  auto* attr = rm->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("s\x03v");
  g = rm->add_scope_metrics()->add_metrics();
  g->set_name("temp");
  g->mutable_gauge()->add_data_points()->set_as_double(2);
  body = req.SerializeAsString();
  body[body.find("s\x03v") + 1] = '\xc0';
  event::Batch b2(nullptr, 4096, 1 << 20);
  r = Decode(Signal::kMetrics, Encoding::kProtobuf, body, b2);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->items, 0u);
  EXPECT_EQ(r->invalid_utf8, 1u);
  EXPECT_TRUE(b2.metrics().empty());
}

TEST(OtlpEncodeTest, SummaryLeavesAsSummaryDataPoint) {
  event::Batch b(nullptr, 4096, 1 << 20);
  ASSERT_TRUE(
      Decode(Signal::kMetrics, Encoding::kProtobuf, SampleMetrics().SerializeAsString(), b).ok());
  ExportMetricsServiceRequest out;
  ASSERT_TRUE(out.ParseFromString(EncodeMetrics(b.metrics(), event::KeyTable::Global())));
  const auto& metrics = out.resource_metrics(0).scope_metrics(0).metrics();
  ASSERT_EQ(metrics.size(), 5);
  const pb_metrics::Metric& m = metrics[4];
  EXPECT_EQ(m.name(), "rpc");
  ASSERT_TRUE(m.has_summary()) << m.DebugString();  // not a gauge, not split into sums
  ASSERT_EQ(m.summary().data_points_size(), 1);
  const pb_metrics::SummaryDataPoint& dp = m.summary().data_points(0);
  EXPECT_EQ(dp.count(), 10u);
  EXPECT_EQ(dp.sum(), 55);
  EXPECT_EQ(dp.start_time_unix_nano(), 5u);
  EXPECT_EQ(dp.time_unix_nano(), 20u);
  ASSERT_EQ(dp.attributes_size(), 1);
  EXPECT_EQ(dp.attributes(0).key(), "method");
  EXPECT_EQ(dp.attributes(0).value().string_value(), "get");
  ASSERT_EQ(dp.quantile_values_size(), 2);
  EXPECT_EQ(dp.quantile_values(0).quantile(), 0.5);
  EXPECT_EQ(dp.quantile_values(0).value(), 4);
  EXPECT_EQ(dp.quantile_values(1).quantile(), 0.99);
  EXPECT_EQ(dp.quantile_values(1).value(), 9.5);
  // Byte for byte what came in (same field order, nothing lost).
  EXPECT_EQ(dp.SerializeAsString(), SampleMetrics()
                                        .resource_metrics(0)
                                        .scope_metrics(0)
                                        .metrics(4)
                                        .summary()
                                        .data_points(0)
                                        .SerializeAsString());
}

TEST(OtlpDecodeTest, InvalidSummariesAreRejected) {
  auto with_quantile = [](double q, int copies) {
    ExportMetricsServiceRequest req = SampleMetrics();
    auto* dp = req.mutable_resource_metrics(0)
                   ->mutable_scope_metrics(0)
                   ->mutable_metrics(4)
                   ->mutable_summary()
                   ->mutable_data_points(0);
    for (int i = 0; i < copies; ++i) {
      auto* qv = dp->add_quantile_values();
      qv->set_quantile(q);
      qv->set_value(1);
    }
    return req.SerializeAsString();
  };
  for (double q : {1.5, -0.25, std::numeric_limits<double>::quiet_NaN()}) {
    event::Batch b(nullptr, 4096, 1 << 20);
    auto r = Decode(Signal::kMetrics, Encoding::kProtobuf, with_quantile(q, 1), b);
    ASSERT_FALSE(r.ok()) << q;
    EXPECT_NE(r.status().message().find("outside [0, 1]"), std::string::npos)
        << r.status().message();
  }
  // 2 quantiles already there: kMaxQuantiles - 2 more is the limit.
  const int room = static_cast<int>(event::SummaryData::kMaxQuantiles) - 2;
  event::Batch ok(nullptr, 4096, 1 << 20);
  ASSERT_TRUE(Decode(Signal::kMetrics, Encoding::kProtobuf, with_quantile(0.5, room), ok).ok());
  EXPECT_EQ(ok.metrics()[4].summary->quantiles.size(), event::SummaryData::kMaxQuantiles);
  event::Batch b(nullptr, 4096, 1 << 20);
  auto r = Decode(Signal::kMetrics, Encoding::kProtobuf, with_quantile(0.5, room + 1), b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("quantile values (at most 64)"), std::string::npos)
      << r.status().message();

  // The same rules in OTLP/JSON.
  auto json = [](const std::string& quantiles) {
    return R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"rpc","summary":{)"
           R"("dataPoints":[{"count":"1","sum":1,"quantileValues":[)" +
           quantiles + "]}]}}]}]}]}";
  };
  event::Batch j1(nullptr, 4096, 1 << 20);
  auto jr = Decode(Signal::kMetrics, Encoding::kJson, json(R"({"quantile":2,"value":1})"), j1);
  ASSERT_FALSE(jr.ok());
  EXPECT_NE(jr.status().message().find("outside [0, 1]"), std::string::npos);
  std::string many;
  for (size_t i = 0; i <= event::SummaryData::kMaxQuantiles; ++i) {
    many += std::string(i > 0 ? "," : "") + R"({"quantile":0.5,"value":1})";
  }
  event::Batch j2(nullptr, 4096, 1 << 20);
  jr = Decode(Signal::kMetrics, Encoding::kJson, json(many), j2);
  ASSERT_FALSE(jr.ok());
  EXPECT_NE(jr.status().message().find("at most 64"), std::string::npos);
}

TEST(OtlpDecodeTest, EveryMetricTypeFromJson) {
  const std::string json = R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[
    {"name":"temp","gauge":{"dataPoints":[{"asDouble":21.5,"timeUnixNano":"10"}]}},
    {"name":"requests","sum":{"aggregationTemporality":1,"isMonotonic":true,
      "dataPoints":[{"asInt":"7","attributes":[{"key":"route","value":{"stringValue":"/a"}}]}]}},
    {"name":"latency","histogram":{"aggregationTemporality":2,"dataPoints":[{"count":"6",
      "sum":12.5,"explicitBounds":[1,5],"bucketCounts":["1","2","3"],"min":0.5,"max":9}]}},
    {"name":"size","exponentialHistogram":{"aggregationTemporality":1,"dataPoints":[{
      "count":"3","scale":-2,"zeroCount":"1","positive":{"offset":-3,"bucketCounts":["2"]}}]}},
    {"name":"rpc","summary":{"dataPoints":[{"count":"10","sum":55,"startTimeUnixNano":"5",
      "timeUnixNano":"20","attributes":[{"key":"method","value":{"stringValue":"get"}}],
      "quantileValues":[{"quantile":0.5,"value":4},{"quantile":0.99,"value":9.5}]}]}}]}]}]})";
  event::Batch b(nullptr, 4096, 1 << 20);
  auto r = Decode(Signal::kMetrics, Encoding::kJson, json, b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  CheckSampleMetrics(b);
}

TEST(OtlpDecodeTest, HistogramWithMismatchedBucketsIsRejected) {
  ExportMetricsServiceRequest req = SampleMetrics();
  req.mutable_resource_metrics(0)
      ->mutable_scope_metrics(0)
      ->mutable_metrics(2)
      ->mutable_histogram()
      ->mutable_data_points(0)
      ->add_bucket_counts(9);
  event::Batch b(nullptr, 4096, 1 << 20);
  auto r = Decode(Signal::kMetrics, Encoding::kProtobuf, req.SerializeAsString(), b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bucket counts"), std::string::npos);
}

TEST(OtlpDecodeTest, LogsBothEncodings) {
  ExportLogsServiceRequest req;
  auto* lr = req.add_resource_logs()->add_scope_logs()->add_log_records();
  lr->set_time_unix_nano(42);
  lr->set_severity_number(opentelemetry::proto::logs::v1::SEVERITY_NUMBER_ERROR);
  lr->set_severity_text("ERROR");
  lr->mutable_body()->set_string_value("disk full");
  lr->set_trace_id(std::string(16, '\x05'));
  event::Batch b(nullptr, 4096, 1 << 20);
  ASSERT_TRUE(Decode(Signal::kLogs, Encoding::kProtobuf, req.SerializeAsString(), b).ok());
  ASSERT_EQ(b.logs().size(), 1u);
  EXPECT_EQ(b.logs()[0].severity_number, 17);
  EXPECT_EQ(b.logs()[0].body.AsString(), "disk full");
  EXPECT_EQ(b.logs()[0].trace_id.ToHex(),
            std::string(16, '0').replace(0, 16, "0505050505050505") + "0505050505050505");
  const std::string json = R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{
      "timeUnixNano":"42","severityNumber":17,"body":{"stringValue":"disk full"},
      "attributes":[{"key":"bytes","value":{"bytesValue":"aGk="}}]}]}]}]})";
  event::Batch b2(nullptr, 4096, 1 << 20);
  auto r = Decode(Signal::kLogs, Encoding::kJson, json, b2);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(b2.logs()[0].attributes[0].value.AsBytes().size(), 2u);
  std::string enc = EncodeLogs(b.logs(), event::KeyTable::Global());
  event::Batch b3(nullptr, 4096, 1 << 20);
  ASSERT_TRUE(Decode(Signal::kLogs, Encoding::kProtobuf, enc, b3).ok());
  EXPECT_EQ(b3.logs()[0].body.AsString(), "disk full");
}

TEST(OtlpResponseTest, PartialSuccessRoundTrips) {
  EXPECT_EQ(EncodeResponse(Signal::kTraces, Encoding::kProtobuf, 0, ""), "");
  EXPECT_EQ(EncodeResponse(Signal::kTraces, Encoding::kJson, 0, ""), "{}");
  std::string pb = EncodeResponse(Signal::kTraces, Encoding::kProtobuf, 5, "dropped");
  auto r = DecodeResponse(Signal::kTraces, pb);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rejected, 5);
  EXPECT_EQ(r->error_message, "dropped");
  EXPECT_EQ(EncodeResponse(Signal::kMetrics, Encoding::kJson, 2, "x\"y"),
            R"({"partialSuccess":{"rejectedDataPoints":"2","errorMessage":"x\"y"}})");
}

TEST(OtlpRpcStatusTest, RetryInfoDetailsAreTheProtobufTheSpecNames) {
  // google.rpc.Status{code: 14, message: "x", details: [Any{type_url: ".../RetryInfo",
  // value: RetryInfo{retry_delay: Duration{seconds: 1, nanos: 500000000}}}]}, byte by byte.
  const std::string want =
      "\x08\x0e\x12\x01x\x1a\x36\x0a\x28type.googleapis.com/google.rpc.RetryInfo"
      "\x12\x0a\x0a\x08\x08\x01\x10\x80\xca\xb5\xee\x01";
  const std::string got = EncodeRpcStatusWithRetry(14, "x", 1500000000);
  EXPECT_EQ(got, want);
  auto back = DecodeRpcStatus(got);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->code, 14);
  EXPECT_EQ(back->message, "x");
  EXPECT_EQ(back->retry_delay_ns, std::optional<uint64_t>(1500000000));
  // Without details: no delay. Truncated or with a bad duration: an error, not a guess.
  auto plain = DecodeRpcStatus(EncodeRpcStatus(Encoding::kProtobuf, 8, "slow down"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->code, 8);
  EXPECT_EQ(plain->retry_delay_ns, std::nullopt);
  EXPECT_FALSE(DecodeRpcStatus(got.substr(0, got.size() - 1)).ok());
  std::string bad_nanos = EncodeRpcStatusWithRetry(14, "x", 1500000000);
  bad_nanos.back() = '\x0f';  // nanos now above 4e9: not a valid Duration
  EXPECT_FALSE(DecodeRpcStatus(bad_nanos).ok());
}

}  // namespace
}  // namespace strobed::otlp
