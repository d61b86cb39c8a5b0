#include "strobed/stream/metric_deltas.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "strobe/metrics/histogram_data.h"
#include "strobed/base/clock.h"
#include "strobed/event/batch.h"
#include "strobed/stream/engine.h"

namespace strobed::stream {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kBase = 1'700'000'000 * kSec;  // a multiple of 10 s: windows align to it

MetricDeltaOptions TenSeconds() {
  MetricDeltaOptions o;
  o.first_point_max_age_ns = 10 * kSec;
  return o;
}

event::MetricPoint Counter(double v, uint64_t t, uint64_t start = kBase) {
  event::MetricPoint p;
  p.name = "requests";
  p.type = event::MetricType::kSum;
  p.temporality = event::Temporality::kCumulative;
  p.is_monotonic = true;
  p.double_value = v;
  p.time_ns = t;
  p.start_time_ns = start;
  return p;
}

// The item a point contributes, or nothing.
std::optional<Item> Convert(MetricDeltas& d, const event::MetricPoint& p) {
  Item item;
  if (!d.ToItem(p, p.time_ns, item)) return std::nullopt;
  return item;
}

TEST(MetricDeltasTest, CumulativeCounterBecomesIncreasesWithResets) {
  MetricDeltas d(TenSeconds());
  // First point, started 1 s before: its whole value is its increase since the start.
  auto a = Convert(d, Counter(10, kBase + 1 * kSec));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, 10);
  EXPECT_TRUE(a->counter);
  EXPECT_EQ(a->weight, 1u);
  EXPECT_EQ(Convert(d, Counter(25, kBase + 2 * kSec))->value, 15);
  EXPECT_FALSE(Convert(d, Counter(25, kBase + 3 * kSec)));  // no increase: nothing
  // The value went down: the producer restarted; its new total is the increase.
  EXPECT_EQ(Convert(d, Counter(4, kBase + 4 * kSec))->value, 4);
  EXPECT_EQ(Convert(d, Counter(9, kBase + 5 * kSec))->value, 5);
  // A new start time starts a new run even though the value went up.
  EXPECT_EQ(Convert(d, Counter(20, kBase + 6 * kSec, kBase + 5 * kSec))->value, 20);
  // Older than the last point: dropped.
  EXPECT_FALSE(Convert(d, Counter(30, kBase + 5 * kSec, kBase + 5 * kSec)));
  EXPECT_EQ(d.stats().resets.load(), 2u);
  EXPECT_EQ(d.stats().dropped_out_of_order.load(), 1u);
  EXPECT_EQ(d.stats().baselines.load(), 0u);
  EXPECT_EQ(d.series(), 1u);
}

TEST(MetricDeltasTest, FirstPointIsOnlyABaselineWhenItsStartIsUnknownOrOld) {
  MetricDeltas d(TenSeconds());
  event::MetricPoint unknown = Counter(100, kBase + 1 * kSec, 0);
  unknown.name = "unknown_start";
  EXPECT_FALSE(Convert(d, unknown));
  unknown.double_value = 130;
  unknown.time_ns += kSec;
  EXPECT_EQ(Convert(d, unknown)->value, 30);

  // Started an hour ago: what it counted may lie before every window.
  event::MetricPoint old = Counter(5000, kBase + 3600 * kSec, kBase);
  old.name = "old_start";
  EXPECT_FALSE(Convert(d, old));
  old.double_value = 5007;
  old.time_ns += kSec;
  EXPECT_EQ(Convert(d, old)->value, 7);

  // Exactly first_point_max_age after its start: still counted from zero.
  event::MetricPoint edge = Counter(3, kBase + 10 * kSec, kBase);
  edge.name = "edge";
  EXPECT_EQ(Convert(d, edge)->value, 3);
  EXPECT_EQ(d.stats().baselines.load(), 2u);

  // With a max age of 0 every first point is a baseline (Prometheus' choice).
  MetricDeltas prometheus_like;
  EXPECT_FALSE(Convert(prometheus_like, Counter(10, kBase + 1 * kSec)));
  EXPECT_EQ(Convert(prometheus_like, Counter(12, kBase + 2 * kSec))->value, 2);
}

