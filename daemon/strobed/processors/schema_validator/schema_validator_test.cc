#include "strobed/processors/schema_validator/schema_validator.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>

#include "strobed/base/clock.h"
#include "strobed/pipeline/testing.h"
#include "strobed/semconv/testing.h"

namespace strobed::processors {
namespace {

using event::Value;

#define STROBE_REQUIRE_MODEL(dir)                                               \
  std::string dir = semconv::SharedModelDirForTest();                           \
  if (dir.empty()) {                                                            \
    if (semconv::RunningInCi()) FAIL() << "../shared/semconv/model not found";  \
    GTEST_SKIP() << "../shared/semconv/model not found; set STROBE_SHARED_DIR"; \
  }

pipeline::testing::SpanSpec Named(std::string_view name) {
  pipeline::testing::SpanSpec spec;
  spec.name = name;
  return spec;
}

const semconv::Registry& Model(const std::string& dir) {
  static const semconv::Registry* reg = [&] {
    auto r = semconv::LoadRegistry(dir);
    EXPECT_TRUE(r.ok());
    return new semconv::Registry(std::move(r).value());
  }();
  return *reg;
}

class SchemaValidatorTest : public ::testing::Test {
 protected:
  std::unique_ptr<SchemaValidator> Make(const std::string& dir, SchemaValidatorOptions o = {}) {
    return std::make_unique<SchemaValidator>(Model(dir), event::KeyTable::Global(), o, &wall_);
  }

  // A span in `batch_` with `attrs` (keys interned, strings copied into the arena).
  event::Span& Span(std::string_view name, event::SpanKind kind,
                    std::initializer_list<std::pair<std::string_view, Value>> attrs) {
    event::Span& s = pipeline::testing::AddSpan(*batch_, Named(name));
    s.kind = kind;
    s.attributes = Attrs(attrs);
    return s;
  }

  std::span<const event::Attribute> Attrs(
      std::initializer_list<std::pair<std::string_view, Value>> attrs) {
    auto* out = batch_->arena().AllocateArray<event::Attribute>(attrs.size());
    std::size_t i = 0;
    for (const auto& [k, v] : attrs) {
      Value value = v;
      if (v.type() == event::ValueType::kString) {
        value = Value::String(batch_->arena().CopyString(v.AsString()));
      }
      out[i++] = {*event::KeyTable::Global().Intern(k), value};
    }
    return {out, attrs.size()};
  }

  static Value S(std::string_view s) { return Value::String(s); }

