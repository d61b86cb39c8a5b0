#include "strobed/stream/watermark.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/clock.h"
#include "strobed/event/batch.h"
#include "strobed/stream/engine.h"
#include "strobed/stream/stream_metrics.h"
#include "strobed/stream/window.h"

namespace strobed::stream {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kBase = 1'700'000'000 * kSec;  // a round second in 2023

WatermarkOptions Options(uint64_t lateness, uint64_t idle, uint64_t source_idle,
                         std::size_t max_sources = 1000) {
  WatermarkOptions o;
  o.allowed_lateness_ns = lateness;
  o.idle_timeout_ns = idle;
  o.source_idle_timeout_ns = source_idle;
  o.max_sources = max_sources;
  return o;
}

TEST(SourceKeysTest, IdentifiesResourcesByServiceInstanceHostAndPid) {
  event::KeyTable keys(64);
  const SourceKeys sk = SourceKeys::Intern(keys);
  const event::KeyId service = *keys.Intern("service.name");
  const event::KeyId instance = *keys.Intern("service.instance.id");
  const event::KeyId host = *keys.Intern("host.name");
  const event::KeyId pid = *keys.Intern("process.pid");
  const event::KeyId other = *keys.Intern("deployment.environment");
  const std::vector<event::Attribute> a = {{service, event::Value::String("a")}};
  const std::vector<event::Attribute> a_again = {{other, event::Value::String("x")},
                                                 {service, event::Value::String("a")}};
  const std::vector<event::Attribute> a_1 = {{service, event::Value::String("a")},
                                             {instance, event::Value::String("1")}};
  const std::vector<event::Attribute> host_a = {{host, event::Value::String("a")}};
  const std::vector<event::Attribute> pid_7 = {{pid, event::Value::Int(7)}};
  const std::vector<event::Attribute> pid_8 = {{pid, event::Value::Int(8)}};
  const std::vector<event::Attribute> unrelated = {{other, event::Value::String("x")}};
  EXPECT_EQ(sk.Of({}), kNoSource);
  EXPECT_EQ(sk.Of(unrelated), kNoSource);
  EXPECT_NE(sk.Of(a), kNoSource);
  EXPECT_EQ(sk.Of(a), sk.Of(a_again));  // attributes outside the identity do not matter
  EXPECT_NE(sk.Of(a), sk.Of(a_1));
  EXPECT_NE(sk.Of(a), sk.Of(host_a));  // same value under another key
  EXPECT_NE(sk.Of(pid_7), sk.Of(pid_8));
  EXPECT_NE(sk.Of(pid_7), kNoSource);
}

TEST(WatermarkTest, MonotonicAndLateness) {
  Watermark w(Options(2 * kSec, 0, 30 * kSec));
  EXPECT_EQ(w.Current(kBase), 0u);
  w.Observe(1, kBase + 10 * kSec, kBase + 10 * kSec);
  EXPECT_EQ(w.Current(kBase + 10 * kSec), kBase + 8 * kSec);
  w.Observe(1, kBase + 5 * kSec, kBase + 11 * kSec);  // out of order: no regression
  EXPECT_EQ(w.Current(kBase + 11 * kSec), kBase + 8 * kSec);
}

TEST(WatermarkTest, FutureSourceMovesOnlyItsOwnProgress) {
  Watermark w(Options(2 * kSec, 0, 30 * kSec));
  EXPECT_EQ(w.Current(kBase), 0u);
  w.Observe(/*source=*/1, kBase + 30 * kSec, kBase);  // 30 s ahead, alone
  EXPECT_EQ(w.Current(kBase), kBase - 2 * kSec);      // capped at the wall clock
  EXPECT_EQ(w.Current(kBase + kSec), kBase - kSec);
  // An on-time source that lags the wall clock by 1.5 s holds the watermark at its progress.
  w.Observe(2, kBase + 500'000'000, kBase + 2 * kSec);
  EXPECT_EQ(w.Current(kBase + 2 * kSec), kBase - kSec);  // never backwards
  w.Observe(2, kBase + 3 * kSec, kBase + 4 * kSec + 500'000'000);
  EXPECT_EQ(w.Current(kBase + 4 * kSec + 500'000'000), kBase + kSec);
  EXPECT_EQ(w.sources(), 2u);
  EXPECT_EQ(w.evictions(), 0u);
}

TEST(WatermarkTest, QuietSourceStopsHoldingBackAfterSourceIdleTimeout) {
  Watermark w(Options(0, 0, 5 * kSec));
  w.Observe(1, kBase, kBase);  // source 1 sends once and goes quiet
  for (uint64_t s = 0; s <= 4; ++s) w.Observe(2, kBase + s * kSec, kBase + s * kSec);
  // 4 s after source 1's last item it still holds the watermark at its event time.
  EXPECT_EQ(w.Current(kBase + 4 * kSec), kBase);
  for (uint64_t s = 5; s <= 10; ++s) w.Observe(2, kBase + s * kSec, kBase + s * kSec);
  // From 5 s on it no longer counts: the watermark is source 2's progress.
  EXPECT_EQ(w.Current(kBase + 10 * kSec), kBase + 10 * kSec);
  // Source 1 is still tracked; when it sends again it counts again (but the watermark never
  // goes back).
  EXPECT_EQ(w.sources(), 2u);
  w.Observe(1, kBase + 9 * kSec, kBase + 11 * kSec);
  w.Observe(2, kBase + 11 * kSec, kBase + 11 * kSec);
  EXPECT_EQ(w.Current(kBase + 11 * kSec), kBase + 10 * kSec);
  w.Observe(1, kBase + 12 * kSec, kBase + 12 * kSec);
  w.Observe(2, kBase + 12 * kSec, kBase + 12 * kSec);
  EXPECT_EQ(w.Current(kBase + 12 * kSec), kBase + 12 * kSec);
}

TEST(WatermarkTest, IdleTimeoutMovesAQuietSourceWithWallTime) {
  Watermark w(Options(kSec, 3 * kSec, 30 * kSec));
  w.Observe(1, kBase, kBase);
  w.Observe(2, kBase + 20 * kSec, kBase);  // 20 s ahead
  EXPECT_EQ(w.Current(kBase + 2 * kSec), kBase - kSec);
  // Both quiet for 3 s: each moves on with wall time; the slower one still rules.
  EXPECT_EQ(w.Current(kBase + 3 * kSec), kBase + 2 * kSec);
  EXPECT_EQ(w.Current(kBase + 10 * kSec), kBase + 9 * kSec);
  // Every source silent longer than source_idle_timeout: all still count (windows close).
  EXPECT_EQ(w.Current(kBase + 40 * kSec), kBase + 39 * kSec);
}

TEST(WatermarkTest, ALaggingSourceHoldsOthersBackAtMostMaxSourceLag) {
  WatermarkOptions o = Options(0, 0, 30 * kSec);
  o.max_source_lag_ns = 60 * kSec;
  const uint64_t now = kBase + 1000 * kSec;
  Watermark behind_20s(o);
  behind_20s.Observe(1, now - 20 * kSec, now);  // 20 s behind: waited for
  behind_20s.Observe(2, now, now);
  EXPECT_EQ(behind_20s.Current(now), now - 20 * kSec);
  Watermark behind_90s(o);
  behind_90s.Observe(1, now - 90 * kSec, now);  // 90 s behind: waited for 60 s only
  behind_90s.Observe(2, now, now);
  EXPECT_EQ(behind_90s.Current(now), now - 60 * kSec);
  // Alone, a source replaying old data is not lagging anyone: the watermark is its progress.
  Watermark replay(o);
  replay.Observe(1, kBase, now);
  EXPECT_EQ(replay.Current(now), kBase);
}

TEST(WatermarkTest, SourceBoundEvictsTheStalestAndCountsIt) {
  Watermark w(Options(0, 0, 100 * kSec, /*max_sources=*/2));
  w.Observe(1, kBase, kBase + 10 * kSec);  // stalest
  w.Observe(2, kBase + 5 * kSec, kBase + 11 * kSec);
  EXPECT_EQ(w.Current(kBase + 11 * kSec), kBase);     // source 1 holds it
  w.Observe(3, kBase + 6 * kSec, kBase + 12 * kSec);  // evicts source 1
  EXPECT_EQ(w.sources(), 2u);
  EXPECT_EQ(w.evictions(), 1u);
  EXPECT_EQ(w.Current(kBase + 12 * kSec), kBase + 5 * kSec);  // min of sources 2 and 3
  w.Observe(1, kBase + 7 * kSec, kBase + 13 * kSec);          // back: evicts source 2
  EXPECT_EQ(w.evictions(), 2u);
  EXPECT_EQ(w.sources(), 2u);
  EXPECT_EQ(w.Current(kBase + 13 * kSec), kBase + 6 * kSec);
}

// Windows: a source 30 s ahead does not make another source's on-time items late; without
// per-source tracking (both items from one source) the same input loses the on-time items.
class WindowSourcesTest : public ::testing::Test {
 protected:
  class Count : public ResultSink {
   public:
    void OnWindow(const WindowResult& r) override {
      counts[r.labels[0]] += static_cast<double>(r.state->count());
    }
    std::map<std::string, double> counts;
  };
  WindowSpec Spec() {
    WindowSpec s;
    s.name = "w";
    s.size_ns = kSec;
    s.slide_ns = kSec;
    s.allowed_lateness_ns = 0;
    s.idle_timeout_ns = 0;
    s.max_future_ns = 60 * kSec;  // let the future source in: the watermark must cope
    s.group_by = {"service.name"};
    s.group_keys = {*keys_.Intern("service.name")};
    return s;
  }
  Item At(uint64_t t, const char* service) {
    attrs_.push_back(
        {event::Attribute{*keys_.Intern("service.name"), event::Value::String(service)}});
    Item it;
    it.name = "op";
    it.time_ns = t;
    it.attributes = attrs_.back();
    return it;
  }
  // On-time items of "a" every 100 ms for 5 s, one item of "b" 30 s ahead first; Advance after
  // every item (the worst case for lateness). Returns (a's windowed count, late).
  std::pair<double, uint64_t> Run(SourceId a, SourceId b) {
    WindowSpec spec = Spec();
    Count sink;
    WindowOperator op(spec, sink);
    EXPECT_TRUE(op.Add(At(kBase + 30 * kSec, "b"), kBase, b));
    op.Advance(kBase);
    for (uint64_t i = 0; i < 50; ++i) {
      const uint64_t t = kBase + i * 100'000'000;
      op.Add(At(t, "a"), t, a);
      op.Add(At(t + 30 * kSec, "b"), t, b);
      op.Advance(t);
    }
    op.FlushAll();
    return {sink.counts["a"], op.stats().late.load()};
  }
  event::KeyTable keys_{64};
  std::vector<std::vector<event::Attribute>> attrs_;
};

TEST_F(WindowSourcesTest, FutureSourceDoesNotMakeOnTimeDataLate) {
  const auto [counted, late] = Run(/*a=*/1, /*b=*/2);
  EXPECT_EQ(counted, 50);
  EXPECT_EQ(late, 0u);
}

// A source whose items arrive 3 s after their event time (allowed lateness 0) beside an on-time
// one: with its own watermark it holds the windows open and loses nothing; folded into the
// on-time source's watermark its items are all late.
TEST_F(WindowSourcesTest, LaggingSourceHoldsTheWatermarkInsteadOfLosingData) {
  auto run = [&](SourceId lagging, SourceId on_time) {
    WindowSpec spec = Spec();
    Count sink;
    WindowOperator op(spec, sink);
    for (uint64_t i = 0; i < 50; ++i) {
      const uint64_t wall = kBase + 3 * kSec + i * 100'000'000;
      op.Add(At(wall - 3 * kSec, "lag"), wall, lagging);
      op.Add(At(wall, "now"), wall, on_time);
      op.Advance(wall);
    }
    op.FlushAll();
    return std::tuple{sink.counts["lag"], sink.counts["now"], op.stats().late.load()};
  };
  EXPECT_EQ(run(1, 2), std::tuple(50.0, 50.0, uint64_t{0}));
  const auto [lag, now, late] = run(1, 1);
  EXPECT_EQ(now, 50);
  EXPECT_EQ(lag + static_cast<double>(late), 50);
  EXPECT_GE(late, 40u);  // all but the items that arrived before the first window closed
}

TEST_F(WindowSourcesTest, ItemsBeyondMaxFutureAreRefusedAndCountedByWeight) {
  WindowSpec spec = Spec();
  spec.max_future_ns = 5 * kSec;
  Count sink;
  WindowOperator op(spec, sink);
  Item far = At(kBase + 5 * kSec + 1, "b");
  far.weight = 3;
  EXPECT_FALSE(op.Add(far, kBase, 2));
  EXPECT_TRUE(op.Add(At(kBase + 5 * kSec, "b"), kBase, 2));  // exactly max_future: accepted
  EXPECT_EQ(op.stats().dropped_future.load(), 3u);
  EXPECT_EQ(op.stats().accepted.load(), 1u);
  EXPECT_EQ(op.watermark().sources(), 1u);  // the refused item did not register its source
}

TEST(WindowSpecDefaultsTest, MaxFutureIsTight) {
  const WindowSpec spec;
  EXPECT_EQ(spec.max_future_ns, 5 * kSec);
  EXPECT_EQ(spec.source_idle_timeout_ns, 30 * kSec);
  EXPECT_EQ(spec.max_sources, 1000u);
  EXPECT_EQ(spec.max_source_lag_ns, 60 * kSec);
}

// The engine derives sources from resources and drives time from its injected clock.
TEST(EngineSourcesTest, OnTimeSenderIsCountedExactlyBesideAFutureSender) {
  event::KeyTable keys(1024);
  base::ManualWallClock clock(kBase);
  auto engine = StreamEngine::Create(YAML::Load(R"(windows:
  - name: w
    size: 1s
    group_by: [service.name]
    aggregations: [count]
    max_future: 1m
    source_idle_timeout: 10s
    max_sources: 4
)"),
                                     "t.yaml", keys, clock);
  ASSERT_TRUE(engine->config_errors().empty()) << engine->config_errors()[0].message();
  const event::KeyId service = *keys.Intern("service.name");
  std::vector<event::Attribute> res_a = {{service, event::Value::String("a")}};
  std::vector<event::Attribute> res_b = {{service, event::Value::String("b")}};
  event::Resource ra, rb;
  ra.attributes = res_a;
  rb.attributes = res_b;
  auto send = [&](const event::Resource& r, uint64_t end_ns, int n) {
    event::Batch b(nullptr, 4096, 1 << 20);
    for (int i = 0; i < n; ++i) {
      event::Span& s = b.AddSpan();
      s.name = "op";
      s.start_ns = end_ns - 1000;
      s.end_ns = end_ns;
      s.resource = &r;
    }
    engine->Consume(b);
  };
  send(rb, kBase + 30 * kSec, 5);  // b is 30 s ahead, and first
  engine->Tick();
  for (int i = 0; i < 30; ++i) {  // a: 4 spans every 100 ms for 3 s, stamped "now"
    send(ra, clock.NowUnixNs(), 4);
    send(rb, clock.NowUnixNs() + 30 * kSec, 1);
    clock.AdvanceNs(100'000'000);
    engine->Tick();
  }
  engine->FlushAll();
  const WindowOperator& op = engine->window(0);
  EXPECT_EQ(op.stats().late.load(), 0u);
  EXPECT_EQ(op.stats().accepted.load(), 120u + 35u);
  EXPECT_EQ(op.watermark().sources(), 2u);
  double a_count = 0;
  const std::string events = engine->EventsJson("window");
  // Sum the counts of a's windows from the published events.
  for (std::size_t pos = 0;
       (pos = events.find("{\"service.name\":\"a\"}", pos)) != std::string::npos; ++pos) {
    const std::size_t v = events.find("\"count\":", pos);
    a_count += std::stod(events.substr(v + 8));
  }
  EXPECT_EQ(a_count, 120);
}

TEST(EngineSourcesTest, SourceBoundAndEvictionsOnMetrics) {
  event::KeyTable keys(1024);
  base::ManualWallClock clock(kBase);
  auto engine = StreamEngine::Create(YAML::Load(R"(windows:
  - {name: w, size: 1s, aggregations: [count], max_sources: 4}
)"),
                                     "t.yaml", keys, clock);
  ASSERT_TRUE(engine->config_errors().empty());
  strobe::metrics::Registry registry;
  ASSERT_TRUE(RegisterStreamMetrics(registry, *engine).ok());
  const event::KeyId instance = *keys.Intern("service.instance.id");
  // Six instances of one service, one span each: four tracked, two evictions.
  std::vector<std::string> ids = {"i0", "i1", "i2", "i3", "i4", "i5"};
  std::vector<std::vector<event::Attribute>> attrs;
  for (const std::string& id : ids) attrs.push_back({{instance, event::Value::String(id)}});
  std::vector<event::Resource> resources(ids.size());
  event::Batch b(nullptr, 4096, 1 << 20);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    resources[i].attributes = attrs[i];
    event::Span& s = b.AddSpan();
    s.name = "op";
    s.start_ns = kBase - 1000;
    s.end_ns = kBase - 1000 + i;
    s.resource = &resources[i];
  }
  engine->Consume(b);
  clock.AdvanceNs(kSec / 2);
  engine->Tick();
  const std::string prom =
      strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(prom.find("strobe_stream_watermark_sources{window=\"w\"} 4\n"), std::string::npos)
      << prom;
  EXPECT_NE(prom.find("strobe_stream_watermark_sources_evicted_total{window=\"w\"} 2\n"),
            std::string::npos)
      << prom;
  // Ties on the last item's wall time evict in table order (i0, then i3 which took its slot):
  // i1, i2, i4 and i5 remain, and the watermark is the oldest of them, i1's span end.
  EXPECT_NE(
      prom.find("strobe_stream_watermark_timestamp_seconds{window=\"w\"} 1699999999.999999\n"),
      std::string::npos)
      << prom;
  EXPECT_EQ(engine->window(0).stats().watermark_ns.load(), kBase - 999);
  EXPECT_EQ(engine->window(0).stats().accepted.load(), 6u);
}