TEST(MetricDeltasTest, SeriesAreNameResourceAndAttributes) {
  event::KeyTable keys(64);
  const event::KeyId method = *keys.Intern("method");
  const event::KeyId service = *keys.Intern("service.name");
  event::Attribute get[] = {{method, event::Value::String("GET")}};
  event::Attribute post[] = {{method, event::Value::String("POST")}};
  event::Attribute svc_a[] = {{service, event::Value::String("a")}};
  event::Attribute svc_b[] = {{service, event::Value::String("b")}};
  event::Resource res_a;
  res_a.attributes = svc_a;
  event::Resource res_b;
  res_b.attributes = svc_b;
  MetricDeltas d(TenSeconds());
  auto point = [&](std::span<const event::Attribute> labels, const event::Resource* r, double v,
                   uint64_t t) {
    event::MetricPoint p = Counter(v, t);
    p.labels = labels;
    p.resource = r;
    return p;
  };
  EXPECT_EQ(Convert(d, point(get, &res_a, 10, kBase + kSec))->value, 10);
  EXPECT_EQ(Convert(d, point(post, &res_a, 3, kBase + kSec))->value, 3);
  EXPECT_EQ(Convert(d, point(get, &res_b, 7, kBase + kSec))->value, 7);
  EXPECT_EQ(Convert(d, point(get, nullptr, 1, kBase + kSec))->value, 1);
  // Each series is differenced against its own previous point, not a reset of another's.
  EXPECT_EQ(Convert(d, point(get, &res_a, 12, kBase + 2 * kSec))->value, 2);
  EXPECT_EQ(Convert(d, point(post, &res_a, 8, kBase + 2 * kSec))->value, 5);
  EXPECT_EQ(Convert(d, point(get, &res_b, 9, kBase + 2 * kSec))->value, 2);
  EXPECT_EQ(d.series(), 4u);
  EXPECT_EQ(d.stats().resets.load(), 0u);
}

TEST(MetricDeltasTest, CumulativeExplicitHistogramGivesBucketDeltas) {
  MetricDeltas d(TenSeconds());
  const double bounds[] = {1, 2, 5};
  // Observations 0.5, 1.5, 1.5, 7: buckets (-inf,1] (1,2] (2,5] (5,+inf).
  uint64_t c1[] = {1, 2, 0, 1};
  event::HistogramData h1{4, 10.5, 0.5, 7, true, bounds, c1};
  // Then 1.5 x3 and 3 x2 (sum +10.5): min and max unchanged.
  uint64_t c2[] = {1, 5, 2, 1};
  event::HistogramData h2{9, 21, 0.5, 7, true, bounds, c2};
  // The producer restarted and observed 1.25 once.
  uint64_t c3[] = {0, 1, 0, 0};
  event::HistogramData h3{1, 1.25, 1.25, 1.25, true, bounds, c3};
  event::MetricPoint p;
  p.name = "latency";
  p.type = event::MetricType::kHistogram;
  p.temporality = event::Temporality::kCumulative;
  p.start_time_ns = kBase;

  p.time_ns = kBase + kSec;
  p.histogram = &h1;
  auto a = Convert(d, p);
  ASSERT_TRUE(a && a->distribution);
  EXPECT_EQ(a->weight, 4u);
  EXPECT_EQ(a->distribution->sum, 10.5);
  EXPECT_EQ(a->distribution->min, 0.5);  // the whole run: the producer's min/max are exact
  EXPECT_EQ(a->distribution->max, 7);
  // Representative values: 0.5 (first bucket, lower bound 0), 1.5, and the +Inf bucket at 5.
  EXPECT_EQ(a->distribution->buckets->count(), 4u);
  EXPECT_NEAR(a->distribution->buckets->Quantile(0.25), 0.5, 0.5 * 0.0055);
  EXPECT_NEAR(a->distribution->buckets->Quantile(0.5), 1.5, 1.5 * 0.0055);
  EXPECT_NEAR(a->distribution->buckets->Quantile(1), 5, 5 * 0.0055);

  p.time_ns = kBase + 2 * kSec;
  p.histogram = &h2;
  auto b = Convert(d, p);
  ASSERT_TRUE(b && b->distribution);
  EXPECT_EQ(b->weight, 5u);
  EXPECT_EQ(b->distribution->sum, 10.5);
  EXPECT_DOUBLE_EQ(b->value, 2.1);
  // No new extreme: min/max from the delta's buckets (1.5 and the midpoint 3.5 of (2,5]).
  EXPECT_EQ(b->distribution->min, 1.5);
  EXPECT_EQ(b->distribution->max, 3.5);
  EXPECT_EQ(b->distribution->buckets->count(), 5u);
  EXPECT_NEAR(b->distribution->buckets->Quantile(0.6), 1.5, 1.5 * 0.0055);  // rank 3 of 5
  EXPECT_NEAR(b->distribution->buckets->Quantile(0.8), 3.5, 3.5 * 0.0055);  // rank 4 of 5

  p.time_ns = kBase + 3 * kSec;
  p.histogram = &h3;
  auto c = Convert(d, p);
  ASSERT_TRUE(c && c->distribution);
  EXPECT_EQ(c->weight, 1u);
  EXPECT_EQ(c->distribution->sum, 1.25);
  EXPECT_EQ(c->distribution->min, 1.25);
  EXPECT_EQ(c->distribution->max, 1.25);
  EXPECT_EQ(d.stats().resets.load(), 1u);

  // Other bounds without a reset cannot be differenced: a new baseline.
  const double other[] = {1, 3};
  uint64_t c4[] = {0, 2, 0};
  event::HistogramData h4{2, 3, 1.25, 1.75, true, other, c4};
  p.time_ns = kBase + 4 * kSec;
  p.histogram = &h4;
  EXPECT_FALSE(Convert(d, p));
  EXPECT_EQ(d.stats().baselines.load(), 1u);
}