  base::ManualWallClock wall_{1'700'000'000'000'000'000};
  base::ManualMonotonicClock clock_;
  event::BatchPool pool_;
  event::BatchPtr batch_ = pool_.Acquire();
};

// An HTTP server span with the current names, ten attributes, validates clean.
TEST_F(SchemaValidatorTest, CurrentHttpServerSpanIsClean) {
  STROBE_REQUIRE_MODEL(dir);
  auto v = Make(dir);
  const event::Span& s = Span("GET /users/:id", event::SpanKind::kServer,
                              {{"http.request.method", S("GET")},
                               {"url.path", S("/users/7")},
                               {"url.scheme", S("https")},
                               {"http.route", S("/users/:id")},
                               {"http.response.status_code", Value::Int(200)},
                               {"server.address", S("api.example.com")},
                               {"server.port", Value::Int(443)},
                               {"network.protocol.version", S("1.1")},
                               {"client.address", S("10.0.0.1")},
                               {"user_agent.original", S("curl/8")}});
  EXPECT_EQ(v->CheckSpan(s, 1), 0u);
  std::string json = v->StatsJson();
  EXPECT_NE(json.find("\"matched\":{\"spans\":1,\"metrics\":0,\"logs\":0}"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"invalid\":{\"spans\":0,"), std::string::npos) << json;
}

TEST_F(SchemaValidatorTest, EachRuleHasAViolatingAndACleanCase) {
  STROBE_REQUIRE_MODEL(dir);
  auto v = Make(dir);
  // missing_required: a server span without url.path and url.scheme (both required).
  EXPECT_EQ(
      v->CheckSpan(Span("GET", event::SpanKind::kServer, {{"http.request.method", S("GET")}}), 1),
      2u);
  EXPECT_EQ(v->violations(SchemaRule::kMissingRequired), 2u);
  EXPECT_EQ(v->attribute_violations("url.path"), 1u);
  EXPECT_EQ(v->attribute_violations("url.scheme"), 1u);
  // A client span's required set differs: url.full, server.address, server.port.
  EXPECT_EQ(v->CheckSpan(Span("GET", event::SpanKind::kClient,
                              {{"http.request.method", S("GET")},
                               {"url.full", S("https://x/")},
                               {"server.address", S("x")},
                               {"server.port", Value::Int(443)}}),
                         1),
            0u);
  EXPECT_EQ(v->CheckSpan(Span("GET", event::SpanKind::kClient,
                              {{"http.request.method", S("GET")}, {"server.port", Value::Int(1)}}),
                         1),
            2u);  // url.full, server.address
  EXPECT_EQ(v->violations(SchemaRule::kMissingRequired), 4u);

  // wrong_type: the status code as a string; an int is right.
  EXPECT_EQ(
      v->CheckSpan(Span("x", event::SpanKind::kInternal, {{"http.response.status_code", S("200")}}),
                   1),
      1u);
  EXPECT_EQ(v->CheckSpan(Span("x", event::SpanKind::kInternal,
                              {{"http.response.status_code", Value::Int(200)}}),
                         1),
            0u);
  EXPECT_EQ(v->violations(SchemaRule::kWrongType), 1u);

  // enum_value: FOO is no HTTP method; _OTHER is the member for custom methods.
  EXPECT_EQ(
      v->CheckSpan(Span("x", event::SpanKind::kInternal, {{"http.request.method", S("FOO")}}), 1),
      1u);
  EXPECT_EQ(v->CheckSpan(
                Span("x", event::SpanKind::kInternal, {{"http.request.method", S("_OTHER")}}), 1),
            0u);
  EXPECT_EQ(v->violations(SchemaRule::kEnumValue), 1u);

  // deprecated: http.method, reported with its replacement.
  EXPECT_EQ(v->CheckSpan(Span("x", event::SpanKind::kInternal, {{"http.method", S("GET")}}), 1),
            1u);
  EXPECT_EQ(v->violations(SchemaRule::kDeprecated), 1u);
  EXPECT_EQ(v->attribute_violations("http.method"), 1u);

  // unknown_attribute: inside the http namespace yes, outside any registry namespace no, and a
  // template key (http.request.header.<name>) is known.
  EXPECT_EQ(v->CheckSpan(Span("x", event::SpanKind::kInternal,
                              {{"http.colour", S("red")},
                               {"myapp.tenant", S("a")},
                               {"plain", S("b")},
                               {"http.request.header.x-id", Value::Array({})}}),
                         1),
            1u);
  EXPECT_EQ(v->violations(SchemaRule::kUnknownAttribute), 1u);
  // Template type: the header value must be a string array.
  EXPECT_EQ(v->CheckSpan(
                Span("x", event::SpanKind::kInternal, {{"http.request.header.x-id", S("1")}}), 1),
            1u);
  EXPECT_EQ(v->violations(SchemaRule::kWrongType), 2u);
  EXPECT_EQ(v->attribute_violations("http.request.header"), 1u);

  // Metric instrument and unit: http.server.request.duration is a histogram in seconds.
  event::MetricPoint& good =
      pipeline::testing::AddGauge(*batch_, "http.server.request.duration", 1);
  good.type = event::MetricType::kHistogram;
  good.unit = "s";
  good.labels = Attrs({{"http.request.method", S("GET")}, {"url.scheme", S("https")}});
  EXPECT_EQ(v->CheckMetric(good, 1), 0u);
  event::MetricPoint& bad = pipeline::testing::AddGauge(*batch_, "http.server.request.duration", 1);
  bad.unit = "ms";
  bad.labels = Attrs({{"http.request.method", S("GET")}});
  EXPECT_EQ(v->CheckMetric(bad, 1), 3u);  // gauge, ms, url.scheme missing
  EXPECT_EQ(v->violations(SchemaRule::kMetricInstrument), 1u);
  EXPECT_EQ(v->violations(SchemaRule::kMetricUnit), 1u);
  EXPECT_EQ(v->violations(SchemaRule::kMissingRequired), 5u);

  // A log event: exception.type must be a string.
  event::LogRecord& log = pipeline::testing::AddLog(*batch_, "boom");
  log.event_name = "exception";
  log.attributes = Attrs({{"exception.type", S("java.io.IOException")}});
  EXPECT_EQ(v->CheckLog(log, 1), 0u);
  log.attributes = Attrs({{"exception.type", Value::Int(5)}});
  EXPECT_EQ(v->CheckLog(log, 1), 1u);
  EXPECT_EQ(v->violations(SchemaRule::kWrongType), 3u);

  v->PublishForTest();
  std::string json = v->StatsJson();
  EXPECT_NE(json.find("\"validated\":{\"spans\":10,\"metrics\":2,\"logs\":2}"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"invalid\":{\"spans\":7,\"metrics\":1,\"logs\":1}"), std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"attribute\":\"http.method\",\"violations\":1,\"renamed_to\":"
                      "\"http.request.method\"}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"name\":\"http.colour\",\"count\":1"), std::string::npos) << json;
}

TEST_F(SchemaValidatorTest, OptionsChangeWhatIsReported) {
  STROBE_REQUIRE_MODEL(dir);
  auto all = Make(dir, {.unknown_attributes = UnknownAttributePolicy::kAll});
  auto off = Make(dir, {.unknown_attributes = UnknownAttributePolicy::kOff, .strict_enums = false});
  const event::Span& s = Span(
      "x", event::SpanKind::kInternal,
      {{"http.colour", S("red")}, {"myapp.tenant", S("a")}, {"http.request.method", S("FOO")}});
  EXPECT_EQ(all->CheckSpan(s, 1), 3u);  // two unknown keys, one enum value
  EXPECT_EQ(off->CheckSpan(s, 1), 0u);
  // The explicit group attribute picks the group whatever the kind.
  auto v = Make(dir);
  EXPECT_EQ(v->CheckSpan(Span("x", event::SpanKind::kInternal,
                              {{"strobe.schema.group", S("span.http.client")},
                               {"http.request.method", S("GET")}}),
                         1),
            3u);  // url.full, server.address, server.port
}

TEST_F(SchemaValidatorTest, DeprecatedNamesOfAnOldInstrumentation) {
  STROBE_REQUIRE_MODEL(dir);
  auto v = Make(dir);
  // What older HTTP instrumentations send: every name is a deprecated one.
  EXPECT_EQ(v->CheckSpan(Span("GET", event::SpanKind::kServer,
                              {{"http.method", S("GET")},
                               {"http.scheme", S("https")},
                               {"http.target", S("/x")},
                               {"http.status_code", Value::Int(200)}}),
                         1),
            7u);  // 4 deprecated, 3 required missing (method, path, scheme)
  EXPECT_EQ(v->violations(SchemaRule::kDeprecated), 4u);
  EXPECT_EQ(v->violations(SchemaRule::kMissingRequired), 3u);
  EXPECT_EQ(v->attribute_violations("http.request.method"), 1u);
}

TEST_F(SchemaValidatorTest, ModesCountAnnotateDrop) {
  STROBE_REQUIRE_MODEL(dir);
  pipeline::testing::RecordingContext ctx(clock_);
  Span("ok", event::SpanKind::kInternal, {{"http.request.method", S("GET")}});
  Span("bad", event::SpanKind::kInternal, {{"http.method", S("GET")}, {"http.colour", S("r")}});
  event::BatchPtr copy = pool_.Acquire();
  pipeline::testing::AddSpan(*copy, Named("bad2")).attributes = batch_->spans()[1].attributes;
  copy->HoldIdsOf(*batch_);

  auto annotate = Make(dir, {.mode = SchemaMode::kAnnotate});
  annotate->Process(std::move(batch_), ctx);
  ASSERT_EQ(ctx.emitted.size(), 1u);
  const event::Batch& out = *ctx.emitted[0];
  ASSERT_EQ(out.spans().size(), 2u);
  EXPECT_EQ(out.spans()[0].attributes.size(), 1u);
  ASSERT_EQ(out.spans()[1].attributes.size(), 3u);
  auto key = event::KeyTable::Global().Find("strobe.schema.violations");
  ASSERT_TRUE(key.has_value());
  const Value* note = event::FindAttribute(out.spans()[1].attributes, *key);
  ASSERT_NE(note, nullptr);
  EXPECT_EQ(note->AsString(), "deprecated:http.method;unknown_attribute:http.colour");

  auto drop = Make(dir, {.mode = SchemaMode::kDrop});
  pipeline::testing::AddSpan(*copy, Named("fine"));
  drop->Process(std::move(copy), ctx);
  ASSERT_EQ(ctx.emitted.size(), 2u);
  ASSERT_EQ(ctx.emitted[1]->spans().size(), 1u);
  EXPECT_EQ(ctx.emitted[1]->spans()[0].name, "fine");
  EXPECT_EQ(ctx.Dropped(pipeline::DropReason::kInvalid), 1u);
}

TEST_F(SchemaValidatorTest, TopKIsBoundedAndKeepsTheHeavyHitters) {
  STROBE_REQUIRE_MODEL(dir);
  auto v = Make(dir, {.top_k = 2});
  auto bad = [&](std::string_view name, int n) {
    for (int i = 0; i < n; ++i) {
      v->CheckSpan(Span(name, event::SpanKind::kInternal, {{"http.method", S("GET")}}), 7);
    }
  };
  bad("a", 5);
  bad("b", 3);
  bad("c", 1);  // replaces b (the smallest), inheriting its count as the error bound
  bad("a", 1);
  v->PublishForTest();
  std::string json = v->StatsJson();
  EXPECT_NE(json.find("\"top_k\":2,\"top_violating\":[{\"signal\":\"spans\",\"name\":\"a\","
                      "\"count\":6,\"count_error\":0,\"first_seen_unix_ns\":7,"
                      "\"last_seen_unix_ns\":7,\"last_rule\":\"deprecated\",\"example_attribute\":"
                      "\"http.method\",\"example_value\":\"GET\"},{\"signal\":\"spans\",\"name\":"
                      "\"c\",\"count\":4,\"count_error\":3,"),
            std::string::npos)
      << json;
  TopKSketch k(3);
  for (int i = 0; i < 1000; ++i) k.Add("n" + std::to_string(i % 10), 1, 0);
  EXPECT_EQ(k.size(), 3u);
}

TEST_F(SchemaValidatorTest, StatsAreExported) {
  STROBE_REQUIRE_MODEL(dir);
  auto v = Make(dir);
  pipeline::testing::RecordingContext ctx(clock_);
  Span("GET /", event::SpanKind::kServer, {{"http.method", S("GET")}});
  v->Process(std::move(batch_), ctx);
  double deprecated = -1;
  double top = -1;
  double attr = -1;
  for (const pipeline::ProcessorStat& s : v->Stats()) {
    if (s.name == "schema_violations_total" && s.label_value == "deprecated") deprecated = s.value;
    if (s.name == "schema_top_violating_span_violations" && s.label_value == "GET /") top = s.value;
    if (s.name == "schema_attribute_violations_total" && s.label_value == "url.path") {
      attr = s.value;
    }
  }
  EXPECT_EQ(deprecated, 1);
  EXPECT_EQ(top, 1);  // published at the end of Process (no reader held the lock)
  EXPECT_EQ(attr, 1);
}

}  // namespace
}  // namespace strobed::processors
