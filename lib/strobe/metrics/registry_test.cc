#include "strobe/metrics/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/internal/shard.h"
#include "strobe/metrics/timer.h"

namespace strobe::metrics {
namespace {

TEST(CounterTest, AddsFromSeveralThreads) {
  Registry r;
  Counter& c = *r.AddCounter({"jobs_total", "Jobs", ""}).value();
  c.Inc();
  c.Add(41);
  std::thread t([&] {
    for (int i = 0; i < 1000; ++i) c.Inc();
  });
  t.join();
  EXPECT_EQ(c.Value(), 1042u);
}

TEST(CounterTest, FloatCounterRejectsNegativeAndNaN) {
  Registry r;
  FloatCounter& c = *r.AddFloatCounter({"cpu_seconds_total", "CPU", "seconds"}).value();
  EXPECT_TRUE(c.Add(1.5));
  EXPECT_FALSE(c.Add(-1));
  EXPECT_FALSE(c.Add(std::nan("")));
  EXPECT_FALSE(c.Add(INFINITY));
  EXPECT_DOUBLE_EQ(c.Value(), 1.5);
}

TEST(CounterTest, UpDownCounterGoesNegative) {
  Registry r;
  UpDownCounter& c = *r.AddUpDownCounter({"inflight", "In flight", ""}).value();
  c.Inc();
  c.Add(-3);
  EXPECT_EQ(c.Value(), -2);
}

TEST(GaugeTest, SetAddSub) {
  Registry r;
  Gauge& g = *r.AddGauge({"temperature", "T", ""}).value();
  g.Set(10);
  g.Add(2.5);
  g.Sub(0.5);
  EXPECT_DOUBLE_EQ(g.Value(), 12);
}

TEST(RegistryTest, RejectsBadNamesWithClearErrors) {
  Registry r;
  auto bad = r.AddCounter({"1abc", "", ""});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("1abc"), std::string::npos);

  auto reserved = r.AddCounterFamily({"x_total", "", ""}, {"__name"});
  ASSERT_FALSE(reserved.ok());
  EXPECT_NE(reserved.status().message().find("reserved"), std::string::npos);

