#include "strobed/exporters/prometheus_remote_write/write_request.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <bit>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "prompb_test.pb.h"
#include "strobed/event/batch.h"

namespace strobed::exporters {
namespace {

// A decoded series: "name{a=\"x\",...}" (labels in wire order) → samples (ts, value).
using Samples = std::vector<std::pair<int64_t, double>>;

std::string SeriesKey(const prompb_test::TimeSeries& ts) {
  std::string k;
  for (const auto& l : ts.labels()) {
    if (!k.empty()) k += ",";
    k += l.name() + "=" + l.value();
  }
  return k;
}

class WriteRequestTest : public ::testing::Test {
 protected:
  void Make(WriteRequestOptions o) { builder_ = std::make_unique<WriteRequestBuilder>(o, keys_); }
  void SetUp() override {
    WriteRequestOptions o;
    o.send_metadata = false;
    Make(o);
  }

  event::Attribute Str(std::string_view key, std::string_view value) {
    return {*keys_.Intern(key), event::Value::String(value)};
  }
  event::MetricPoint& Point(std::string_view name, event::MetricType type,
                            std::vector<event::Attribute> labels = {}, uint64_t time_ms = 1000) {
    if (!batch_) batch_ = pool_.Acquire();
    labels_.push_back(std::move(labels));
    event::MetricPoint& p = batch_->AddMetric();
    p.name = name;
    p.type = type;
    p.labels = labels_.back();
    p.time_ns = time_ms * 1'000'000;
    p.temporality = event::Temporality::kCumulative;
    return p;
  }
  event::MetricPoint& Sum(std::string_view name, double v, bool monotonic,
                          std::vector<event::Attribute> labels = {}, uint64_t time_ms = 1000) {
    event::MetricPoint& p = Point(name, event::MetricType::kSum, std::move(labels), time_ms);
    p.double_value = v;
    p.is_monotonic = monotonic;
    return p;
  }

  // Maps the batch, encodes it, decodes every request with the generated classes; series of
  // all requests merged by label set (wire order checked to be sorted on the way).
  std::map<std::string, Samples> Decode(MapStats* stats = nullptr, size_t* requests = nullptr) {
    MapStats s = builder_->Add(batch_->metrics(), 777);
    if (stats != nullptr) *stats = s;
    std::map<std::string, Samples> out;
    metadata_.clear();
    bodies_.clear();
    const size_t n = builder_->Encode([&](const WriteRequestBuilder::Request& r) {
      bodies_.emplace_back(r.body);
      prompb_test::WriteRequest wr;
      EXPECT_TRUE(wr.ParseFromArray(r.body.data(), static_cast<int>(r.body.size())));
      EXPECT_EQ(static_cast<uint64_t>(wr.timeseries_size()), r.series);
      uint64_t samples = 0;
      for (const auto& ts : wr.timeseries()) {
        for (int i = 1; i < ts.labels_size(); ++i) {
          EXPECT_LT(ts.labels(i - 1).name(), ts.labels(i).name()) << SeriesKey(ts);
        }
        for (const auto& x : ts.samples()) out[SeriesKey(ts)].push_back({x.timestamp(), x.value()});
        samples += static_cast<uint64_t>(ts.samples_size());
      }
      EXPECT_EQ(samples, r.samples);
      for (const auto& m : wr.metadata()) metadata_.push_back(m);
      return true;
    });
    if (requests != nullptr) *requests = n;
    builder_->Clear();
    batch_.reset();
    return out;
  }

  event::KeyTable keys_;
  event::BatchPool pool_;
  event::BatchPtr batch_;
  std::vector<std::vector<event::Attribute>> labels_;
  std::unique_ptr<WriteRequestBuilder> builder_;
  std::vector<prompb_test::MetricMetadata> metadata_;
  std::vector<std::string> bodies_;
};

TEST(VarintTest, MatchesProtobuf) {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 16383ull, 16384ull, 1ull << 35, ~0ull}) {
    std::string s;
    AppendVarint(&s, v);
    prompb_test::Sample sample;
    sample.set_timestamp(static_cast<int64_t>(v));
    const std::string pb = sample.SerializeAsString();  // 0x10 + varint (nothing for 0)
    EXPECT_EQ(v == 0 ? std::string() : std::string(1, '\x10') + s, pb) << v;
    if (v == 0) {
      EXPECT_EQ(s, std::string(1, '\0'));
    }
  }
}