TEST(MetricDeltasTest, CumulativeExponentialHistogramIncludingADownscale) {
  MetricDeltas d(TenSeconds());
  event::MetricPoint p;
  p.name = "latency";
  p.type = event::MetricType::kExponentialHistogram;
  p.temporality = event::Temporality::kCumulative;
  p.start_time_ns = kBase;
  // Scale 0: bucket i is (2^i, 2^(i+1)]. Observations 0, 1.5, 1.5, 3.
  uint64_t c1[] = {2, 1};
  event::ExponentialHistogramData e1{4, 6, 0, 3, true, 0, 1, 0, {0, c1}, {}};
  // Then 3 x3 and 6 (sum +15); the max is new.
  uint64_t c2[] = {2, 4, 1};
  event::ExponentialHistogramData e2{8, 21, 0, 6, true, 0, 1, 0, {0, c2}, {}};
  // The SDK lowered the scale to -1 (bucket i is (4^i, 4^(i+1)]): the previous buckets at
  // that scale are {6, 1}. Then 1.5 once and 8 twice (sum +17.5).
  uint64_t c3[] = {7, 3};
  event::ExponentialHistogramData e3{11, 38.5, 0, 8, true, -1, 1, 0, {0, c3}, {}};

  p.time_ns = kBase + kSec;
  p.exp_histogram = &e1;
  auto a = Convert(d, p);
  ASSERT_TRUE(a && a->distribution);
  EXPECT_EQ(a->weight, 4u);
  EXPECT_EQ(a->distribution->sum, 6);
  EXPECT_EQ(a->distribution->buckets->count(), 4u);
  EXPECT_EQ(a->distribution->buckets->zero_count(), 1u);

  p.time_ns = kBase + 2 * kSec;
  p.exp_histogram = &e2;
  auto b = Convert(d, p);
  ASSERT_TRUE(b && b->distribution);
  EXPECT_EQ(b->weight, 4u);
  EXPECT_EQ(b->distribution->sum, 15);
  EXPECT_EQ(b->distribution->max, 6);  // a new maximum: exact
  // No new minimum: the lowest delta bucket's midpoint, 2^1.5.
  EXPECT_DOUBLE_EQ(b->distribution->min, std::exp2(1.5));
  EXPECT_EQ(b->distribution->buckets->zero_count(), 0u);
  EXPECT_NEAR(b->distribution->buckets->Quantile(0.75), std::exp2(1.5), 0.03);  // rank 3: 3s
  EXPECT_NEAR(b->distribution->buckets->Quantile(1), std::exp2(2.5), 0.04);     // the 6

  p.time_ns = kBase + 3 * kSec;
  p.exp_histogram = &e3;
  auto c = Convert(d, p);
  ASSERT_TRUE(c && c->distribution);
  EXPECT_EQ(c->weight, 3u);
  EXPECT_EQ(c->distribution->sum, 17.5);
  EXPECT_EQ(c->distribution->max, 8);
  EXPECT_EQ(c->distribution->buckets->count(), 3u);
  EXPECT_NEAR(c->distribution->buckets->Quantile(1.0 / 3), 2, 0.02);  // 4^0.5: the 1.5
  EXPECT_NEAR(c->distribution->buckets->Quantile(1), 8, 0.05);        // 4^1.5: the 8s
  EXPECT_EQ(d.stats().resets.load(), 0u);

  // A bucket that went down is a reset even when the count grew.
  uint64_t c4[] = {1, 20};
  event::ExponentialHistogramData e4{22, 100, 0, 16, true, -1, 1, 0, {0, c4}, {}};
  p.time_ns = kBase + 4 * kSec;
  p.exp_histogram = &e4;
  auto r = Convert(d, p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->weight, 22u);
  EXPECT_EQ(r->distribution->sum, 100);
  EXPECT_EQ(d.stats().resets.load(), 1u);

  // A finer scale without a reset cannot be differenced: a new baseline.
  uint64_t c5[] = {1, 21};
  event::ExponentialHistogramData e5{23, 101, 0, 16, true, 0, 1, 0, {0, c5}, {}};
  p.time_ns = kBase + 5 * kSec;
  p.exp_histogram = &e5;
  EXPECT_FALSE(Convert(d, p));
  EXPECT_EQ(d.stats().baselines.load(), 1u);
}

