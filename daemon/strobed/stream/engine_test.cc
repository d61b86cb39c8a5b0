#include "strobed/stream/engine.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/event/batch.h"
#include "strobed/stream/stream_metrics.h"

namespace strobed::stream {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kBase = 1'700'000'000 * kSec;

class EngineTest : public ::testing::Test {
 protected:
  std::unique_ptr<StreamEngine> Make(const std::string& yaml) {
    return StreamEngine::Create(YAML::Load(yaml), "strobe.yaml", keys_, clock_);
  }
  void AddSpan(event::Batch& b, const char* name, const char* service, uint64_t end_ns,
               double seconds, bool error = false) {
    auto* attrs = b.arena().AllocateArray<event::Attribute>(1);
    attrs[0] = {*keys_.Intern("service.name"), event::Value::String(service)};
    event::Span& s = b.AddSpan();
    s.name = name;
    s.end_ns = end_ns;
    s.start_ns = end_ns - static_cast<uint64_t>(seconds * 1e9);
    s.status.code = error ? event::StatusCode::kError : event::StatusCode::kOk;
    s.attributes = {attrs, 1};
  }
  event::KeyTable keys_{1024};
  base::ManualWallClock clock_{kBase};
};

TEST_F(EngineTest, BadEntriesReportedWithFileLineOthersRun) {
  auto e = Make(R"(windows:
  - name: good
    match: http.server.duration
    size: 1s
    group_by: [service.name]
    aggregations: [count, p99, error_rate]
  - name: bad_agg
    size: 1s
    aggregations: [count, p99, medianish]
  - name: bad_duration
    size: one second
  - name: bad_slide
    type: sliding
    size: 10s
    slide: 3s
anomaly:
  - name: lat
    window: good
    aggregation: p99
    detector: mad
  - name: nowin
    window: missing
    aggregation: p99
cep:
  - name: burst
    type: threshold
    match: {status: error}
    count: 2
    within: 10s
  - name: broken
    type: sequence
    first: a
)");
  EXPECT_EQ(e->window_count(), 1u);
  EXPECT_EQ(e->anomaly_count(), 1u);
  EXPECT_EQ(e->cep_count(), 1u);
  std::string all;
  for (const auto& s : e->config_errors()) all += s.message() + "\n";
  EXPECT_EQ(e->config_errors().size(), 5u) << all;
  EXPECT_NE(all.find("strobe.yaml:9: unknown aggregation 'medianish'"), std::string::npos) << all;
  EXPECT_NE(all.find("strobe.yaml:11: size:"), std::string::npos) << all;
  EXPECT_NE(all.find("strobe.yaml:15: window 'bad_slide': slide must divide size"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("strobe.yaml:22: anomaly 'nowin': unknown window 'missing'"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("strobe.yaml:30: cep rule 'broken': missing 'then'"), std::string::npos)
      << all;
}

TEST_F(EngineTest, MalformedEntryIsAnErrorNotAnException) {
  auto e = Make(R"(windows:
  - name: ok
    size: 1s
  - name: bad
    size: 1s
    ? {x: 1}
    : 2
)");
  EXPECT_EQ(e->window_count(), 1u);
  ASSERT_EQ(e->config_errors().size(), 1u);
  EXPECT_NE(e->config_errors()[0].message().find("strobe.yaml:4: malformed entry"),
            std::string::npos)
      << e->config_errors()[0].message();
}

TEST_F(EngineTest, BatchesBecomeSeriesEventsAndPrometheusText) {
  auto e = Make(R"(windows:
  - name: http
    match: http.server.duration
    size: 1s
    group_by: [service.name]
    aggregations: [count, rate, error_rate, p99]
cep:
  - name: errors
    type: threshold
    match: {status: error}
    count: 2
    within: 10s
    group_by: [service.name]
)");
  ASSERT_TRUE(e->config_errors().empty());
  // What the `stream` exporter does with each batch (exporters/stream).
  auto feed = [&e](const event::Batch& batch) {
    e->Consume(batch);
    e->Tick();
  };
  event::Batch b(nullptr, 4096, 1 << 20);
  for (int i = 0; i < 10; ++i) {
    AddSpan(b, "http.server.duration", "checkout", kBase + 100 + static_cast<uint64_t>(i),
            0.01 * (i + 1), i < 2);
  }
  AddSpan(b, "db.query", "checkout", kBase + 100, 5);  // not matched by the window
  feed(b);
  // The window is still open; the two errors matched the CEP rule once: its counter series.
  std::vector<Series> before = e->SnapshotSeries();
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].name, kCepMatches);
  EXPECT_EQ(before[0].source, "errors");
  EXPECT_EQ(before[0].window, "errors");
  ASSERT_EQ(before[0].labels.size(), 1u);
  EXPECT_EQ(before[0].labels[0],
            std::make_pair(std::string("service.name"), std::string("checkout")));
  EXPECT_EQ(before[0].value, 1);
  EXPECT_EQ(before[0].window_end_ns, kBase + 101);  // the second error's end time
  event::Batch b2(nullptr, 4096, 1 << 20);
  AddSpan(b2, "http.server.duration", "checkout", kBase + kSec + 5, 0.5);
  clock_.SetUnixNs(kBase + kSec + 5);  // the watermark never passes the wall clock
  feed(b2);
  auto series = e->SnapshotSeries();
  std::erase_if(series, [](const Series& s) { return s.name == kCepMatches; });
  ASSERT_EQ(series.size(), 4u);
  std::map<std::string, double> values;  // every aggregate exactly once
  for (const Series& s : series) {
    EXPECT_EQ(s.source, "http.server.duration");
    EXPECT_EQ(s.window, "http");
    ASSERT_EQ(s.labels.size(), 1u);
    EXPECT_EQ(s.labels[0].second, "checkout");
    EXPECT_TRUE(values.emplace(s.name, s.value).second) << s.name << " twice";
  }
  ASSERT_EQ(values.size(), 4u);
  ASSERT_EQ(values.count("count"), 1u);
  ASSERT_EQ(values.count("rate"), 1u);
  ASSERT_EQ(values.count("error_rate"), 1u);
  ASSERT_EQ(values.count("p99"), 1u);
  EXPECT_EQ(values["count"], 10);
  EXPECT_EQ(values["rate"], 10);
  EXPECT_DOUBLE_EQ(values["error_rate"], 0.2);
  EXPECT_NEAR(values["p99"], 0.1, 0.1 * 0.006);
  const std::string events = e->EventsJson();
  EXPECT_NE(events.find("\"type\":\"window\""), std::string::npos) << events;
  EXPECT_NE(events.find("\"type\":\"cep\",\"rule\":\"errors\""), std::string::npos) << events;
  EXPECT_EQ(e->EventsJson("cep").find("\"type\":\"window\""), std::string::npos);
  EXPECT_EQ(e->EventsJson("window").find("\"type\":\"cep\""), std::string::npos);
  EXPECT_NE(e->EventsJson("cep").find("\"type\":\"cep\""), std::string::npos);
  strobe::metrics::Registry registry;
  ASSERT_TRUE(RegisterStreamMetrics(registry, *e).ok());
  std::string prom =
      strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(prom.find("strobe_stream_p99{window=\"http\",service_name=\"checkout\"} 0.1"),
            std::string::npos)
      << prom;
  EXPECT_NE(prom.find("strobe_stream_events_total{window=\"http\"} 11"), std::string::npos) << prom;
  EXPECT_NE(
      prom.find("strobe_stream_cep_matches_total{rule=\"errors\",service_name=\"checkout\"} 1\n"),
      std::string::npos)
      << prom;
  // A late event is counted in the exposition, not silently lost.
  event::Batch late(nullptr, 4096, 1 << 20);
  AddSpan(late, "http.server.duration", "checkout", kBase + 1, 0.01);
  e->Consume(late);
  prom = strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(prom.find("strobe_stream_dropped_events_total{window=\"http\",reason=\"late\"} 1"),
            std::string::npos)
      << prom;
}

// Every match adds one to its rule's counter for its key; keys are separate series, bounded by
// the rule's max_keys; the counters survive series_ttl; a rule without matches shows 0.
TEST_F(EngineTest, CepMatchesCountPerRuleAndKey) {
  auto e = Make(R"(cep:
  - name: burst
    type: threshold
    match: {status: error}
    count: 2
    within: 10s
    group_by: [service.name]
    max_keys: 2
  - name: quiet
    type: threshold
    match: never.seen
    count: 1
)");
  ASSERT_TRUE(e->config_errors().empty());
  event::Batch b(nullptr, 4096, 1 << 20);
  // checkout: 5 errors → 2 matches (2+2, the fifth waits); cart: 2 errors → 1 match;
  // search: a third key beyond max_keys: 2 errors, no series.
  for (int i = 0; i < 5; ++i) AddSpan(b, "x", "checkout", kBase + 10 + i, 0.001, true);
  AddSpan(b, "x", "cart", kBase + 20, 0.001, true);
  AddSpan(b, "x", "cart", kBase + 21, 0.001, true);
  AddSpan(b, "x", "search", kBase + 30, 0.001, true);
  AddSpan(b, "x", "search", kBase + 31, 0.001, true);
  e->Consume(b);
  std::map<std::string, double> by_key;
  for (const Series& s : e->SnapshotSeries()) {
    ASSERT_EQ(s.name, kCepMatches);
    ASSERT_EQ(s.labels.size(), 1u);
    by_key[s.labels[0].second] = s.value;
  }
  EXPECT_EQ(by_key, (std::map<std::string, double>{{"checkout", 2}, {"cart", 1}}));
  strobe::metrics::Registry registry;
  ASSERT_TRUE(RegisterStreamMetrics(registry, *e).ok());
  const std::string prom =
      strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(prom.find("strobe_stream_cep_matches_total{rule=\"burst\",service_name=\"checkout\"} "
                      "2\n"),
            std::string::npos)
      << prom;
  EXPECT_NE(prom.find("strobe_stream_cep_matches_total{rule=\"burst\",service_name=\"cart\"} 1\n"),
            std::string::npos);
  // No match yet: 0, with the other rules' key labels empty (Prometheus: absent).
  EXPECT_NE(prom.find("strobe_stream_cep_matches_total{rule=\"quiet\",service_name=\"\"} 0\n"),
            std::string::npos);
  EXPECT_NE(prom.find("strobe_stream_cep_dropped_total{rule=\"burst\"} 2\n"), std::string::npos);
  // An hour later (past series_ttl and the GC period), the counters are still there.
  clock_.AdvanceNs(3600 * kSec);
  e->Tick();
  EXPECT_EQ(e->SnapshotSeries().size(), 2u);
}

TEST_F(EngineTest, AnomalyScoreBecomesSeriesAndEvent) {
  auto e = Make(R"(windows:
  - name: http
    match: http.server.duration
    size: 1s
    idle_timeout: 1s
    aggregations: [mean]
anomaly:
  - name: lat
    window: http
    aggregation: mean
    detector: ewma
    warmup: 10
    sensitivity: 4
)");
  ASSERT_TRUE(e->config_errors().empty());
  for (int w = 0; w < 30; ++w) {
    event::Batch b(nullptr, 4096, 1 << 20);
    const double latency = w == 25 ? 1.0 : 0.1 + 0.001 * (w % 3);
    AddSpan(b, "http.server.duration", "x", kBase + static_cast<uint64_t>(w) * kSec + 10, latency);
    e->Consume(b);
    clock_.AdvanceNs(kSec);
    e->Tick();
  }
  e->FlushAll();
  EXPECT_EQ(e->anomalies_detected(), 1u);
  bool score = false;
  for (const Series& s : e->SnapshotSeries()) score = score || s.name == "anomaly_score";
  EXPECT_TRUE(score);
  EXPECT_NE(e->EventsJson().find("\"type\":\"anomaly\""), std::string::npos);
}

TEST_F(EngineTest, SeriesLimitDropsAndCounts) {
  auto e = StreamEngine::Create(YAML::Load(R"(windows:
  - name: http
    size: 1s
    group_by: [service.name]
    aggregations: [count]
)"),
                                "s.yaml", keys_, clock_, nullptr, {.max_series = 2});
  event::Batch b(nullptr, 4096, 1 << 20);
  for (const char* s : {"a", "b", "c"}) AddSpan(b, "op", s, kBase + 10, 0.1);
  e->Consume(b);
  e->FlushAll();
  EXPECT_EQ(e->SnapshotSeries().size(), 2u);
  EXPECT_EQ(e->series_dropped(), 1u);
  // Series nobody updates are forgotten after series_ttl (15 min by default).
  clock_.AdvanceNs(14 * 60 * kSec);
  e->Tick();
  EXPECT_EQ(e->SnapshotSeries().size(), 2u);
  clock_.AdvanceNs(2 * 60 * kSec);
  e->Tick();
  EXPECT_TRUE(e->SnapshotSeries().empty());
}

}  // namespace
}  // namespace strobed::stream
