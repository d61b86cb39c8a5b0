#include "strobed/exporters/prometheus/prometheus.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/histogram_data.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/clock.h"
#include "strobed/event/batch.h"
#include "strobed/pipeline/plugin_registry.h"

namespace strobed::exporters {
namespace {

using strobe::metrics::Format;
using strobe::metrics::RenderText;

class PrometheusExporterTest : public ::testing::Test {
 protected:
  void SetUp() override { Make({}); }

  void Make(PrometheusExporterOptions o) {
    exporter_.reset();
    o.metrics = &registry_;
    o.clock = &clock_;
    o.keys = &keys_;
    auto e = PrometheusExporter::Create(std::move(o));
    ASSERT_TRUE(e.ok()) << e.status().message();
    exporter_ = std::move(*e);
  }

  event::Attribute Str(std::string_view key, std::string_view value) {
    return {*keys_.Intern(key), event::Value::String(value)};
  }

  // A fresh batch; points added with Point() are exported by Send().
  event::MetricPoint& Point(std::string_view name, event::MetricType type,
                            std::vector<event::Attribute> labels = {}) {
    if (!batch_) batch_ = pool_.Acquire();
    labels_.push_back(std::move(labels));
    event::MetricPoint& p = batch_->AddMetric();
    p.name = name;
    p.type = type;
    p.labels = labels_.back();
    return p;
  }
  event::MetricPoint& Sum(std::string_view name, double v, bool monotonic, event::Temporality t,
                          std::vector<event::Attribute> labels = {}) {
    event::MetricPoint& p = Point(name, event::MetricType::kSum, std::move(labels));
    p.double_value = v;
    p.is_monotonic = monotonic;
    p.temporality = t;
    return p;
  }
  void Send() {
    ASSERT_EQ(exporter_->Export(*batch_), pipeline::ExportResult::kOk);
    batch_.reset();
  }

  std::string Text(Format f = Format::kPrometheusText) { return RenderText(registry_, f); }
  bool Has(std::string_view needle, Format f = Format::kPrometheusText) {
    const std::string t = Text(f);
    const bool found = t.find(needle) != std::string::npos;
    if (!found) ADD_FAILURE() << "missing:\n" << needle << "\nin:\n" << t;
    return found;
  }
  bool Lacks(std::string_view needle) {
    const std::string t = Text();
    const bool absent = t.find(needle) == std::string::npos;
    if (!absent) ADD_FAILURE() << "unexpected:\n" << needle << "\nin:\n" << t;
    return absent;
  }