TEST(MetricDeltasTest, NegativeExponentialBucketsCountButAreNotQuantiles) {
  MetricDeltas d(TenSeconds());
  // -3 (negative bucket 1 at scale 0: [-4, -2)) and 1.5.
  uint64_t neg[] = {0, 1};
  uint64_t pos[] = {1};
  event::ExponentialHistogramData e{2, -1.5, -3, 1.5, true, 0, 0, 0, {0, pos}, {0, neg}};
  event::MetricPoint p;
  p.name = "temperature";
  p.type = event::MetricType::kExponentialHistogram;
  p.temporality = event::Temporality::kDelta;
  p.time_ns = kBase;
  p.exp_histogram = &e;
  auto a = Convert(d, p);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->weight, 2u);
  EXPECT_EQ(a->distribution->sum, -1.5);
  EXPECT_EQ(a->distribution->min, -3);
  EXPECT_EQ(a->distribution->buckets->count(), 1u);
  EXPECT_EQ(d.series(), 0u);  // delta points need no state
}

TEST(MetricDeltasTest, AbsurdBucketIndexesAreCountedButNotPlaced) {
  MetricDeltas d(TenSeconds());
  // Bucket 2^31 - 2 at scale 20 lies beyond every double: 2^(2^31 / 2^20) = 2^2048.
  uint64_t counts[] = {3};
  event::ExponentialHistogramData e{3, 6, 0, 0, false, 20, 0, 0, {INT32_MAX - 1, counts}, {}};
  event::MetricPoint p;
  p.name = "absurd";
  p.type = event::MetricType::kExponentialHistogram;
  p.temporality = event::Temporality::kDelta;
  p.time_ns = kBase;
  p.exp_histogram = &e;
  auto a = Convert(d, p);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->weight, 3u);
  EXPECT_EQ(a->distribution->sum, 6);
  EXPECT_EQ(a->distribution->buckets->count(), 0u);
  EXPECT_EQ(a->distribution->max, 2);  // no bucket to estimate from: the mean
}