TEST(EngineSourcesTest, WindowKeysForSourcesParseAndAreChecked) {
  event::KeyTable keys(1024);
  base::ManualWallClock clock(kBase);
  auto engine = StreamEngine::Create(YAML::Load(R"(windows:
  - {name: set, size: 1s, aggregations: [count], max_future: 2s, source_idle_timeout: 7s,
     max_sources: 3, max_source_lag: 2m}
  - {name: defaults, size: 10s, aggregations: [count]}
  - {name: zero_idle, size: 1s, aggregations: [count], source_idle_timeout: 0s}
  - {name: zero_sources, size: 1s, aggregations: [count], max_sources: 0}
)"),
                                     "t.yaml", keys, clock);
  ASSERT_EQ(engine->window_count(), 2u);
  const WindowSpec& set = engine->window(0).spec();
  EXPECT_EQ(set.max_future_ns, 2 * kSec);
  EXPECT_EQ(set.source_idle_timeout_ns, 7 * kSec);
  EXPECT_EQ(set.max_sources, 3u);
  EXPECT_EQ(set.max_source_lag_ns, 120 * kSec);
  const WindowSpec& defaults = engine->window(1).spec();
  EXPECT_EQ(defaults.max_future_ns, 5 * kSec);
  EXPECT_EQ(defaults.source_idle_timeout_ns, 30 * kSec);
  EXPECT_EQ(defaults.max_sources, 1000u);
  ASSERT_EQ(engine->config_errors().size(), 2u);
  EXPECT_EQ(engine->config_errors()[0].message(),
            "t.yaml:5: window 'zero_idle': source_idle_timeout must be > 0");
  EXPECT_EQ(engine->config_errors()[1].message(),
            "t.yaml:6: max_sources: expected a positive integer");
}

}  // namespace
}  // namespace strobed::stream