  EXPECT_FALSE(r.AddCounterFamily({"y_total", "", ""}, {"a-b"}).ok());
  EXPECT_FALSE(r.AddCounterFamily({"y_total", "", ""}, {"a", "a"}).ok());
  EXPECT_FALSE(r.AddHistogramFamily({"h", "", ""}, {"le"}).ok());
  EXPECT_FALSE(r.AddGauge({"mem", "", "bytes"}).ok());  // unit not in name
  EXPECT_TRUE(r.AddGauge({"mem_bytes", "", "bytes"}).ok());
  EXPECT_FALSE(r.AddGauge({"bad_help", "\xff", ""}).ok());
  HistogramOptions o;
  o.bounds = {1, 1};
  EXPECT_FALSE(r.AddHistogram({"h2", "", ""}, o).ok());
}

TEST(RegistryTest, DuplicateRegistration) {
  Registry r;
  auto a = r.AddCounterFamily({"req_total", "R", ""}, {"code"});
  ASSERT_TRUE(a.ok());
  // Same name (with or without _total), type and labels: the same family.
  auto b = r.AddCounterFamily({"req", "R", ""}, {"code"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  auto other_labels = r.AddCounterFamily({"req_total", "R", ""}, {"method"});
  ASSERT_FALSE(other_labels.ok());
  EXPECT_EQ(other_labels.status().code(), StatusCode::kAlreadyExists);
  auto other_type = r.AddGauge({"req", "R", ""});
  ASSERT_FALSE(other_type.ok());
  EXPECT_EQ(other_type.status().code(), StatusCode::kAlreadyExists);
  // A gauge whose name is one of the counter's sample names collides too.
  EXPECT_EQ(r.AddGauge({"req_created", "", ""}).status().code(), StatusCode::kAlreadyExists);
  HistogramOptions o1, o2;
  o2.unit_scale = 1e-9;
  ASSERT_TRUE(r.AddHistogram({"lat", "", ""}, o1).ok());
  EXPECT_EQ(r.AddHistogram({"lat", "", ""}, o2).status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(r.AddHistogram({"lat", "", ""}, o1).ok());
}

TEST(FamilyTest, WithReturnsStableHandles) {
  Registry r;
  Family<Counter>& f = *r.AddCounterFamily({"http_requests", "", ""}, {"method", "code"}).value();
  Counter& a = f.With({{"method", "GET"}, {"code", "200"}});
  Counter& b = f.with({{"code", "200"}, {"method", "GET"}});  // any order
  Counter& c = f.With({{"method", "POST"}, {"code", "200"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  a.Add(2);
  c.Inc();
  EXPECT_EQ(f.SeriesCount(), 2u);
  snapshot::Snapshot s = r.Collect();
  ASSERT_EQ(s.families.size(), 1u);
  ASSERT_EQ(s.families[0].points.size(), 2u);
  EXPECT_EQ(s.families[0].points[0].labels[0].value, "GET");
  EXPECT_EQ(s.families[0].points[0].value, 2);
}

TEST(FamilyTest, BadLabelsFoldIntoOverflowAndCount) {
  Registry r({.max_series_per_family = 2, .self_metrics = true});
  Family<Counter>& f = *r.AddCounterFamily({"f_total", "", ""}, {"k"}).value();
  EXPECT_FALSE(f.TryWith({{"wrong", "x"}}).ok());
  EXPECT_FALSE(f.TryWith({{"k", "\xc3\x28"}}).ok());  // invalid UTF-8
  f.With({{"k", "a"}}).Inc();
  f.With({{"k", "b"}}).Inc();
  EXPECT_EQ(f.TryWith({{"k", "c"}}).status().code(), StatusCode::kResourceExhausted);
  Counter& o1 = f.With({{"k", "c"}});
  Counter& o2 = f.With({{"k", "d"}});
  Counter& o3 = f.With({{"nope", "d"}});
  EXPECT_EQ(&o1, &o2);
  EXPECT_EQ(&o1, &o3);
  o1.Add(5);
  const std::string text = RenderText(r, Format::kPrometheusText);
  EXPECT_NE(text.find("f_total{k=\"__overflow__\"} 5"), std::string::npos) << text;
  EXPECT_NE(text.find("strobe_metrics_cardinality_overflow_total 2"), std::string::npos) << text;
  EXPECT_NE(text.find("strobe_metrics_label_errors_total 1"), std::string::npos) << text;
}

TEST(RegistryTest, CallbackGaugesAndFamilies) {
  Registry r;
  double v = 3;
  ASSERT_TRUE(r.AddCallbackGauge({"cb", "", ""}, [&] { return v; }).ok());
  ASSERT_TRUE(r.AddCallbackFamily({"cpu_seconds_total", "", "seconds"}, CallbackType::kCounter,
                                  {"cpu"},
                                  [](CallbackSink& s) {
                                    s.Emit({"0"}, 1.5);
                                    s.Emit({"1"}, 2.5);
                                    s.Emit({"1", "extra"}, 9);  // skipped, counted
                                  })
                  .ok());
  EXPECT_EQ(r.AddCallbackGauge({"cb", "", ""}, [] { return 0.0; }).code(),
            StatusCode::kAlreadyExists);
  v = 7;
  snapshot::Snapshot s = r.Collect();
  ASSERT_EQ(s.families.size(), 2u);
  EXPECT_EQ(s.families[0].points[0].value, 7);
  EXPECT_EQ(s.families[1].type, snapshot::MetricType::kCounter);
  ASSERT_EQ(s.families[1].points.size(), 2u);
  EXPECT_EQ(s.families[1].points[1].labels[0].value, "1");
}

// A filtered collection skips unwanted families before their callbacks run; collected
// families are filtered too.
TEST(RegistryTest, FilteredCollectSkipsUnwantedFamilies) {
  Registry r;
  int gauge_calls = 0, family_calls = 0;
  ASSERT_TRUE(r.AddCallbackGauge({"wanted_gauge", "", ""}, [&] {
                 ++gauge_calls;
                 return 1.0;
               }).ok());
  ASSERT_TRUE(r.AddCallbackFamily({"costly_total", "", ""}, CallbackType::kCounter, {},
                                  [&](CallbackSink& s) {
                                    ++family_calls;
                                    s.Emit(std::span<const std::string_view>(), 2);
                                  })
                  .ok());
  ASSERT_TRUE(r.AddCollector("c", [](snapshot::Snapshot& out) {
                 for (const char* name : {"collected_a", "collected_b"}) {
                   snapshot::Family& f = out.families.emplace_back();
                   f.name = name;
                   f.type = snapshot::MetricType::kGauge;
                 }
               }).ok());
  std::vector<std::string> asked;
  snapshot::Snapshot s = r.Collect([&](std::string_view name, snapshot::MetricType type) {
    asked.emplace_back(name);
    return name == "wanted_gauge" ||
           (name == "collected_b" && type == snapshot::MetricType::kGauge);
  });
  ASSERT_EQ(s.families.size(), 2u);
  EXPECT_EQ(s.families[0].name, "wanted_gauge");
  EXPECT_EQ(s.families[1].name, "collected_b");
  EXPECT_EQ(gauge_calls, 1);
  EXPECT_EQ(family_calls, 0);  // not wanted: its callback never ran
  EXPECT_NE(std::find(asked.begin(), asked.end(), "costly"), asked.end());  // base name
  EXPECT_EQ(r.Collect().families.size(), 4u);
  EXPECT_EQ(family_calls, 1);
}

TEST(RegistryTest, RemoveFreesTheName) {
  Registry r;
  ASSERT_TRUE(r.AddCounter({"gone_total", "", ""}).ok());
  EXPECT_TRUE(r.Remove("gone_total").ok());
  EXPECT_EQ(r.Remove("gone").code(), StatusCode::kNotFound);
  EXPECT_TRUE(r.AddGauge({"gone_total", "", ""}).ok());
}

TEST(RegistryTest, RemovedCellsStartFromZeroWhenReused) {
  Registry r;
  Counter& c = *r.AddCounter({"a_total", "", ""}).value();
  c.Add(100);
  ASSERT_TRUE(r.Remove("a").ok());
  // The freed cell is on the top of the shard allocator's LIFO free list, so the next counter
  // takes it (ShardsTest below proves reuse and zeroing at that level).
  Counter& d = *r.AddCounter({"b_total", "", ""}).value();
  EXPECT_EQ(d.Value(), 0u);
}

// Freed cells are reused (LIFO) and zeroed in every live thread's shard, not only the caller's:
// a thread that wrote into the cell and is still running must not leak its count into the
// cell's next owner.
TEST(ShardsTest, FreedCellIsReusedAndZeroedInEveryThread) {
  internal::Shards& shards = internal::Shards::Get();
  uint32_t cell = 0;
  ASSERT_TRUE(shards.AllocCell(internal::CellKind::kUnsigned, &cell));
  internal::Bump(internal::LocalCell(cell), 100);
  std::atomic<int> stage{0};
  std::thread other([&] {
    internal::Bump(internal::LocalCell(cell), 11);
    stage = 1;
    while (stage.load() != 2) std::this_thread::yield();  // stays alive across the free
  });
  while (stage.load() != 1) std::this_thread::yield();
  EXPECT_EQ(shards.SumCell(cell), 111u);
  shards.FreeCell(cell);
  uint32_t again = 0;
  ASSERT_TRUE(shards.AllocCell(internal::CellKind::kUnsigned, &again));
  EXPECT_EQ(again, cell);
  EXPECT_EQ(shards.SumCell(again), 0u);
  stage = 2;
  other.join();
  shards.FreeCell(again);
}

TEST(HistogramTest, RecordsAndCollects) {
  Registry r;
  Histogram& h = *r.AddHistogram({"lat_seconds", "", "seconds"}, {.unit_scale = 1e-9}).value();
  h.Record(1000);       // 1 us
  h.Record(2'000'000);  // 2 ms
  h.Record(0);
  EXPECT_FALSE(h.Record(-1));
  EXPECT_FALSE(h.Record(std::nan("")));
  EXPECT_FALSE(h.Record(-INFINITY));
  snapshot::HistogramValue v = h.Value();
  EXPECT_EQ(v.count, 3u);
  EXPECT_EQ(v.zero_count, 1u);
  EXPECT_EQ(v.invalid_count, 3u);
  EXPECT_DOUBLE_EQ(v.sum, 2'001'000);
  EXPECT_EQ(v.min, 0);
  EXPECT_EQ(v.max, 2'000'000);
  ASSERT_EQ(v.bucket_counts.size(), v.bounds.size() + 1);
  EXPECT_DOUBLE_EQ(v.bounds[0], 1e-6);
  EXPECT_EQ(v.bucket_counts[0], 2u);  // 0 and exactly 1 us are <= 1e-6 s
  uint64_t total = 0;
  for (uint64_t n : v.bucket_counts) total += n;
  EXPECT_EQ(total, 3u);
}

TEST(TimerTest, ScopedTimerRecordsElapsed) {
  Registry r;
  Histogram& h = *r.AddHistogram({"op_ns", "", ""}).value();
  { ScopedTimer t(h); }
  ScopedTimer t2(h);
  const uint64_t ns = t2.Stop();
  EXPECT_LT(ns, 1'000'000'000u);
  EXPECT_EQ(h.Data().count(), 2u);
}

snapshot::Family CollectedGauge(std::string name, double value) {
  snapshot::Family f;
  f.name = std::move(name);
  f.type = snapshot::MetricType::kGauge;
  snapshot::Point& p = f.points.emplace_back();
  p.labels = {{"job", "api"}};
  p.value = value;
  return f;
}

TEST(CollectorTest, FamiliesAppearInCollectAfterRegisteredOnes) {
  Registry r;
  r.AddGauge({"own", "", ""}).value()->Set(1);
  int calls = 0;
  ASSERT_TRUE(r.AddCollector("c", [&](snapshot::Snapshot& out) {
                 ++calls;
                 out.families.push_back(CollectedGauge("ext_a", 2));
                 out.families.push_back(CollectedGauge("ext_b", 3));
               }).ok());
  snapshot::Snapshot s = r.Collect();
  ASSERT_EQ(s.families.size(), 3u);
  EXPECT_EQ(s.families[0].name, "own");
  EXPECT_EQ(s.families[1].name, "ext_a");
  EXPECT_EQ(s.families[2].name, "ext_b");
  ASSERT_EQ(s.families[2].points.size(), 1u);
  EXPECT_EQ(s.families[2].points[0].value, 3);
  EXPECT_EQ(s.families[2].points[0].labels, (std::vector<snapshot::Label>{{"job", "api"}}));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.SeriesCount(), 1u);  // collector series are not counted
}

TEST(CollectorTest, NamesAreUniqueAndRemovalStopsCalls) {
  Registry r;
  int calls = 0;
  auto fn = [&](snapshot::Snapshot&) { ++calls; };
  ASSERT_TRUE(r.AddCollector("c", fn).ok());
  EXPECT_EQ(r.AddCollector("c", fn).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(r.AddCollector("d", nullptr).code(), StatusCode::kInvalidArgument);
  (void)r.Collect();
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(r.RemoveCollector("c").ok());
  EXPECT_EQ(r.RemoveCollector("c").code(), StatusCode::kNotFound);
  (void)r.Collect();
  EXPECT_EQ(calls, 1);
}

TEST(CollectorTest, ConflictingAndInvalidFamiliesAreSkippedAndCounted) {
  Registry r;
  r.AddCounter({"reqs_total", "", ""}).value()->Inc();
  r.AddGauge({"temp", "", ""}).value()->Set(1);
  ASSERT_TRUE(r.AddCollector("a", [](snapshot::Snapshot& out) {
                 out.families.push_back(CollectedGauge("temp", 5));        // same name
                 out.families.push_back(CollectedGauge("reqs_total", 5));  // counter's sample
                 out.families.push_back(CollectedGauge("ok_one", 6));
                 out.families.push_back(CollectedGauge("1bad", 7));  // invalid name
                 snapshot::Family u = CollectedGauge("size", 8);
                 u.unit = "bytes";  // name does not end with _bytes
                 out.families.push_back(u);
               }).ok());
  ASSERT_TRUE(r.AddCollector("b", [](snapshot::Snapshot& out) {
                 snapshot::Family h;
                 h.name = "ok";  // histogram "ok" has no sample named ok_one: allowed
                 h.type = snapshot::MetricType::kHistogram;
                 out.families.push_back(h);
                 out.families.push_back(CollectedGauge("ok_one", 9));  // taken by collector a
               }).ok());
  snapshot::Snapshot s = r.Collect();
  std::vector<std::string> names;
  for (const auto& f : s.families) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"reqs", "temp", "ok_one", "ok"}));
  EXPECT_EQ(s.families[2].points[0].value, 6);
  EXPECT_EQ(r.collector_skipped_families().conflict, 3u);
  EXPECT_EQ(r.collector_skipped_families().invalid, 2u);
}

TEST(CollectorTest, PointsWithBadLabelsAreSkipped) {
  Registry r;
  ASSERT_TRUE(r.AddCollector("a", [](snapshot::Snapshot& out) {
                 snapshot::Family f;
                 f.name = "lat";
                 f.type = snapshot::MetricType::kHistogram;
                 f.points.emplace_back().labels = {{"le", "1"}};                 // reserved
                 f.points.emplace_back().labels = {{"a", "1"}, {"a", "2"}};      // duplicate
                 f.points.emplace_back().labels = {{"__x", "1"}};                // reserved prefix
                 f.points.emplace_back().labels = {{"a", std::string("\xff")}};  // not UTF-8
                 f.points.emplace_back().labels = {{"a", "fine"}};
                 out.families.push_back(f);
               }).ok());
  snapshot::Snapshot s = r.Collect();
  ASSERT_EQ(s.families.size(), 1u);
  ASSERT_EQ(s.families[0].points.size(), 1u);
  EXPECT_EQ(s.families[0].points[0].labels[0].value, "fine");
}

TEST(CollectorTest, DefaultRegistryExposesSkipCounter) {
  std::string text = RenderText(Registry::Default(), Format::kPrometheusText);
  EXPECT_NE(text.find("strobe_metrics_collector_skipped_families_total{reason=\"conflict\"}"),
            std::string::npos);
}

}  // namespace
}  // namespace strobe::metrics