TEST(MetricDeltasTest, DeltaPointsGaugesAndLevelsAreUsedAsTheyAre) {
  MetricDeltas d(TenSeconds());
  event::MetricPoint sum = Counter(5, kBase);
  sum.temporality = event::Temporality::kDelta;
  auto a = Convert(d, sum);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, 5);
  EXPECT_TRUE(a->counter);
  EXPECT_EQ(Convert(d, sum)->value, 5);  // the same delta again is another 5
  sum.double_value = 0;
  EXPECT_FALSE(Convert(d, sum));
  sum.double_value = -1;
  EXPECT_FALSE(Convert(d, sum));  // a monotonic delta cannot be negative
  EXPECT_EQ(d.stats().dropped_invalid.load(), 1u);

  const double bounds[] = {1};
  uint64_t counts[] = {2, 1};
  event::HistogramData h{3, 4, 0.5, 2, true, bounds, counts};
  event::MetricPoint hist;
  hist.name = "latency";
  hist.type = event::MetricType::kHistogram;
  hist.temporality = event::Temporality::kDelta;
  hist.time_ns = kBase;
  hist.histogram = &h;
  for (int i = 0; i < 2; ++i) {
    auto b = Convert(d, hist);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->weight, 3u);
    EXPECT_EQ(b->distribution->sum, 4);
    EXPECT_EQ(b->distribution->max, 2);
  }

  event::MetricPoint gauge;
  gauge.name = "queue_depth";
  gauge.double_value = 7.5;
  EXPECT_EQ(Convert(d, gauge)->value, 7.5);
  EXPECT_FALSE(Convert(d, gauge)->counter);
  event::MetricPoint level = Counter(-4, kBase);
  level.is_monotonic = false;  // an up-down counter reports a level
  EXPECT_EQ(Convert(d, level)->value, -4);
  EXPECT_EQ(Convert(d, level)->value, -4);
  gauge.double_value = std::nan("");
  EXPECT_FALSE(Convert(d, gauge));
  EXPECT_EQ(d.series(), 0u);
}

TEST(MetricDeltasTest, SummaryCountAndSumBecomeDeltas) {
  MetricDeltas d(TenSeconds());
  event::QuantileValue q[] = {{0.5, 2}};
  event::SummaryData s1{4, 10, q};
  event::SummaryData s2{10, 40, q};
  event::MetricPoint p;
  p.name = "rpc";
  p.type = event::MetricType::kSummary;
  p.start_time_ns = kBase;
  p.time_ns = kBase + kSec;
  p.summary = &s1;
  auto a = Convert(d, p);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->weight, 4u);
  EXPECT_EQ(a->value, 2.5);
  EXPECT_EQ(a->distribution->buckets, nullptr);  // its quantiles cannot be merged
  p.time_ns += kSec;
  p.summary = &s2;
  auto b = Convert(d, p);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->weight, 6u);
  EXPECT_EQ(b->distribution->sum, 30);
  EXPECT_EQ(b->value, 5);
  p.summary = nullptr;  // malformed
  EXPECT_FALSE(Convert(d, p));
  EXPECT_EQ(d.stats().dropped_invalid.load(), 1u);
}

TEST(MetricDeltasTest, SeriesAreBoundedAndIdleOnesForgotten) {
  MetricDeltaOptions o = TenSeconds();
  o.max_series = 2;
  o.idle_ttl_ns = 60 * kSec;
  MetricDeltas d(o);
  const char* names[] = {"a_total", "b_total", "c_total"};
  for (const char* n : names) {
    event::MetricPoint p = Counter(1, kBase + kSec);
    p.name = n;
    Item item;
    d.ToItem(p, kBase + kSec, item);
  }
  EXPECT_EQ(d.series(), 2u);
  EXPECT_EQ(d.stats().dropped_limit.load(), 1u);
  EXPECT_EQ(d.stats().series.load(), 2u);
  EXPECT_GT(d.stats().bytes.load(), 0u);

  // a_total stays active; b_total goes idle.
  event::MetricPoint a = Counter(3, kBase + 50 * kSec);
  a.name = "a_total";
  Item item;
  EXPECT_TRUE(d.ToItem(a, kBase + 50 * kSec, item));
  d.EvictIdle(kBase + 62 * kSec);
  EXPECT_EQ(d.series(), 1u);
  EXPECT_EQ(d.stats().evicted_idle.load(), 1u);
  // Room again: c_total is tracked now (a first point, started long ago: a baseline).
  event::MetricPoint c = Counter(9, kBase + 63 * kSec);
  c.name = "c_total";
  EXPECT_FALSE(d.ToItem(c, kBase + 63 * kSec, item));
  EXPECT_EQ(d.series(), 2u);
  d.EvictIdle(kBase + 1000 * kSec);
  EXPECT_EQ(d.series(), 0u);
  EXPECT_EQ(d.stats().bytes.load(), 0u);
}