  strobe::metrics::Registry registry_;
  base::ManualMonotonicClock clock_;
  event::KeyTable keys_;
  event::BatchPool pool_;
  event::BatchPtr batch_;
  std::vector<std::vector<event::Attribute>> labels_;  // kept alive for the points
  std::unique_ptr<PrometheusExporter> exporter_;
};

TEST_F(PrometheusExporterTest, GaugeWithUnitAndEscapedLabels) {
  event::MetricPoint& p = Point("system.memory.usage", event::MetricType::kGauge,
                                {Str("state", "a\"b\\c\nd"), Str("0dev", "x")});
  p.unit = "By";
  p.description = "Memory in use";
  p.is_int = true;
  p.int_value = 42;
  Send();
  EXPECT_TRUE(
      Has("# HELP system_memory_usage_bytes Memory in use\n"
          "# TYPE system_memory_usage_bytes gauge\n"
          "system_memory_usage_bytes{key_0dev=\"x\",state=\"a\\\"b\\\\c\\nd\"} 42\n"));
  EXPECT_TRUE(Has("# UNIT system_memory_usage_bytes bytes\n", Format::kOpenMetrics));
  EXPECT_EQ(exporter_->SeriesCount(), 1u);
}

TEST_F(PrometheusExporterTest, CumulativeMonotonicSumIsACounterWithCreated) {
  event::MetricPoint& p =
      Sum("http.requests", 7, true, event::Temporality::kCumulative, {Str("method", "GET")});
  p.start_time_ns = 1'700'000'000'250'000'000;
  Send();
  Sum("http.requests", 9, true, event::Temporality::kCumulative, {Str("method", "GET")})
      .start_time_ns = 1'700'000'000'250'000'000;
  Send();
  EXPECT_TRUE(Has("# TYPE http_requests_total counter\nhttp_requests_total{method=\"GET\"} 9\n"));
  EXPECT_TRUE(
      Has("http_requests_total{method=\"GET\"} 9\n"
          "http_requests_created{method=\"GET\"} 1700000000.25\n",
          Format::kOpenMetrics));
}

TEST_F(PrometheusExporterTest, DeltaMonotonicSumAccumulates) {
  Sum("jobs_total", 2, true, event::Temporality::kDelta);
  Send();
  Sum("jobs_total", 3, true, event::Temporality::kDelta);
  Sum("jobs_total", -1, true, event::Temporality::kDelta);  // invalid for a counter
  Send();
  EXPECT_TRUE(Has("jobs_total 5\n"));
  EXPECT_EQ(exporter_->Dropped(PrometheusExporter::DropReason::kInvalid), 1u);
  Sum("no_temporality", 1, true, event::Temporality::kUnspecified);
  Send();
  EXPECT_EQ(exporter_->Dropped(PrometheusExporter::DropReason::kInvalid), 2u);
  EXPECT_TRUE(Lacks("no_temporality"));
}

TEST_F(PrometheusExporterTest, NonMonotonicSumsAreGauges) {
  Sum("queue.depth", 10, false, event::Temporality::kCumulative);
  Sum("inflight", 4, false, event::Temporality::kDelta);
  Send();
  Sum("queue.depth", 8, false, event::Temporality::kCumulative);
  Sum("inflight", -3, false, event::Temporality::kDelta);
  Send();
  EXPECT_TRUE(Has("# TYPE queue_depth gauge\nqueue_depth 8\n"));
  EXPECT_TRUE(Has("# TYPE inflight gauge\ninflight 1\n"));
}

TEST_F(PrometheusExporterTest, ExplicitHistogramCumulativeAndDelta) {
  static const double kBounds[] = {0.1, 1};
  static const uint64_t kCounts1[] = {1, 2, 1};
  static const uint64_t kCounts2[] = {0, 1, 3};
  event::HistogramData h1{
      .count = 4, .sum = 3.5, .explicit_bounds = kBounds, .bucket_counts = kCounts1};
  event::HistogramData h2{
      .count = 4, .sum = 10, .explicit_bounds = kBounds, .bucket_counts = kCounts2};
  for (const auto* name : {"cum.latency", "delta.latency"}) {
    event::MetricPoint& p = Point(name, event::MetricType::kHistogram, {Str("op", "x")});
    p.unit = "s";
    p.histogram = &h1;
    p.temporality = std::string_view(name) == "cum.latency" ? event::Temporality::kCumulative
                                                            : event::Temporality::kDelta;
  }
  Send();
  for (const auto* name : {"cum.latency", "delta.latency"}) {
    event::MetricPoint& p = Point(name, event::MetricType::kHistogram, {Str("op", "x")});
    p.unit = "s";
    p.histogram = &h2;
    p.temporality = std::string_view(name) == "cum.latency" ? event::Temporality::kCumulative
                                                            : event::Temporality::kDelta;
  }
  Send();
  EXPECT_TRUE(
      Has("# TYPE cum_latency_seconds histogram\n"
          "cum_latency_seconds_bucket{op=\"x\",le=\"0.1\"} 0\n"
          "cum_latency_seconds_bucket{op=\"x\",le=\"1\"} 1\n"
          "cum_latency_seconds_bucket{op=\"x\",le=\"+Inf\"} 4\n"
          "cum_latency_seconds_sum{op=\"x\"} 10\n"
          "cum_latency_seconds_count{op=\"x\"} 4\n"));
  EXPECT_TRUE(
      Has("delta_latency_seconds_bucket{op=\"x\",le=\"0.1\"} 1\n"
          "delta_latency_seconds_bucket{op=\"x\",le=\"1\"} 4\n"
          "delta_latency_seconds_bucket{op=\"x\",le=\"+Inf\"} 8\n"
          "delta_latency_seconds_sum{op=\"x\"} 13.5\n"
          "delta_latency_seconds_count{op=\"x\"} 8\n"));
  // Mismatched bucket counts are invalid.
  static const uint64_t kBad[] = {1};
  event::HistogramData bad{.count = 1, .explicit_bounds = kBounds, .bucket_counts = kBad};
  event::MetricPoint& p = Point("cum.latency", event::MetricType::kHistogram, {Str("op", "x")});
  p.histogram = &bad;
  p.temporality = event::Temporality::kCumulative;
  Send();
  EXPECT_EQ(exporter_->Dropped(PrometheusExporter::DropReason::kInvalid), 1u);
  // So are bounds that are not finite and increasing.
  static const double kNanBounds[] = {std::nan("")};
  static const uint64_t kTwo[] = {1, 1};
  event::HistogramData nan_bounds{.count = 2, .explicit_bounds = kNanBounds, .bucket_counts = kTwo};
  event::MetricPoint& q = Point("other", event::MetricType::kHistogram);
  q.histogram = &nan_bounds;
  q.temporality = event::Temporality::kCumulative;
  Send();
  EXPECT_EQ(exporter_->Dropped(PrometheusExporter::DropReason::kInvalid), 2u);
  EXPECT_TRUE(Lacks("other_bucket"));
}

TEST_F(PrometheusExporterTest, ExponentialHistogramBecomesClassicBuckets) {
  // Configured bounds (a glob on the OTLP name). scale 0: positive bucket i holds
  // (2^i, 2^(i+1)]; negative bucket i holds [-2^(i+1), -2^i). Every bound is a bucket edge,
  // so every count is exact.
  PrometheusExporterOptions o;
  o.histogram_buckets = {{"pay*", {-1, 0, 2, 4}}};
  Make(o);
  static const uint64_t kPos[] = {1, 2};  // (1,2]: 1, (2,4]: 2
  static const uint64_t kNeg[] = {1};     // [-2,-1): 1
  event::ExponentialHistogramData e{.count = 5,
                                    .sum = 7.5,
                                    .min = -1.5,
                                    .max = 3.5,
                                    .has_min_max = true,
                                    .scale = 0,
                                    .zero_count = 1,
                                    .positive = {0, kPos},
                                    .negative = {0, kNeg}};
  event::MetricPoint& p = Point("payload", event::MetricType::kExponentialHistogram);
  p.unit = "By";
  p.exp_histogram = &e;
  p.temporality = event::Temporality::kCumulative;
  Send();
  EXPECT_TRUE(
      Has("# TYPE payload_bytes histogram\n"
          "payload_bytes_bucket{le=\"-1\"} 1\n"
          "payload_bytes_bucket{le=\"0\"} 2\n"
          "payload_bytes_bucket{le=\"2\"} 3\n"
          "payload_bytes_bucket{le=\"4\"} 5\n"
          "payload_bytes_bucket{le=\"+Inf\"} 5\n"
          "payload_bytes_sum 7.5\n"
          "payload_bytes_count 5\n"));
  auto snap = exporter_->Collect();
  ASSERT_EQ(snap.families.size(), 1u);
  const auto& h = snap.families[0].points[0].histogram;
  EXPECT_EQ(h.scale, 0);
  EXPECT_EQ(h.zero_count, 2u);  // zero bucket + negatives (documented)
  EXPECT_EQ(h.positive_counts, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(h.min, -1.5);
  EXPECT_EQ(h.max, 3.5);
}

TEST_F(PrometheusExporterTest, ExponentialDeltasMergeAtTheCoarserScale) {
  // scale 1 (base sqrt 2): indices 2,3 cover (2, 2.83], (2.83, 4] → index 1 at scale 0.
  static const uint64_t kFine[] = {1, 1};
  static const uint64_t kCoarse[] = {5};  // scale 0 index 0: (1, 2]
  event::ExponentialHistogramData fine{
      .count = 2, .sum = 6, .scale = 1, .positive = {2, kFine}, .negative = {}};
  event::ExponentialHistogramData coarse{
      .count = 5, .sum = 7, .scale = 0, .positive = {0, kCoarse}, .negative = {}};
  PrometheusExporterOptions o;
  o.histogram_buckets = {{"x", {1}}, {"d", {2, 4}}};  // the first matching rule
  Make(o);
  event::MetricPoint& a = Point("d", event::MetricType::kExponentialHistogram);
  a.exp_histogram = &fine;
  a.temporality = event::Temporality::kDelta;
  Send();
  event::MetricPoint& b = Point("d", event::MetricType::kExponentialHistogram);
  b.exp_histogram = &coarse;
  b.temporality = event::Temporality::kDelta;
  Send();
  EXPECT_TRUE(
      Has("d_bucket{le=\"2\"} 5\nd_bucket{le=\"4\"} 7\nd_bucket{le=\"+Inf\"} 7\n"
          "d_sum 13\nd_count 7\n"));
  // A delta far away at the coarsest scale cannot be merged into a bounded range: dropped,
  // the series unchanged.
  event::ExponentialHistogramData far{
      .count = 1, .sum = 1, .scale = -10, .positive = {2'000'000'000, kCoarse}, .negative = {}};
  event::MetricPoint& c = Point("d", event::MetricType::kExponentialHistogram);
  c.exp_histogram = &far;
  c.temporality = event::Temporality::kDelta;
  Send();
  EXPECT_EQ(exporter_->Dropped(PrometheusExporter::DropReason::kInvalid), 1u);
  EXPECT_TRUE(Has("d_count 7\n"));
}

// What a Python or libstrobe histogram sends through shm: scale 6, no unit. The family gets
// the seconds defaults (by its name) once, and the same 15 bounds at every scrape however the
// observations move. Each exponential bucket counts at the first bound above its lower edge.
event::ExponentialHistogramData FromData(const strobe::metrics::HistogramData& d) {
  return {.count = d.count(),
          .sum = d.sum(),
          .min = d.min(),
          .max = d.max(),
          .has_min_max = d.count() > 0,
          .scale = 6,
          .zero_count = d.zero_count(),
          .positive = {d.offset(), d.counts()},
          .negative = {}};
}

TEST_F(PrometheusExporterTest, ShmHistogramGetsFixedDefaultBoundsForItsUnit) {
  strobe::metrics::HistogramData d;
  d.Record(0.003);  // bucket (0.002980, 0.003012]: at le=0.005
  d.Record(0.2);    // (0.19914, 0.20131]: at le=0.25
  event::ExponentialHistogramData e = FromData(d);
  event::MetricPoint& p = Point("t2_lat_seconds", event::MetricType::kExponentialHistogram);
  p.exp_histogram = &e;
  p.temporality = event::Temporality::kCumulative;
  Send();
  EXPECT_TRUE(
      Has("# TYPE t2_lat_seconds histogram\n"
          "t2_lat_seconds_bucket{le=\"0.001\"} 0\n"
          "t2_lat_seconds_bucket{le=\"0.0025\"} 0\n"
          "t2_lat_seconds_bucket{le=\"0.005\"} 1\n"
          "t2_lat_seconds_bucket{le=\"0.01\"} 1\n"
          "t2_lat_seconds_bucket{le=\"0.025\"} 1\n"
          "t2_lat_seconds_bucket{le=\"0.05\"} 1\n"
          "t2_lat_seconds_bucket{le=\"0.1\"} 1\n"
          "t2_lat_seconds_bucket{le=\"0.25\"} 2\n"
          "t2_lat_seconds_bucket{le=\"0.5\"} 2\n"
          "t2_lat_seconds_bucket{le=\"1\"} 2\n"
          "t2_lat_seconds_bucket{le=\"2.5\"} 2\n"
          "t2_lat_seconds_bucket{le=\"5\"} 2\n"
          "t2_lat_seconds_bucket{le=\"10\"} 2\n"
          "t2_lat_seconds_bucket{le=\"30\"} 2\n"
          "t2_lat_seconds_bucket{le=\"60\"} 2\n"
          "t2_lat_seconds_bucket{le=\"+Inf\"} 2\n"
          "t2_lat_seconds_sum 0.203\n"
          "t2_lat_seconds_count 2\n"));
  // More observations, the same bounds. 0.1005 shares the bucket (0.099571, 0.100656] with
  // 0.1, so it counts at le=0.1 (the documented error: less than one bucket width above the
  // bound); 61 lies in (60.626, 61.287], above 60: +Inf only.
  d.Record(0.1005);
  d.Record(61);
  e = FromData(d);
  event::MetricPoint& q = Point("t2_lat_seconds", event::MetricType::kExponentialHistogram);
  q.exp_histogram = &e;
  q.temporality = event::Temporality::kCumulative;
  Send();
  EXPECT_TRUE(
      Has("t2_lat_seconds_bucket{le=\"0.001\"} 0\n"
          "t2_lat_seconds_bucket{le=\"0.0025\"} 0\n"
          "t2_lat_seconds_bucket{le=\"0.005\"} 1\n"
          "t2_lat_seconds_bucket{le=\"0.01\"} 1\n"
          "t2_lat_seconds_bucket{le=\"0.025\"} 1\n"
          "t2_lat_seconds_bucket{le=\"0.05\"} 1\n"
          "t2_lat_seconds_bucket{le=\"0.1\"} 2\n"
          "t2_lat_seconds_bucket{le=\"0.25\"} 3\n"
          "t2_lat_seconds_bucket{le=\"0.5\"} 3\n"
          "t2_lat_seconds_bucket{le=\"1\"} 3\n"
          "t2_lat_seconds_bucket{le=\"2.5\"} 3\n"
          "t2_lat_seconds_bucket{le=\"5\"} 3\n"
          "t2_lat_seconds_bucket{le=\"10\"} 3\n"
          "t2_lat_seconds_bucket{le=\"30\"} 3\n"
          "t2_lat_seconds_bucket{le=\"60\"} 3\n"
          "t2_lat_seconds_bucket{le=\"+Inf\"} 4\n"
          "t2_lat_seconds_sum 61.3035\n"
          "t2_lat_seconds_count 4\n"));
  // OpenMetrics renders the same bounds.
  EXPECT_TRUE(
      Has("t2_lat_seconds_bucket{le=\"60\"} 3\n"
          "t2_lat_seconds_bucket{le=\"+Inf\"} 4\n",
          Format::kOpenMetrics));
  // The exact exponential buckets stay in the snapshot (JSON percentiles, other readers).
  auto snap = exporter_->Collect();
  ASSERT_EQ(snap.families.size(), 1u);
  const auto& h = snap.families[0].points[0].histogram;
  EXPECT_EQ(h.scale, 6);
  EXPECT_EQ(h.positive_offset, d.offset());
  EXPECT_EQ(h.positive_counts, std::vector<uint64_t>(d.counts().begin(), d.counts().end()));
  EXPECT_EQ(h.bounds.size(), 15u);
}

// A bound inside an exponential bucket (3 in (2, 4] at scale 0) takes the whole bucket; one at
// a bucket edge (4) is exact. A negative bound inside a bucket ([-4, -2) and -3) likewise.
TEST_F(PrometheusExporterTest, BoundInsideABucketCountsTheWholeBucket) {
  PrometheusExporterOptions o;
  o.histogram_buckets = {{"s*_bytes", {-3, 3, 4}}};  // a glob on the exposed name
  Make(o);
  static const uint64_t kPos[] = {2, 3};  // (2,4]: 2, (4,8]: 3
  static const uint64_t kNeg[] = {1, 1};  // [-2,-1): 1, [-4,-2): 1
  event::ExponentialHistogramData e{.count = 8,
                                    .sum = 20,
                                    .scale = 0,
                                    .zero_count = 1,
                                    .positive = {1, kPos},
                                    .negative = {0, kNeg}};
  event::MetricPoint& p = Point("size", event::MetricType::kExponentialHistogram);
  p.unit = "By";
  p.exp_histogram = &e;
  p.temporality = event::Temporality::kCumulative;
  Send();
  EXPECT_TRUE(
      Has("size_bytes_bucket{le=\"-3\"} 1\n"  // [-4,-2): may hold values in (-3, -2)
          "size_bytes_bucket{le=\"3\"} 5\n"   // + [-2,-1), zero, (2,4]
          "size_bytes_bucket{le=\"4\"} 5\n"   // exact
          "size_bytes_bucket{le=\"+Inf\"} 8\n"
          "size_bytes_sum 20\n"
          "size_bytes_count 8\n"));
}

TEST(DefaultHistogramBoundsTest, ByUnitThenByNameSuffix) {
  const std::vector<double> seconds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                       0.5,   1,      2.5,   5,    10,    30,   60};
  EXPECT_EQ(DefaultHistogramBounds("rpc_duration_seconds", "seconds"), seconds);
  EXPECT_EQ(DefaultHistogramBounds("t2_lat_seconds", ""), seconds);
  const std::vector<double> ms = {1,   2.5,  5,    10,   25,    50,    100,  250,
                                  500, 1000, 2500, 5000, 10000, 30000, 60000};
  EXPECT_EQ(DefaultHistogramBounds("x_milliseconds", "milliseconds"), ms);
  EXPECT_EQ(DefaultHistogramBounds("x_nanoseconds", "nanoseconds").front(), 1e6);
  EXPECT_EQ(DefaultHistogramBounds("x_nanoseconds", "nanoseconds").back(), 6e10);
  const std::vector<double> bytes = {16,       64,       256,       1024,       4096,
                                     16384,    65536,    262144,    1048576,    4194304,
                                     16777216, 67108864, 268435456, 1073741824, 4294967296};
  EXPECT_EQ(DefaultHistogramBounds("payload_bytes", "bytes"), bytes);
  const std::vector<double> unitless = {0.001, 0.01, 0.1, 1,   10,  100, 1e3,
                                        1e4,   1e5,  1e6, 1e7, 1e8, 1e9};
  EXPECT_EQ(DefaultHistogramBounds("queue_depth", ""), unitless);
  EXPECT_EQ(DefaultHistogramBounds("seconds", ""), unitless);  // no `_` part: no unit
  EXPECT_EQ(DefaultHistogramBounds("x_seconds", "meters"), unitless);
}

TEST_F(PrometheusExporterTest, SummaryIsExposedAsSummary) {
  // Quantiles out of order and an attribute named like the label the summary adds.
  event::QuantileValue qv[] = {{0.99, 9}, {0.5, 2}};
  event::SummaryData data{10, 55, qv};
  event::MetricPoint& p = Point("rpc.duration", event::MetricType::kSummary,
                                {Str("svc", "a"), Str("quantile", "mine")});
  p.unit = "ms";
  p.description = "RPC latency";
  p.summary = &data;
  p.start_time_ns = 1'700'000'000'500'000'000;
  Send();
  // The whole family, in the shape promtool accepts: TYPE, quantiles ascending, _sum, _count.
  EXPECT_TRUE(
      Has("# HELP rpc_duration_milliseconds RPC latency\n"
          "# TYPE rpc_duration_milliseconds summary\n"
          "rpc_duration_milliseconds{exported_quantile=\"mine\",svc=\"a\",quantile=\"0.5\"} 2\n"
          "rpc_duration_milliseconds{exported_quantile=\"mine\",svc=\"a\",quantile=\"0.99\"} 9\n"
          "rpc_duration_milliseconds_sum{exported_quantile=\"mine\",svc=\"a\"} 55\n"
          "rpc_duration_milliseconds_count{exported_quantile=\"mine\",svc=\"a\"} 10\n"));
  EXPECT_TRUE(
      Has("# TYPE rpc_duration_milliseconds summary\n"
          "# UNIT rpc_duration_milliseconds milliseconds\n"
          "# HELP rpc_duration_milliseconds RPC latency\n"
          "rpc_duration_milliseconds{exported_quantile=\"mine\",svc=\"a\",quantile=\"0.5\"} 2\n"
          "rpc_duration_milliseconds{exported_quantile=\"mine\",svc=\"a\",quantile=\"0.99\"} 9\n"
          "rpc_duration_milliseconds_sum{exported_quantile=\"mine\",svc=\"a\"} 55\n"
          "rpc_duration_milliseconds_count{exported_quantile=\"mine\",svc=\"a\"} 10\n"
          "rpc_duration_milliseconds_created{exported_quantile=\"mine\",svc=\"a\"} "
          "1700000000.5\n",
          Format::kOpenMetrics));
  EXPECT_EQ(exporter_->SeriesCount(), 1u);
  strobe::snapshot::Snapshot snap = exporter_->Collect();
  ASSERT_EQ(snap.families.size(), 1u);
  EXPECT_EQ(snap.families[0].type, strobe::snapshot::MetricType::kSummary);
  ASSERT_EQ(snap.families[0].points[0].histogram.quantiles.size(), 2u);
  EXPECT_EQ(snap.families[0].points[0].histogram.quantiles[0].q, 0.5);
}

TEST_F(PrometheusExporterTest, SummaryPointReplacesTheLastOne) {
  event::QuantileValue first[] = {{0.5, 2}, {0.9, 5}};
  event::SummaryData d1{10, 55, first};
  Point("s", event::MetricType::kSummary).summary = &d1;
  Send();
  event::QuantileValue second[] = {{0.5, 3}};
  event::SummaryData d2{12, 70, second};
  Point("s", event::MetricType::kSummary).summary = &d2;
  Send();
  EXPECT_TRUE(
      Has("# TYPE s summary\n"
          "s{quantile=\"0.5\"} 3\n"
          "s_sum 70\n"
          "s_count 12\n"));
  EXPECT_TRUE(Lacks("quantile=\"0.9\""));
  // No recorded value: the series leaves.
  event::MetricPoint& gone = Point("s", event::MetricType::kSummary);
  gone.summary = &d2;
  gone.flags = 1;
  Send();
  EXPECT_TRUE(Lacks("s_count"));
  EXPECT_EQ(exporter_->SeriesCount(), 0u);
}

TEST_F(PrometheusExporterTest, InvalidSummaryIsDroppedAndCounted) {
  event::QuantileValue bad[] = {{1.5, 1}};
  event::SummaryData d{1, 1, bad};
  Point("s", event::MetricType::kSummary).summary = &d;
  Point("t", event::MetricType::kSummary);  // no SummaryData at all
  Send();
  EXPECT_EQ(exporter_->Dropped(PrometheusExporter::DropReason::kInvalid), 2u);
  EXPECT_EQ(exporter_->SeriesCount(), 0u);
}

TEST_F(PrometheusExporterTest, NoNameHeuristics) {
  // A gauge with a `quantile` attribute stays a gauge; sums named *_sum / *_count stay counters
  // even when a summary of the base name exists.
  event::QuantileValue qv[] = {{0.5, 1}};
  event::SummaryData d{1, 1, qv};
  Point("rpc", event::MetricType::kSummary).summary = &d;
  Point("lag", event::MetricType::kGauge, {Str("quantile", "0.5")}).double_value = 4;
  Sum("rpc_count", 3, true, event::Temporality::kCumulative);
  Send();
  EXPECT_TRUE(Has("# TYPE lag gauge\nlag{quantile=\"0.5\"} 4\n"));
  // The summary keeps its own count (1, not the sum's 3). The counter is a series of its own;
  // its samples would clash with the summary's rpc_count, so the registry does not expose it
  // (counted in strobe_metrics_collector_skipped_families_total).
  EXPECT_TRUE(Has("# TYPE rpc summary\nrpc{quantile=\"0.5\"} 1\nrpc_sum 1\nrpc_count 1\n"));
  EXPECT_EQ(exporter_->SeriesCount(), 3u);
}

TEST_F(PrometheusExporterTest, StaleSeriesExpire) {
  Sum("a", 1, true, event::Temporality::kCumulative);
  Sum("b", 1, true, event::Temporality::kCumulative);
  Send();
  clock_.AdvanceNs(std::chrono::nanoseconds(std::chrono::minutes(4)).count());
  Sum("b", 2, true, event::Temporality::kCumulative);
  Send();
  clock_.AdvanceNs(std::chrono::nanoseconds(std::chrono::minutes(2)).count());
  EXPECT_TRUE(Lacks("a_total"));  // 6 min old
  EXPECT_TRUE(Has("b_total 2\n"));
  EXPECT_EQ(exporter_->SeriesCount(), 1u);
  EXPECT_TRUE(Has("strobe_exporter_prometheus_expired_series_total{exporter=\"prometheus\"} 1\n"));
}

TEST_F(PrometheusExporterTest, SeriesLimitDropsAndCounts) {
  PrometheusExporterOptions o;
  o.max_series = 2;
  Make(o);
  Sum("a", 1, true, event::Temporality::kCumulative, {Str("k", "1")});
  Sum("a", 1, true, event::Temporality::kCumulative, {Str("k", "2")});
  Sum("a", 1, true, event::Temporality::kCumulative, {Str("k", "3")});
  Sum("a", 5, true, event::Temporality::kCumulative, {Str("k", "1")});  // existing: updated
  Send();
  EXPECT_EQ(exporter_->SeriesCount(), 2u);
  EXPECT_EQ(exporter_->Dropped(PrometheusExporter::DropReason::kSeriesLimit), 1u);
  EXPECT_TRUE(Has("a_total{k=\"1\"} 5\n"));
  EXPECT_TRUE(Lacks("k=\"3\""));
  EXPECT_TRUE(
      Has("strobe_exporter_prometheus_dropped_points_total{exporter=\"prometheus\","
          "reason=\"series_limit\"} 1\n"));
}

TEST_F(PrometheusExporterTest, TypeConflictsAreDropped) {
  Sum("x", 1, false, event::Temporality::kCumulative);  // gauge x
  Send();
  Sum("x", 1, true, event::Temporality::kCumulative);  // counter x: same family name
  Send();
  EXPECT_EQ(exporter_->Dropped(PrometheusExporter::DropReason::kTypeConflict), 1u);
  EXPECT_TRUE(Has("# TYPE x gauge\nx 1\n"));
}

TEST_F(PrometheusExporterTest, ResourceBecomesJobInstanceAndTargetInfo) {
  const event::Attribute res_attrs[] = {Str("service.name", "checkout"),
                                        Str("service.namespace", "shop"),
                                        Str("service.instance.id", "i-1"), Str("host.name", "box")};
  event::Resource res;
  res.attributes = res_attrs;
  Sum("orders", 3, true, event::Temporality::kCumulative, {Str("job", "mine")}).resource = &res;
  Send();
  EXPECT_TRUE(
      Has("orders_total{exported_job=\"mine\",instance=\"i-1\",job=\"shop/checkout\"} 3\n"));
  EXPECT_TRUE(
      Has("# TYPE target_info gauge\n"
          "target_info{host_name=\"box\",instance=\"i-1\",job=\"shop/checkout\"} 1\n"));

  PrometheusExporterOptions o;
  o.resource_to_telemetry_conversion = true;
  o.target_info = false;
  Make(o);
  Sum("orders", 4, true, event::Temporality::kCumulative).resource = &res;
  Send();
  EXPECT_TRUE(Has("orders_total{host_name=\"box\",instance=\"i-1\",job=\"shop/checkout\"} 4\n"));
  EXPECT_TRUE(Lacks("target_info"));
}

// Points without a resource (shm, pushed libstrobe metrics) carry only their own labels, never
// the job of an OTLP batch exported before them (the label leak of issue 15: the same counter
// showed up as {job="frontend"} 1 and {job="zzz"} 2).
TEST_F(PrometheusExporterTest, PointWithoutResourceNeverTakesAnotherBatchsJob) {
  const event::Attribute frontend_attrs[] = {Str("service.name", "frontend")};
  const event::Attribute zzz_attrs[] = {Str("service.name", "zzz"),
                                        Str("service.instance.id", "z-1")};
  event::Resource frontend;
  frontend.attributes = frontend_attrs;
  event::Resource zzz;
  zzz.attributes = zzz_attrs;
  Sum("fe", 1, true, event::Temporality::kCumulative).resource = &frontend;
  Send();
  Sum("local", 1, true, event::Temporality::kCumulative);  // no resource
  Send();
  Sum("zz", 5, true, event::Temporality::kCumulative).resource = &zzz;
  Send();
  Sum("local", 2, true, event::Temporality::kCumulative);
  Send();
  // Within one batch too, in both orders.
  Sum("zz", 6, true, event::Temporality::kCumulative).resource = &zzz;
  Sum("local", 3, true, event::Temporality::kCumulative);
  Sum("fe", 2, true, event::Temporality::kCumulative).resource = &frontend;
  Send();
  EXPECT_TRUE(Has("# TYPE local_total counter\nlocal_total 3\n# TYPE zz_total counter\n"));
  EXPECT_TRUE(Has("fe_total{job=\"frontend\"} 2\n"));
  EXPECT_TRUE(Has("zz_total{instance=\"z-1\",job=\"zzz\"} 6\n"));
  EXPECT_TRUE(Lacks("local_total{"));
  EXPECT_EQ(exporter_->SeriesCount(), 3u);
}

TEST_F(PrometheusExporterTest, CollidingLabelNamesAreJoinedAndNoValueRemoves) {
  Sum("c", 1, false, event::Temporality::kCumulative, {Str("a.b", "1"), Str("a_b", "2")});
  Send();
  EXPECT_TRUE(Has("c{a_b=\"1;2\"} 1\n"));
  Sum("c", 0, false, event::Temporality::kCumulative, {Str("a.b", "1"), Str("a_b", "2")}).flags =
      1;  // NO_RECORDED_VALUE
  Send();
  EXPECT_TRUE(Lacks("# TYPE c gauge"));
  EXPECT_EQ(exporter_->SeriesCount(), 0u);
}

TEST_F(PrometheusExporterTest, ManyDistinctNamesOutgrowTheNameCache) {
  std::vector<std::string> names;
  for (int i = 0; i < 5000; ++i) names.push_back("m." + std::to_string(i));
  for (int round = 0; round < 2; ++round) {
    for (const std::string& n : names) Sum(n, round + 1, false, event::Temporality::kCumulative);
    Send();
  }
  EXPECT_EQ(exporter_->SeriesCount(), 5000u);
  EXPECT_TRUE(Has("# TYPE m_0 gauge\nm_0 2\n"));
  EXPECT_TRUE(Has("# TYPE m_4999 gauge\nm_4999 2\n"));
}

TEST_F(PrometheusExporterTest, ShutdownRemovesTheCollector) {
  Sum("g", 1, false, event::Temporality::kCumulative);
  Send();
  EXPECT_TRUE(Has("g 1\n"));
  ASSERT_TRUE(exporter_->Shutdown(std::chrono::milliseconds(10)).ok());
  EXPECT_TRUE(Lacks("# TYPE g gauge"));
  // A second exporter of the same name can register once the first is gone.
  Make({});
}

TEST_F(PrometheusExporterTest, NameCollidingWithARegistryFamilyIsSkipped) {
  Sum("strobe_exporter_prometheus_series", 1, false, event::Temporality::kCumulative);
  Send();
  EXPECT_EQ(registry_.Collect().families.size(), 3u);  // the self-metrics only
  EXPECT_EQ(registry_.collector_skipped_families().conflict, 1u);
}

TEST(PrometheusPluginTest, RegisteredWithDefaultsAndValidatedOptions) {
  pipeline::PluginRegistry r;
  RegisterPrometheusExporter(r);
  const pipeline::ExporterPlugin* p = r.FindExporter("prometheus");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->signals, event::kSignalMetrics);
  strobe::metrics::Registry metrics;  // what the host passes; outlives the exporters
  auto create = [&](const char* yaml) -> strobe::Result<std::unique_ptr<pipeline::Exporter>> {
    // Bounds (max_series >= 1) are checked here, the rest by the factory.
    auto opts = pipeline::Options::Parse(YAML::Load(yaml), p->options, "t.yaml", "prometheus");
    if (!opts.ok()) return opts.status();
    event::KeyTable keys;
    base::ManualMonotonicClock clock;
    pipeline::ComponentContext ctx{{"prometheus", "t"},         *opts, "t.yaml", clock,
                                   event::BatchPool::Default(), keys,  1};
    ctx.services.metrics = &metrics;
    return p->create(ctx);
  };
  {
    auto e = create("{}");
    ASSERT_TRUE(e.ok()) << e.status().message();
  }
  EXPECT_FALSE(create("{max_series: 0}").ok());
  EXPECT_FALSE(create("{namespace: 'bad name'}").ok());
  EXPECT_TRUE(create("{histogram_buckets: {'http.*': [0.1, 1, 10], x: [-1]}}").ok());
  EXPECT_FALSE(create("{histogram_buckets: [0.1, 1]}").ok());        // not a map
  EXPECT_FALSE(create("{histogram_buckets: {x: 1}}").ok());          // not a list
  EXPECT_FALSE(create("{histogram_buckets: {x: [1, a]}}").ok());     // not numbers
  EXPECT_FALSE(create("{histogram_buckets: {x: []}}").ok());         // no bounds
  EXPECT_FALSE(create("{histogram_buckets: {x: [1, 1]}}").ok());     // not increasing
  EXPECT_FALSE(create("{histogram_buckets: {x: [1, .inf]}}").ok());  // not finite
  EXPECT_FALSE(create("{histogram_buckets: {'': [1]}}").ok());       // no pattern
  std::string many = "{histogram_buckets: {x: [";
  for (int i = 1; i <= 65; ++i) many += std::to_string(i) + (i < 65 ? "," : "]}}");
  auto e = create(many.c_str());
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("needs 1..64 bounds, has 65"), std::string::npos)
      << e.status().message();
}

}  // namespace
}  // namespace strobed::exporters