TEST_F(WriteRequestTest, CountersAndGaugesWithSortedLabels) {
  Sum("http.requests", 42, true, {Str("method", "GET"), Str("Zone", "eu")});
  Sum("queue.depth", -3, false, {Str("q", "a")});
  event::MetricPoint& g = Point("temp", event::MetricType::kGauge, {Str("room", "k")}, 2500);
  g.unit = "Cel";
  g.is_int = true;
  g.int_value = 21;
  MapStats stats;
  auto got = Decode(&stats);
  // "Zone" (upper case) sorts before "__name__"; lower-case names after it.
  std::map<std::string, Samples> want = {
      {"Zone=eu,__name__=http_requests_total,method=GET", {{1000, 42}}},
      {"__name__=queue_depth,q=a", {{1000, -3}}},
      {"__name__=temp_celsius,room=k", {{2500, 21}}},
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ(stats.points, 3u);
  EXPECT_EQ(stats.samples, 3u);
  EXPECT_EQ(stats.delta + stats.invalid, 0u);
}

TEST_F(WriteRequestTest, MetadataPerFamily) {
  WriteRequestOptions o;
  o.send_metadata = true;
  Make(o);
  Sum("jobs", 1, true).description = "Jobs run";
  event::MetricPoint& h = Point("lat", event::MetricType::kHistogram);
  static const double kB[] = {1};
  static const uint64_t kC[] = {1, 0};
  event::HistogramData hd{.count = 1, .sum = 0.5, .explicit_bounds = kB, .bucket_counts = kC};
  h.histogram = &hd;
  h.unit = "s";
  Decode();
  std::map<std::string, std::tuple<int, std::string, std::string>> got;
  for (const auto& m : metadata_) {
    got[m.metric_family_name()] = {static_cast<int>(m.type()), m.help(), m.unit()};
  }
  std::map<std::string, std::tuple<int, std::string, std::string>> want = {
      {"jobs_total", {prompb_test::MetricMetadata::COUNTER, "Jobs run", ""}},
      {"lat_seconds", {prompb_test::MetricMetadata::HISTOGRAM, "", "seconds"}},
  };
  EXPECT_EQ(got, want);
}

TEST_F(WriteRequestTest, HistogramAsCumulativeBuckets) {
  static const double kBounds[] = {0.005, 1, 2.5};
  static const uint64_t kCounts[] = {2, 3, 0, 1};
  event::HistogramData h{
      .count = 6, .sum = 7.25, .explicit_bounds = kBounds, .bucket_counts = kCounts};
  event::MetricPoint& p =
      Point("rpc.latency", event::MetricType::kHistogram, {Str("le", "mine"), Str("op", "x")});
  p.unit = "s";
  p.histogram = &h;
  auto got = Decode();
  const std::string l = ",exported_le=mine,";
  std::map<std::string, Samples> want = {
      {"__name__=rpc_latency_seconds_bucket" + l + "le=0.005,op=x", {{1000, 2}}},
      {"__name__=rpc_latency_seconds_bucket" + l + "le=1,op=x", {{1000, 5}}},
      {"__name__=rpc_latency_seconds_bucket" + l + "le=2.5,op=x", {{1000, 5}}},
      {"__name__=rpc_latency_seconds_bucket" + l + "le=+Inf,op=x", {{1000, 6}}},
      {"__name__=rpc_latency_seconds_sum" + l + "op=x", {{1000, 7.25}}},
      {"__name__=rpc_latency_seconds_count" + l + "op=x", {{1000, 6}}},
  };
  EXPECT_EQ(got, want);
}

TEST_F(WriteRequestTest, ExponentialHistogramToConfiguredBounds) {
  // As the prometheus exporter's test: scale 0, every bound a bucket edge, so exact counts.
  WriteRequestOptions o;
  o.send_metadata = false;
  o.histogram_buckets = {{"pay*", {-1, 0, 2, 4}}};
  Make(o);
  static const uint64_t kPos[] = {1, 2};  // (1,2]: 1, (2,4]: 2
  static const uint64_t kNeg[] = {1};     // [-2,-1): 1
  event::ExponentialHistogramData e{.count = 5,
                                    .sum = 7.5,
                                    .scale = 0,
                                    .zero_count = 1,
                                    .positive = {0, kPos},
                                    .negative = {0, kNeg}};
  event::MetricPoint& p = Point("payload", event::MetricType::kExponentialHistogram);
  p.unit = "By";
  p.exp_histogram = &e;
  auto got = Decode();
  std::map<std::string, Samples> want = {
      {"__name__=payload_bytes_bucket,le=-1", {{1000, 1}}},
      {"__name__=payload_bytes_bucket,le=0", {{1000, 2}}},
      {"__name__=payload_bytes_bucket,le=2", {{1000, 3}}},
      {"__name__=payload_bytes_bucket,le=4", {{1000, 5}}},
      {"__name__=payload_bytes_bucket,le=+Inf", {{1000, 5}}},
      {"__name__=payload_bytes_sum", {{1000, 7.5}}},
      {"__name__=payload_bytes_count", {{1000, 5}}},
  };
  EXPECT_EQ(got, want);
}

TEST_F(WriteRequestTest, SummaryQuantilesSumAndCount) {
  static const event::QuantileValue kQ[] = {{0.5, 0.4}, {0.99, 1.25}};
  event::SummaryData s{.count = 10, .sum = 5.5, .quantiles = kQ};
  event::MetricPoint& p =
      Point("rpc.duration", event::MetricType::kSummary, {Str("quantile", "q"), Str("m", "Get")});
  p.summary = &s;
  auto got = Decode();
  std::map<std::string, Samples> want = {
      {"__name__=rpc_duration,exported_quantile=q,m=Get,quantile=0.5", {{1000, 0.4}}},
      {"__name__=rpc_duration,exported_quantile=q,m=Get,quantile=0.99", {{1000, 1.25}}},
      {"__name__=rpc_duration_sum,exported_quantile=q,m=Get", {{1000, 5.5}}},
      {"__name__=rpc_duration_count,exported_quantile=q,m=Get", {{1000, 10}}},
  };
  EXPECT_EQ(got, want);
}

TEST_F(WriteRequestTest, ResourceJobInstanceTargetInfoAndExternalLabels) {
  WriteRequestOptions o;
  o.send_metadata = false;
  o.external_labels = {{"cluster", "c1"}, {"region", "r1"}};  // sorted, as Create leaves them
  Make(o);
  const event::Attribute res_attrs[] = {Str("service.name", "checkout"),
                                        Str("service.namespace", "shop"),
                                        Str("service.instance.id", "i-1"), Str("host.name", "box")};
  event::Resource res;
  res.attributes = res_attrs;
  Sum("orders", 3, true, {Str("job", "mine"), Str("region", "own")}).resource = &res;
  Sum("orders", 4, true, {Str("job", "other"), Str("empty", "")}, 2000).resource = &res;
  auto got = Decode();
  std::map<std::string, Samples> want = {
      {"__name__=orders_total,cluster=c1,exported_job=mine,instance=i-1,job=shop/checkout,"
       "region=own",
       {{1000, 3}}},
      {"__name__=orders_total,cluster=c1,exported_job=other,instance=i-1,job=shop/checkout,"
       "region=r1",
       {{2000, 4}}},
      {"__name__=target_info,cluster=c1,host_name=box,instance=i-1,job=shop/checkout,region=r1",
       {{1000, 1}}},
  };
  EXPECT_EQ(got, want);
}

TEST_F(WriteRequestTest, DeltasAndMalformedPointsAreRefusedAndCounted) {
  Sum("a", 1, true).temporality = event::Temporality::kDelta;
  Sum("b", 1, false).temporality = event::Temporality::kDelta;
  Sum("c", 1, true).temporality = event::Temporality::kUnspecified;
  static const double kB[] = {2, 1};  // not increasing
  static const uint64_t kC[] = {0, 0, 0};
  event::HistogramData bad{.explicit_bounds = kB, .bucket_counts = kC};
  Point("h", event::MetricType::kHistogram).histogram = &bad;
  Sum("ok", 5, true);
  MapStats stats;
  auto got = Decode(&stats);
  EXPECT_EQ(got, (std::map<std::string, Samples>{{"__name__=ok_total", {{1000, 5}}}}));
  EXPECT_EQ(stats.points, 1u);
  EXPECT_EQ(stats.delta, 2u);
  EXPECT_EQ(stats.invalid, 2u);
}

TEST_F(WriteRequestTest, SamplesInTimestampOrderLaterDuplicateWins) {
  Sum("c", 3, true, {}, 3000);
  Sum("c", 1, true, {}, 1000);
  Sum("c", 2, true, {}, 2000);
  Sum("c", 9, true, {}, 1000);           // same timestamp as the second: replaces it
  Sum("c", 7, true, {}, 0).time_ns = 0;  // no time: now_ms (777)
  auto got = Decode();
  EXPECT_EQ(got, (std::map<std::string, Samples>{
                     {"__name__=c_total", {{777, 7}, {1000, 9}, {2000, 2}, {3000, 3}}}}));
}

TEST_F(WriteRequestTest, NoRecordedValueWritesStaleMarkers) {
  Sum("gone", 5, true).flags = 1;
  auto got = Decode();
  ASSERT_EQ(got.size(), 1u);
  const double v = got["__name__=gone_total"].at(0).second;
  EXPECT_EQ(std::bit_cast<uint64_t>(v), 0x7ff0000000000002ull);
}

TEST_F(WriteRequestTest, SplitsBySamplesAndBytesKeepingOrder) {
  WriteRequestOptions o;
  o.send_metadata = false;
  o.max_samples_per_request = 3;
  Make(o);
  for (uint64_t t = 1; t <= 7; ++t) Sum("long", static_cast<double>(t), true, {}, t * 1000);
  Sum("short", 1, true);
  size_t requests = 0;
  auto got = Decode(nullptr, &requests);
  EXPECT_EQ(requests, 3u);  // 8 samples, 3 per request
  Samples want_long;
  for (int64_t t = 1; t <= 7; ++t) want_long.push_back({t * 1000, static_cast<double>(t)});
  EXPECT_EQ(got["__name__=long_total"], want_long);
  EXPECT_EQ(got["__name__=short_total"], (Samples{{1000, 1}}));

  // Bytes: 200 series with a 100-byte label value (~130 bytes each) under 1 KiB requests.
  o.max_samples_per_request = 1'000'000;
  o.max_request_bytes = 1024;
  Make(o);
  const std::string big(100, 'v');
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(std::to_string(1000 + i));
  for (const std::string& id : ids) Sum("wide", 1, true, {Str("id", id), Str("pad", big)});
  got = Decode(nullptr, &requests);
  EXPECT_EQ(got.size(), 200u);
  EXPECT_GT(requests, 20u);
  for (const std::string& b : bodies_) EXPECT_LE(b.size(), 1024u);
}

TEST_F(WriteRequestTest, SnappyRoundTrip) {
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(std::to_string(i));
  for (int i = 0; i < 50; ++i) Sum("x", i, true, {Str("i", ids[static_cast<size_t>(i)])});
  Decode();
  ASSERT_EQ(bodies_.size(), 1u);
  std::string compressed, back;
  snappy::Compress(bodies_[0].data(), bodies_[0].size(), &compressed);
  EXPECT_LT(compressed.size(), bodies_[0].size());
  ASSERT_TRUE(snappy::Uncompress(compressed.data(), compressed.size(), &back));
  EXPECT_EQ(back, bodies_[0]);
  prompb_test::WriteRequest wr;
  ASSERT_TRUE(wr.ParseFromString(back));
  EXPECT_EQ(wr.timeseries_size(), 50);
}

}  // namespace
}  // namespace strobed::exporters