TEST(MetricDeltasTest, OversizedBucketArraysAreInvalid) {
  MetricDeltaOptions o = TenSeconds();
  o.max_buckets = 4;
  MetricDeltas d(o);
  uint64_t counts[5] = {1, 1, 1, 1, 1};
  event::ExponentialHistogramData e{5, 10, 1, 3, true, 0, 0, 0, {0, counts}, {}};
  event::MetricPoint p;
  p.name = "wide";
  p.type = event::MetricType::kExponentialHistogram;
  p.temporality = event::Temporality::kCumulative;
  p.start_time_ns = kBase;
  p.time_ns = kBase;
  p.exp_histogram = &e;
  EXPECT_FALSE(Convert(d, p));
  EXPECT_EQ(d.stats().dropped_invalid.load(), 1u);
  EXPECT_EQ(d.series(), 0u);
}

// The engine end to end: cumulative points as a producer (the shm receiver) sends them, into
// a 10 s tumbling window.
class EngineMetricsTest : public ::testing::Test {
 protected:
  event::KeyTable keys_{1024};
  base::ManualWallClock clock_{kBase + 500 * 1'000'000};
};

double SeriesValue(const StreamEngine& e, std::string_view name) {
  for (const Series& s : e.SnapshotSeries()) {
    if (s.name == name) return s.value;
  }
  ADD_FAILURE() << "no series " << name;
  return -1;
}

TEST_F(EngineMetricsTest, CounterWindowHasItsIncreaseAndRate) {
  auto e = StreamEngine::Create(YAML::Load(R"(windows:
  - name: req
    match: requests
    size: 10s
    aggregations: [count, sum, increase, rate]
)"),
                                "strobe.yaml", keys_, clock_);
  ASSERT_TRUE(e->config_errors().empty());
  event::Batch batch(nullptr, 4096, 1 << 20);
  // Started at kBase; cumulative 100, 300, 350 within [kBase, kBase + 10 s); then 360 in the
  // next window.
  const double values[] = {100, 300, 350, 360};
  const uint64_t times[] = {1, 5, 9, 12};
  for (int i = 0; i < 4; ++i) {
    batch.AddMetric() = Counter(values[i], kBase + times[i] * kSec);
  }
  clock_.SetUnixNs(kBase + 12 * kSec);
  e->Consume(batch);
  e->Tick();  // the watermark (12 s) closes [0 s, 10 s) only
  EXPECT_EQ(SeriesValue(*e, "count"), 3) << e->EventsJson();  // points with an increase
  EXPECT_EQ(SeriesValue(*e, "sum"), 350);
  EXPECT_EQ(SeriesValue(*e, "increase"), 350);
  EXPECT_EQ(SeriesValue(*e, "rate"), 35);  // 350 over 10 s, not 3 points over 10 s
}

TEST_F(EngineMetricsTest, HistogramWindowCountsObservationsNotCumulativeTotals) {
  auto e = StreamEngine::Create(YAML::Load(R"(windows:
  - name: lat
    match: latency
    size: 10s
    aggregations: [count, sum, mean, min, max, rate, p50, p99]
)"),
                                "strobe.yaml", keys_, clock_);
  ASSERT_TRUE(e->config_errors().empty());
  // What the shm receiver sends for a libstrobe histogram: exponential, scale 6, cumulative.
  // 1..1000 observed, pushed; 1..1000 again, pushed.
  strobe::metrics::HistogramData once;
  strobe::metrics::HistogramData twice;
  for (int round = 0; round < 2; ++round) {
    for (int v = 1; v <= 1000; ++v) (round == 0 ? once : twice).Record(v);
  }
  twice.Merge(once);
  std::vector<event::ExponentialHistogramData> data;
  for (const strobe::metrics::HistogramData* h : {&once, &twice}) {
    event::ExponentialHistogramData x;
    x.count = h->count();
    x.sum = h->sum();
    x.min = h->min();
    x.max = h->max();
    x.has_min_max = true;
    x.scale = 6;
    x.zero_count = h->zero_count();
    x.positive = {h->offset(), h->counts()};
    data.push_back(x);
  }
  event::Batch batch(nullptr, 4096, 1 << 20);
  for (int i = 0; i < 2; ++i) {
    event::MetricPoint& p = batch.AddMetric();
    p.name = "latency";
    p.type = event::MetricType::kExponentialHistogram;
    p.temporality = event::Temporality::kCumulative;
    p.start_time_ns = kBase;
    p.time_ns = kBase + (2 + 3 * static_cast<uint64_t>(i)) * kSec;
    p.exp_histogram = &data[static_cast<std::size_t>(i)];
  }
  e->Consume(batch);
  clock_.SetUnixNs(kBase + 10 * kSec);
  e->FlushAll();
  EXPECT_EQ(SeriesValue(*e, "count"), 2000);
  EXPECT_EQ(SeriesValue(*e, "sum"), 1001000);
  EXPECT_EQ(SeriesValue(*e, "mean"), 500.5);
  EXPECT_EQ(SeriesValue(*e, "min"), 1);
  EXPECT_EQ(SeriesValue(*e, "max"), 1000);
  EXPECT_EQ(SeriesValue(*e, "rate"), 200);  // observations per second
  // Exact order statistics: the 1000th and 1980th of 1,1,2,2,...,1000,1000.
  EXPECT_NEAR(SeriesValue(*e, "p50"), 500, 500 * 0.0055);
  EXPECT_NEAR(SeriesValue(*e, "p99"), 990, 990 * 0.0055);
}

TEST_F(EngineMetricsTest, MetricsNoRuleReadsKeepNoState) {
  auto e = StreamEngine::Create(YAML::Load(R"(windows:
  - name: req
    match: requests
    size: 10s
)"),
                                "strobe.yaml", keys_, clock_);
  event::Batch batch(nullptr, 4096, 1 << 20);
  batch.AddMetric() = Counter(1, kBase + kSec);
  event::MetricPoint other = Counter(1, kBase + kSec);
  other.name = "unrelated_total";
  batch.AddMetric() = other;
  e->Consume(batch);
  EXPECT_EQ(e->metric_delta_stats().series.load(), 1u);

  // A threshold rule reads only its `match` (its unused second predicate matches anything).
  auto cep = StreamEngine::Create(YAML::Load(R"(cep:
  - {name: burst, type: threshold, match: requests, count: 5, within: 1m}
)"),
                                  "strobe.yaml", keys_, clock_);
  ASSERT_TRUE(cep->config_errors().empty());
  cep->Consume(batch);
  EXPECT_EQ(cep->metric_delta_stats().series.load(), 1u);
}

TEST_F(EngineMetricsTest, MetricStateLimitsAreConfigurable) {
  auto e = StreamEngine::Create(YAML::Load(R"(windows:
  - name: req
    match: requests
    size: 10s
metric_state: {max_series: 1, max_bytes: 1MiB, idle_ttl: 30s}
)"),
                                "strobe.yaml", keys_, clock_);
  ASSERT_TRUE(e->config_errors().empty()) << e->config_errors()[0].message();
  event::Batch batch(nullptr, 4096, 1 << 20);
  batch.AddMetric() = Counter(1, kBase + kSec);
  event::MetricPoint restarted = Counter(1, kBase + kSec);
  restarted.start_time_ns = kBase + 1;  // the same series: a start time is not identity
  batch.AddMetric() = restarted;
  event::KeyTable& keys = keys_;
  event::Attribute label[] = {{*keys.Intern("method"), event::Value::String("GET")}};
  event::MetricPoint labelled = Counter(1, kBase + kSec);
  labelled.labels = label;
  batch.AddMetric() = labelled;
  e->Consume(batch);
  EXPECT_EQ(e->metric_delta_stats().series.load(), 1u);
  EXPECT_EQ(e->metric_delta_stats().dropped_limit.load(), 1u);

  auto bad = StreamEngine::Create(YAML::Load(R"(windows:
  - name: req
    size: 10s
metric_state: {max_series: 0, idle_ttl: soon}
)"),
                                  "strobe.yaml", keys_, clock_);
  ASSERT_EQ(bad->config_errors().size(), 1u);
  EXPECT_NE(bad->config_errors()[0].message().find(
                "strobe.yaml:4: stream.metric_state.max_series: expected a positive integer"),
            std::string::npos)
      << bad->config_errors()[0].message();
  EXPECT_EQ(bad->window_count(), 1u);  // the rest runs
}

}  // namespace
}  // namespace strobed::stream
