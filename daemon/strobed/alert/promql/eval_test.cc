#include "strobed/alert/promql/eval.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <string>
#include <thread>

#include "strobe/metrics/histogram.h"
#include "strobe/metrics/registry.h"
#include "strobed/alert/promql/ast.h"
#include "strobed/alert/promql/history.h"

namespace strobed::alert::promql {
namespace {

// `name{a="b",...}` of a result sample (labels already sorted; __name__ shown as the name).
std::string Key(const Labels& labels) {
  std::string name;
  std::string rest;
  for (const auto& l : labels) {
    if (l.name == "__name__") {
      name = l.value;
      continue;
    }
    if (!rest.empty()) rest += ",";
    rest += l.name + "=\"" + l.value + "\"";
  }
  return name + "{" + rest + "}";
}

class PromqlEvalTest : public ::testing::Test {
 protected:
  void Add(Labels labels, int64_t t_ms, double v) { h_.AppendSample(labels, t_ms, v); }

  std::map<std::string, double> Vec(std::string_view text, int64_t t_ms) {
    auto e = Parse(text);
    EXPECT_TRUE(e.ok()) << text << ": " << e.status().ToString();
    if (!e.ok()) return {};
    auto v = Evaluate(*e, h_, t_ms);
    EXPECT_TRUE(v.ok()) << text << ": " << v.status().ToString();
    if (!v.ok()) return {};
    EXPECT_EQ(v->kind, Value::Kind::kVector) << text;
    std::map<std::string, double> out;
    for (const Sample& s : v->vector) {
      EXPECT_TRUE(out.emplace(Key(s.labels), s.value).second) << text << ": duplicate";
    }
    return out;
  }
  double One(std::string_view text, int64_t t_ms) {
    auto m = Vec(text, t_ms);
    EXPECT_EQ(m.size(), 1u) << text;
    return m.empty() ? NAN : m.begin()->second;
  }
  double Scalar(std::string_view text, int64_t t_ms) {
    auto e = Parse(text);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    auto v = Evaluate(*e, h_, t_ms);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->kind, Value::Kind::kScalar);
    return v->scalar;
  }
  std::string Error(std::string_view text, int64_t t_ms) {
    auto e = Parse(text);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    auto v = Evaluate(*e, h_, t_ms);
    EXPECT_FALSE(v.ok()) << text;
    return v.ok() ? "" : v.status().message();
  }

  // Counter c_total{job="a"}: 10, 25, 40, 55 at 5 s, 20 s, 35 s, 50 s (1/s).
  // Counter r_total{job="a"} with a reset: 10, 25, 5, 20 at the same times.
  void CounterSeries() {
    const int64_t ts[] = {5000, 20000, 35000, 50000};
    const double c[] = {10, 25, 40, 55};
    const double r[] = {10, 25, 5, 20};
    for (int i = 0; i < 4; ++i) {
      Add({{"__name__", "c_total"}, {"job", "a"}}, ts[i], c[i]);
      Add({{"__name__", "r_total"}, {"job", "a"}}, ts[i], r[i]);
    }
  }

  History h_{History::Options{}};
};

TEST_F(PromqlEvalTest, InstantSelectorLookbackAndOffset) {
  Add({{"__name__", "g"}, {"i", "1"}}, 0, 7);
  EXPECT_EQ(Vec("g", 300'000), (std::map<std::string, double>{{"g{i=\"1\"}", 7}}));
  EXPECT_TRUE(Vec("g", 300'001).empty());  // older than the 5 m lookback
  EXPECT_TRUE(Vec("g", -1).empty());       // in the future of t
  Add({{"__name__", "g"}, {"i", "1"}}, 60'000, 8);
  EXPECT_EQ(One("g", 60'000), 8);
  EXPECT_EQ(One("g offset 1m", 60'000), 7);
  EXPECT_EQ(One("g offset 30s", 60'000), 7);
  // A stale marker ends the series at once.
  h_.AppendStale({{"__name__", "g"}, {"i", "1"}}, 70'000);
  EXPECT_TRUE(Vec("g", 70'000).empty());
  EXPECT_EQ(One("g", 69'999), 8);
  // Its range functions skip the marker.
  EXPECT_EQ(One("count_over_time(g[2m])", 70'000), 2);
}

TEST_F(PromqlEvalTest, RateIncreaseDeltaExtrapolateAsPrometheus) {
  CounterSeries();
  // Window [0, 60 s]: 45 s sampled, 5 s to the start and 10 s to the end are within 1.1
  // average intervals (16.5 s), so the 45 increase extrapolates to 60 s: 60, rate 1/s.
  EXPECT_DOUBLE_EQ(One("increase(c_total[1m])", 60'000), 60);
  EXPECT_DOUBLE_EQ(One("rate(c_total[1m])", 60'000), 1);
  // Reset: 15 + (25 reset) + ... = 20 - 10 + 25 = 35 over 45 s -> 35 * 60 / 45.
  EXPECT_DOUBLE_EQ(One("increase(r_total[1m])", 60'000), 35.0 * 60 / 45);
  EXPECT_DOUBLE_EQ(One("rate(r_total[1m])", 60'000), 35.0 / 45);
  // delta does not treat the drop as a reset: 10 extrapolated to 60 s.
  EXPECT_DOUBLE_EQ(One("delta(r_total[1m])", 60'000), 10.0 * 60 / 45);
  // Names are dropped.
  EXPECT_EQ(Vec("rate(c_total[1m])", 60'000).begin()->first, "{job=\"a\"}");
  // Fewer than two samples: no result.
  EXPECT_TRUE(Vec("rate(c_total[10s])", 60'000).empty());
}

TEST_F(PromqlEvalTest, RateExtrapolationStopsAtTheCounterZeroPoint) {
  // 1, 2, 3 at 40 s, 50 s, 60 s; window [0, 60 s]. The start is 40 s away (beyond 11 s), but
  // the counter would reach zero 10 s before its first sample: extrapolate by 10 s, not by
  // half an interval, so 2 * (20 + 10 + 0) / 20 = 3; rate 3 / 60.
  for (int i = 0; i < 3; ++i) Add({{"__name__", "z_total"}}, 40'000 + i * 10'000, 1 + i);
  EXPECT_DOUBLE_EQ(One("increase(z_total[1m])", 60'000), 3);
  EXPECT_DOUBLE_EQ(One("rate(z_total[1m])", 60'000), 0.05);
  // Far from both edges (window [-30 s, 90 s]): half an interval each side, 2 * (20+5+5)/20.
  EXPECT_DOUBLE_EQ(One("delta(z_total[2m] offset 0s)", 90'000), 3);
}

TEST_F(PromqlEvalTest, IrateAndIdeltaUseTheLastTwoSamples) {
  CounterSeries();
  EXPECT_DOUBLE_EQ(One("irate(c_total[1m])", 60'000), 1);
  EXPECT_DOUBLE_EQ(One("irate(r_total[1m])", 40'000), 5.0 / 15);  // reset: 25 -> 5
  EXPECT_DOUBLE_EQ(One("idelta(r_total[1m])", 40'000), -20);
}

TEST_F(PromqlEvalTest, OverTimeFunctions) {
  CounterSeries();
  EXPECT_DOUBLE_EQ(One("avg_over_time(r_total[1m])", 60'000), 15);
  EXPECT_DOUBLE_EQ(One("min_over_time(r_total[1m])", 60'000), 5);
  EXPECT_DOUBLE_EQ(One("max_over_time(r_total[1m])", 60'000), 25);
  EXPECT_DOUBLE_EQ(One("sum_over_time(r_total[1m])", 60'000), 60);
  EXPECT_DOUBLE_EQ(One("count_over_time(r_total[1m])", 60'000), 4);
  // The range includes its start: [20 s, 50 s] holds three samples.
  EXPECT_DOUBLE_EQ(One("count_over_time(r_total[30s])", 50'000), 3);
  // last_over_time keeps the name, the others drop it.
  EXPECT_EQ(Vec("last_over_time(r_total[1m])", 60'000),
            (std::map<std::string, double>{{"r_total{job=\"a\"}", 20}}));
  EXPECT_EQ(Vec("max_over_time(r_total[1m])", 60'000).begin()->first, "{job=\"a\"}");
}

TEST_F(PromqlEvalTest, HistogramQuantileInterpolatesWithinBuckets) {
  auto bucket = [&](const char* job, const char* le, double v) {
    Add({{"__name__", "l_bucket"}, {"job", job}, {"le", le}}, 1000, v);
  };
  bucket("a", "0.1", 10);
  bucket("a", "0.5", 30);
  bucket("a", "1", 40);
  bucket("a", "+Inf", 40);
  // Rank 20 falls in (0.1, 0.5] holding 20: 0.1 + 0.4 * 10/20.
  EXPECT_DOUBLE_EQ(One("histogram_quantile(0.5, l_bucket)", 1000), 0.3);
  EXPECT_DOUBLE_EQ(One("histogram_quantile(0.99, l_bucket)", 1000), 0.98);
  EXPECT_DOUBLE_EQ(One("histogram_quantile(0.05, l_bucket)", 1000), 0.02);  // from 0
  EXPECT_EQ(One("histogram_quantile(1.5, l_bucket)", 1000), INFINITY);
  EXPECT_EQ(One("histogram_quantile(-1, l_bucket)", 1000), -INFINITY);
  EXPECT_EQ(Vec("histogram_quantile(0.5, l_bucket)", 1000).begin()->first, "{job=\"a\"}");

  // Rank in the +Inf bucket: the highest finite bound.
  bucket("b", "1", 40);
  bucket("b", "+Inf", 50);
  EXPECT_DOUBLE_EQ(Vec("histogram_quantile(0.9, l_bucket)", 1000).at("{job=\"b\"}"), 1);
  // Non-monotonic counts are made monotonic: 8 becomes 10, rank 10 ends bucket 0.1.
  bucket("c", "0.1", 10);
  bucket("c", "0.5", 8);
  bucket("c", "+Inf", 40);
  EXPECT_DOUBLE_EQ(Vec("histogram_quantile(0.25, l_bucket)", 1000).at("{job=\"c\"}"), 0.1);
  // No +Inf bucket, or no observations: NaN.
  bucket("d", "0.1", 10);
  bucket("e", "0.1", 0);
  bucket("e", "+Inf", 0);
  auto m = Vec("histogram_quantile(0.5, l_bucket)", 1000);
  EXPECT_TRUE(std::isnan(m.at("{job=\"d\"}")));
  EXPECT_TRUE(std::isnan(m.at("{job=\"e\"}")));
  // Buckets whose le is not a number (or NaN) are skipped; a group of only those is absent.
  bucket("f", "NaN", 3);
  bucket("f", "x", 3);
  EXPECT_EQ(Vec("histogram_quantile(0.5, l_bucket)", 1000).count("{job=\"f\"}"), 0u);
  // Over rates, as rules use it, with sum by (le).
  EXPECT_DOUBLE_EQ(One("histogram_quantile(0.5, sum by (le) (l_bucket{job=\"a\"}))", 1000), 0.3);
}

class PromqlEvalVectors : public PromqlEvalTest {
 protected:
  void SetUp() override {
    Add({{"__name__", "x"}, {"job", "a"}, {"inst", "1"}}, 1000, 1);
    Add({{"__name__", "x"}, {"job", "a"}, {"inst", "2"}}, 1000, 3);
    Add({{"__name__", "x"}, {"job", "b"}, {"inst", "1"}}, 1000, 5);
    Add({{"__name__", "req"}, {"job", "a"}, {"code", "200"}}, 1000, 8);
    Add({{"__name__", "req"}, {"job", "a"}, {"code", "500"}}, 1000, 2);
    Add({{"__name__", "req"}, {"job", "b"}, {"code", "200"}}, 1000, 10);
    Add({{"__name__", "tot"}, {"job", "a"}}, 1000, 10);
    Add({{"__name__", "tot"}, {"job", "b"}}, 1000, 10);
    Add({{"__name__", "info"}, {"job", "a"}, {"team", "x"}}, 1000, 1);
  }
  using M = std::map<std::string, double>;
};

TEST_F(PromqlEvalVectors, Aggregations) {
  EXPECT_EQ(Vec("sum by (job) (x)", 1000), (M{{"{job=\"a\"}", 4}, {"{job=\"b\"}", 5}}));
  EXPECT_EQ(Vec("sum(x) by (job)", 1000), (M{{"{job=\"a\"}", 4}, {"{job=\"b\"}", 5}}));
  EXPECT_EQ(Vec("avg by (job) (x)", 1000), (M{{"{job=\"a\"}", 2}, {"{job=\"b\"}", 5}}));
  EXPECT_EQ(Vec("min by (job) (x)", 1000), (M{{"{job=\"a\"}", 1}, {"{job=\"b\"}", 5}}));
  EXPECT_EQ(Vec("max by (job) (x)", 1000), (M{{"{job=\"a\"}", 3}, {"{job=\"b\"}", 5}}));
  EXPECT_EQ(Vec("count without (inst) (x)", 1000), (M{{"{job=\"a\"}", 2}, {"{job=\"b\"}", 1}}));
  EXPECT_EQ(Vec("sum(x)", 1000), (M{{"{}", 9}}));
  EXPECT_EQ(Vec("sum by (nope) (x)", 1000), (M{{"{}", 9}}));
  EXPECT_EQ(Vec("max without () (x)", 1000), (M{{"{inst=\"1\",job=\"a\"}", 1},
                                                {"{inst=\"2\",job=\"a\"}", 3},
                                                {"{inst=\"1\",job=\"b\"}", 5}}));
  EXPECT_TRUE(Vec("sum(nothing)", 1000).empty());
}

TEST_F(PromqlEvalVectors, ArithmeticAndComparisonsWithScalars) {
  EXPECT_EQ(Vec("x{job=\"b\"} * 2 + 1", 1000), (M{{"{inst=\"1\",job=\"b\"}", 11}}));
  EXPECT_EQ(Vec("-x{job=\"b\"}", 1000), (M{{"{inst=\"1\",job=\"b\"}", -5}}));
  EXPECT_EQ(Vec("x > 2", 1000),
            (M{{"x{inst=\"2\",job=\"a\"}", 3}, {"x{inst=\"1\",job=\"b\"}", 5}}));
  EXPECT_EQ(Vec("2 < x", 1000),  // the vector's value is kept
            (M{{"x{inst=\"2\",job=\"a\"}", 3}, {"x{inst=\"1\",job=\"b\"}", 5}}));
  EXPECT_EQ(Vec("x > bool 2", 1000), (M{{"{inst=\"1\",job=\"a\"}", 0},
                                        {"{inst=\"2\",job=\"a\"}", 1},
                                        {"{inst=\"1\",job=\"b\"}", 1}}));
  EXPECT_EQ(Vec("x == 3", 1000), (M{{"x{inst=\"2\",job=\"a\"}", 3}}));
  EXPECT_EQ(Vec("x != 3", 1000).size(), 2u);
  EXPECT_EQ(Vec("x <= 3 >= 3", 1000), (M{{"x{inst=\"2\",job=\"a\"}", 3}}));
  EXPECT_EQ(Vec("x{job=\"b\"} % 3 ^ 2", 1000), (M{{"{inst=\"1\",job=\"b\"}", 5}}));
  EXPECT_EQ(Vec("x{job=\"b\"} / 0", 1000), (M{{"{inst=\"1\",job=\"b\"}", INFINITY}}));
  EXPECT_DOUBLE_EQ(Scalar("2 ^ 3 ^ 2", 0), 512);
  EXPECT_DOUBLE_EQ(Scalar("-2 ^ 2", 0), -4);
  EXPECT_DOUBLE_EQ(Scalar("7 % 4 * 2 - 1", 0), 5);
  EXPECT_DOUBLE_EQ(Scalar("1 < bool 2", 0), 1);
  EXPECT_DOUBLE_EQ(Scalar("time()", 90'500), 90.5);
  EXPECT_DOUBLE_EQ(Scalar("scalar(tot{job=\"a\"})", 1000), 10);
  EXPECT_TRUE(std::isnan(Scalar("scalar(tot)", 1000)));
  EXPECT_EQ(Vec("vector(3)", 1000), (M{{"{}", 3}}));
  EXPECT_EQ(Vec("clamp_max(x, 2)", 1000).at("{inst=\"1\",job=\"b\"}"), 2);
  EXPECT_EQ(Vec("clamp_min(abs(-x), 4)", 1000).at("{inst=\"1\",job=\"a\"}"), 4);
}

TEST_F(PromqlEvalVectors, VectorMatching) {
  // One-to-one by all labels but the name.
  EXPECT_EQ(Vec("sum by (job) (req) / tot", 1000), (M{{"{job=\"a\"}", 1}, {"{job=\"b\"}", 1}}));
  // Many-to-one.
  const M ratio = {{"{code=\"200\",job=\"a\"}", 0.8},
                   {"{code=\"500\",job=\"a\"}", 0.2},
                   {"{code=\"200\",job=\"b\"}", 1}};
  EXPECT_EQ(Vec("req / on(job) group_left tot", 1000), ratio);
  EXPECT_EQ(Vec("req / ignoring(code) group_left tot", 1000), ratio);
  // One-to-many: the "many" side is on the right; its labels are kept.
  EXPECT_EQ(Vec("tot / on(job) group_right req", 1000), (M{{"{code=\"200\",job=\"a\"}", 1.25},
                                                           {"{code=\"500\",job=\"a\"}", 5},
                                                           {"{code=\"200\",job=\"b\"}", 1}}));
  // group_left(label) copies the label from the one side.
  EXPECT_EQ(
      Vec("req * on(job) group_left(team) info", 1000),
      (M{{"{code=\"200\",job=\"a\",team=\"x\"}", 8}, {"{code=\"500\",job=\"a\",team=\"x\"}", 2}}));
  // on() one-to-one keeps only the on labels.
  EXPECT_EQ(Vec("tot + on(job) tot", 1000), (M{{"{job=\"a\"}", 20}, {"{job=\"b\"}", 20}}));
  // Comparison between vectors filters and keeps the left side's name.
  EXPECT_EQ(Vec("req > on(job) group_left tot - 3", 1000),
            (M{{"req{code=\"200\",job=\"a\"}", 8}, {"req{code=\"200\",job=\"b\"}", 10}}));
  EXPECT_EQ(Vec("req >= bool on(job) group_left tot", 1000), (M{{"{code=\"200\",job=\"a\"}", 0},
                                                                {"{code=\"500\",job=\"a\"}", 0},
                                                                {"{code=\"200\",job=\"b\"}", 1}}));
  // Errors as Prometheus.
  EXPECT_EQ(Error("req / on(job) tot", 1000),
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
  EXPECT_NE(Error("tot / on(job) group_left req", 1000).find("many-to-many matching not allowed"),
            std::string::npos);
  EXPECT_EQ(Error("req / on(job) group_left(code) tot", 1000),
            "multiple matches for labels: grouping labels must ensure unique matches");
}

TEST_F(PromqlEvalVectors, SetOperators) {
  EXPECT_EQ(Vec("x and on(job) tot{job=\"a\"}", 1000),
            (M{{"x{inst=\"1\",job=\"a\"}", 1}, {"x{inst=\"2\",job=\"a\"}", 3}}));
  EXPECT_EQ(Vec("x unless on(job) tot{job=\"a\"}", 1000), (M{{"x{inst=\"1\",job=\"b\"}", 5}}));
  EXPECT_EQ(Vec("tot{job=\"a\"} or tot", 1000),
            (M{{"tot{job=\"a\"}", 10}, {"tot{job=\"b\"}", 10}}));
  EXPECT_EQ(Vec("x{job=\"b\"} or ignoring(inst) tot", 1000),
            (M{{"x{inst=\"1\",job=\"b\"}", 5}, {"tot{job=\"a\"}", 10}}));
  EXPECT_TRUE(Vec("x and nothing", 1000).empty());
  // Precedence: and binds tighter than or.
  EXPECT_EQ(Vec("tot{job=\"a\"} or tot{job=\"b\"} and nothing", 1000), (M{{"tot{job=\"a\"}", 10}}));
}

TEST_F(PromqlEvalVectors, Absent) {
  EXPECT_TRUE(Vec("absent(x)", 1000).empty());
  EXPECT_EQ(Vec("absent(nope{job=\"a\", inst=~\"1\", z=\"q\", z=\"r\"})", 1000),
            (M{{"{job=\"a\"}", 1}}));
  EXPECT_EQ(Vec("absent(sum(nope))", 1000), (M{{"{}", 1}}));
  EXPECT_EQ(Vec("absent(x > 100)", 1000), (M{{"{}", 1}}));
}

TEST_F(PromqlEvalVectors, SameLabelsetAfterDroppingTheNameIsAnError) {
  Add({{"__name__", "y"}, {"job", "b"}, {"inst", "1"}}, 1000, 6);
  EXPECT_EQ(Error("{__name__=~\"x|y\", job=\"b\"} * 2", 1000),
            "vector cannot contain metrics with the same labelset");
  EXPECT_EQ(Vec("{__name__=~\"x|y\", job=\"b\"}", 1000).size(), 2u);
}

TEST_F(PromqlEvalVectors, RangeVectorResultIsAnError) {
  EXPECT_NE(Error("x[5m]", 1000).find("range vector"), std::string::npos);
}

TEST_F(PromqlEvalVectors, ConcurrentEvaluationsShareTheHistory) {
  auto e = Parse("sum by (job) (x) > 1");
  ASSERT_TRUE(e.ok());
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 200; ++k) {
        auto v = Evaluate(*e, h_, 1000);
        if (v.ok() && v->vector.size() == 2) good.fetch_add(1);
      }
    });
  }
  for (int k = 0; k < 200; ++k) Add({{"__name__", "w"}, {"k", std::to_string(k)}}, 1000, k);
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 800);
}

// Native histograms, hand-derived at scale 0 (base 2): bucket i holds (2^i, 2^(i+1)].
NativeHistogram Hist(double zero, int32_t offset, std::vector<double> counts, double sum,
                     int32_t scale = 0) {
  NativeHistogram h;
  h.zero_count = zero;
  h.offset = offset;
  h.scale = scale;
  h.count = zero;
  for (double c : counts) h.count += c;
  h.counts = std::move(counts);
  h.sum = sum;
  return h;
}

class PromqlNativeHistogramTest : public PromqlEvalTest {
 protected:
  void SetUp() override {
    // zero 1, (1,2] 2, (2,4] 4, (4,8] 2: count 9, sum 30 at t=0; the double at t=10 s.
    h_.AppendHistogram({{"__name__", "lat"}, {"job", "a"}}, 0, Hist(1, 0, {2, 4, 2}, 30));
    h_.AppendHistogram({{"__name__", "lat"}, {"job", "a"}}, 10'000, Hist(2, 0, {4, 8, 4}, 60));
  }
};

TEST_F(PromqlNativeHistogramTest, QuantileCountSumFractionOfTheNewestHistogram) {
  // At t=5 s the newest histogram is the first one (count 9).
  // q=0.5: rank 4.5; cumulative 1 (zero), 3 (1,2], 7 (2,4] >= 4.5; 1.5 of 4 into (2,4]:
  // 2 + 2 x 1.5/4 = 2.75.
  EXPECT_DOUBLE_EQ(One("histogram_quantile(0.5, lat)", 5000), 2.75);
  // q=0.95: rank 8.55 in (4,8] (cumulative 7 before it): 4 + 4 x 1.55/2 = 7.1.
  EXPECT_DOUBLE_EQ(One("histogram_quantile(0.95, lat)", 5000), 7.1);
  // q=0.1: rank 0.9 in the zero bucket: 0.
  EXPECT_DOUBLE_EQ(One("histogram_quantile(0.1, lat)", 5000), 0);
  EXPECT_TRUE(std::isinf(One("histogram_quantile(2, lat)", 5000)));
  EXPECT_EQ(One("histogram_count(lat)", 5000), 9);
  EXPECT_EQ(One("histogram_sum(lat)", 5000), 30);
  // [0, 3]: the zero bucket (1), (1,2] (2), half of (2,4] (2): 5 of 9.
  EXPECT_DOUBLE_EQ(One("histogram_fraction(0, 3, lat)", 5000), 5.0 / 9);
  // Labels: the name is dropped, the rest kept.
  EXPECT_EQ(Vec("histogram_count(lat)", 5000), (std::map<std::string, double>{{"{job=\"a\"}", 9}}));
  // At t=10 s the newest is the second one (count 18).
  EXPECT_EQ(One("histogram_count(lat)", 10'000), 18);
}

TEST_F(PromqlNativeHistogramTest, RateAndIncreaseAreHistograms) {
  // Samples at 0 and 10 s, the range [0, 10 s]: no extrapolation; rate = difference / 10 s:
  // zero 0.1, buckets 0.2 0.4 0.2, count 0.9, sum 3. The quantiles keep the shape: 2.75.
  EXPECT_DOUBLE_EQ(One("histogram_count(rate(lat[10s]))", 10'000), 0.9);
  EXPECT_DOUBLE_EQ(One("histogram_sum(rate(lat[10s]))", 10'000), 3);
  EXPECT_DOUBLE_EQ(One("histogram_quantile(0.5, rate(lat[10s]))", 10'000), 2.75);
  EXPECT_DOUBLE_EQ(One("histogram_count(increase(lat[10s]))", 10'000), 9);
  // Floats only: arithmetic and float functions skip histogram samples.
  EXPECT_TRUE(Vec("lat * 2", 5000).empty());
  EXPECT_TRUE(Vec("abs(lat)", 5000).empty());
  EXPECT_TRUE(Vec("avg_over_time(lat[10s])", 10'000).empty());
  EXPECT_TRUE(Vec("last_over_time(lat[10s])", 10'000).empty());
  // count_over_time counts histogram samples (the name dropped).
  EXPECT_EQ(Vec("count_over_time(lat[10s])", 10'000),
            (std::map<std::string, double>{{"{job=\"a\"}", 2}}));
  // ... the set operators keep them.
  EXPECT_EQ(Vec("histogram_count(lat and lat)", 5000).size(), 1u);
}

TEST_F(PromqlNativeHistogramTest, CounterResetsAreAddedBack) {
  // (1,2] (2,4] (4,8]: [2,4,2] at 0, reset to [1,0,0] at 5 s, [2,1,0] at 10 s.
  h_.AppendHistogram({{"__name__", "r"}}, 0, Hist(0, 0, {2, 4, 2}, 0));
  h_.AppendHistogram({{"__name__", "r"}}, 5000, Hist(0, 0, {1, 0, 0}, 0));
  h_.AppendHistogram({{"__name__", "r"}}, 10'000, Hist(0, 0, {2, 1, 0}, 0));
  // last - first + the histogram before the reset = [2,1,0]: count 3, no extrapolation.
  EXPECT_DOUBLE_EQ(One("histogram_count(increase(r[10s]))", 10'000), 3);
  // rank 1.5 of [2,1,0] lies in (1,2]: 1 + 1 x 1.5/2 = 1.75.
  EXPECT_DOUBLE_EQ(One("histogram_quantile(0.5, increase(r[10s]))", 10'000), 1.75);
}

TEST_F(PromqlNativeHistogramTest, SumMergesScales) {
  // Scale 1: (1,√2] 1 and (√2,2] 1 merge into scale 0's (1,2]; plus (2,4] 3 at scale 0.
  h_.AppendHistogram({{"__name__", "m"}, {"k", "1"}}, 0, Hist(0, 0, {1, 1}, 3, 1));
  h_.AppendHistogram({{"__name__", "m"}, {"k", "2"}}, 0, Hist(0, 1, {3}, 9));
  EXPECT_EQ(One("histogram_count(sum(m))", 0), 5);
  EXPECT_EQ(One("histogram_sum(sum(m))", 0), 12);
  // rank 2.5: (1,2] holds 2, then 0.5 of 3 into (2,4]: 2 + 2 x 0.5/3.
  EXPECT_DOUBLE_EQ(One("histogram_quantile(0.5, sum(m))", 0), 2 + 2 * 0.5 / 3);
  EXPECT_EQ(One("count(m)", 0), 2);
  EXPECT_TRUE(Vec("max(m)", 0).empty());
}

TEST(PromqlNativeHistogramRegistryTest, StrobeHistogramQuantileWithinTheBucketWidth) {
  // A libstrobe histogram (scale 6, values in ns exposed as seconds): the native quantile
  // lies within one bucket (2^(1/64) - 1 = 1.09%) of the exact order statistic, where the
  // classic `le` buckets /metrics shows (1-2.5-5 steps) are 2.5x wide.
  strobe::metrics::Registry registry;
  strobe::metrics::HistogramOptions options;
  options.unit_scale = 1e-9;
  auto* lat = registry.AddHistogram({"op_seconds", "Op latency", "seconds"}, options).value();
  for (uint64_t v = 1; v <= 1000; ++v) lat->Record(v * 1000);  // 1 us .. 1 ms
  History h({});
  h.Append(registry, 1000);
  auto e = Parse("histogram_quantile(0.99, op_seconds)");
  ASSERT_TRUE(e.ok());
  auto v = Evaluate(*e, h, 1000);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->vector.size(), 1u);
  const double exact = 990e-6;  // the 990th of 1..1000 us
  EXPECT_NEAR(v->vector[0].value, exact, exact * (std::exp2(1.0 / 64) - 1));
  auto count = Parse("histogram_count(op_seconds)");
  EXPECT_EQ(Evaluate(*count, h, 1000)->vector.at(0).value, 1000);
  auto sum = Parse("histogram_sum(op_seconds)");
  EXPECT_NEAR(Evaluate(*sum, h, 1000)->vector.at(0).value, 0.5005, 1e-12);  // 500500 us
  // The classic series are there too, unchanged.
  auto classic = Parse("op_seconds_count");
  EXPECT_EQ(Evaluate(*classic, h, 1000)->vector.at(0).value, 1000);
}

TEST(PromqlNativeHistogramRegistryTest, QuantilesMatchPrometheusOnTheCompatWorkload) {
  // The promql_compat test's shm histogram (values in seconds, scale 6): 1 ms at t=0, then
  // 2.0 .. 6.9 ms, five of each 0.1 ms step. 4.4 ms lies alone in bucket -502 =
  // (2^(-502/64), 2^(-501/64)] = (4.353073, 4.400475] ms, 4.5 ms in bucket -499. The expected
  // values are what the real Prometheus 2.42 (native histograms enabled, the same buckets
  // scraped as protobuf) returned.
  strobe::metrics::Registry registry;
  auto* lat = registry.AddHistogram({"cmp_seconds", "latency", "seconds"}, {}).value();
  lat->Record(0.001);
  History h({});
  h.Append(registry, 0);
  for (int step = 1; step <= 250; ++step) lat->Record(0.002 + 0.0001 * (step % 50));
  h.Append(registry, 10'000);
  auto eval = [&](const char* expr) {
    auto e = Parse(expr);
    EXPECT_TRUE(e.ok()) << expr;
    auto v = Evaluate(*e, h, 10'000);
    EXPECT_TRUE(v.ok()) << expr;
    EXPECT_EQ(v->vector.size(), 1u) << expr;
    return v->vector.at(0).value;
  };
  const double lo = std::exp2(-502.0 / 64);
  const double up = std::exp2(-501.0 / 64);
  // 251 observations, rank 125.5; 121 below bucket -502: 4.5 of its 5 into it.
  EXPECT_NEAR(eval("histogram_quantile(0.5, cmp_seconds)"), 0.004395734886746121, 1e-15);
  EXPECT_NEAR(eval("histogram_quantile(0.5, cmp_seconds)"), lo + (up - lo) * 0.9, 1e-15);
  // rate over [0, 10 s] (no extrapolation): the 250 ramp observations / 10 s. q = 0.49 is
  // rank 122.5 of 250: 2.5 of the 5 in bucket -502.
  EXPECT_NEAR(eval("histogram_quantile(0.49, rate(cmp_seconds[10s]))"), 0.004376774142976825,
              1e-15);
  // q = 0.5 is rank 125, the last observation of bucket -502: its upper bound. (Scaled by an
  // extrapolation factor, the rounding of the counts can put the rank just past it, into
  // bucket -499, whose lower bound 4.496833 ms Prometheus then returns as well.)
  EXPECT_NEAR(eval("histogram_quantile(0.5, rate(cmp_seconds[10s]))"), up, 1e-15);
  EXPECT_DOUBLE_EQ(eval("histogram_count(increase(cmp_seconds[10s]))"), 250);
}

TEST_F(PromqlEvalTest, LimitsRefuseTooManySamplesAndTimeOut) {
  for (int k = 0; k < 100; ++k) {
    for (int t = 0; t < 10; ++t) Add({{"__name__", "s"}, {"k", std::to_string(k)}}, t * 1000, t);
  }
  auto e = Parse("sum(count_over_time(s[10s]))");
  ASSERT_TRUE(e.ok());
  // Prometheus' peak (sample_accounting.h): count_over_time holds one series' window (10) and
  // its 100 points; sum then holds those 100, gathers the 100 of the step and yields 1: 201 —
  // not the 1,000 samples read in all.
  Limits limits;
  limits.max_samples = 201;
  auto ok = Evaluate(*e, h_, 9000, limits);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->vector.at(0).value, 1000);
  limits.max_samples = 200;
  auto refused = Evaluate(*e, h_, 9000, limits);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), strobe::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(), kTooManySamplesError);
  // A range query of a selector holds every point of every step: 10 steps x 100 series.
  auto sel = Parse("s");
  limits.max_samples = 1000;
  auto r = EvaluateRange(*sel, h_, 0, 9000, 1000, limits);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 100u);
  limits.max_samples = 999;
  EXPECT_EQ(EvaluateRange(*sel, h_, 0, 9000, 1000, limits).status().code(),
            strobe::StatusCode::kResourceExhausted);
  // ... but only the steps where a series has a sample in the lookback: a range of 3 hours
  // before the first sample and up to 9 s holds 10 x 100 points as well.
  limits.max_samples = 1000;
  EXPECT_TRUE(EvaluateRange(*sel, h_, 9000 - 3 * 3'600'000, 9000, 1000, limits).ok());
  // A deadline already past stops the query.
  Limits late;
  late.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  auto timed_out = EvaluateRange(*sel, h_, 0, 9000, 1000, late);
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.status().code(), strobe::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(timed_out.status().message(), kTimeoutError);
}

// query_max_samples against the real Prometheus: Prometheus 2.42 scraped g{k="0".."9"} (value
// k) and h{k="0".."4"} every second, and at T, half a second after its fifth scrape, reported
// for each expression its `stats=all` peakSamples — instant at T, and as range queries over
// [T - 4 s, T] step 1 s and [T - 2 s, T] step 0.5 s. The same data here (samples at 0 .. 4 s,
// T = 4.5 s): each limit must be the smallest one strobe accepts.
TEST_F(PromqlEvalTest, SampleLimitCountsAsPrometheus) {
  for (int k = 0; k < 10; ++k) {
    for (int t = 0; t <= 4; ++t) {
      Add({{"__name__", "g"}, {"k", std::to_string(k)}}, t * 1000, k);
      if (k < 5) Add({{"__name__", "h"}, {"k", std::to_string(k)}}, t * 1000, k);
    }
  }
  struct Case {
    const char* expr;
    size_t instant, range_1s, range_500ms;  // Prometheus' peakSamples
  };
  const Case cases[] = {
      {"g", 10, 50, 50},
      {"sum(g)", 21, 65, 65},
      {"count_over_time(g[3s])", 13, 53, 53},
      {"count_over_time(g[1h])", 15, 55, 55},
      {"sum(count_over_time(g[3s]))", 21, 65, 65},
      {"g + h", 35, 115, 115},
      {"g * 2", 32, 116, 116},
      {"2 * 3", 5, 5, 5},
      {"abs(g)", 30, 110, 110},
      {"sum(g) + sum(h)", 21, 65, 65},
      {"-g", 10, 50, 50},
      {"g and h", 35, 115, 115},
      {"rate(g[3s])", 13, 43, 53},
      {"vector(1)", 3, 5, 5},
      {"histogram_quantile(0.5, g)", 22, 66, 66},
      {"absent(zzz)", 1, 5, 5},
      {"scalar(sum(g))", 21, 65, 65},
      {"sum by (k) (g)", 30, 110, 110},
      {"g > 3", 28, 96, 96},
      {"clamp_min(g, 2)", 32, 116, 116},
      {"g * (2 + 3)", 32, 116, 116},
      {"time() - g", 32, 116, 116},
      {"vector(1) + g", 22, 66, 66},
      {"sum(rate(g[3s])) / count(g)", 22, 69, 70},
      {"abs(-g)", 30, 110, 110},
      {"absent(g)", 20, 60, 60},
      {"scalar(g)", 21, 65, 65},
      {"time()", 1, 5, 5},
      {"1", 1, 5, 5},
      {"-g * 2", 32, 116, 116},
      {"sum(g) > bool 3", 21, 65, 65},
      {"max_over_time(g[1h]) - min_over_time(h[3s])", 35, 115, 115},
      {"count by (k) (count_over_time(h[3s]))", 15, 55, 55},
      {"vector(time())", 3, 11, 11},
      {"g or h", 40, 140, 140},
      {"g unless h", 35, 115, 115},
      {"clamp_max(g, scalar(sum(h)))", 32, 116, 116},
  };
  for (const Case& c : cases) {
    auto e = Parse(c.expr);
    ASSERT_TRUE(e.ok()) << c.expr;
    auto status = [&](int mode, size_t max) {
      Limits limits;
      limits.max_samples = max;
      if (mode == 0) return Evaluate(*e, h_, 4500, limits).status();
      if (mode == 1) return EvaluateRange(*e, h_, 500, 4500, 1000, limits).status();
      return EvaluateRange(*e, h_, 2500, 4500, 500, limits).status();
    };
    const size_t want[] = {c.instant, c.range_1s, c.range_500ms};
    for (int mode = 0; mode < 3; ++mode) {
      EXPECT_TRUE(status(mode, want[mode]).ok()) << c.expr << " mode " << mode;
      if (want[mode] == 1) continue;  // a bound of 0 means none
      EXPECT_EQ(status(mode, want[mode] - 1).code(), strobe::StatusCode::kResourceExhausted)
          << c.expr << " mode " << mode;
    }
  }
}

TEST_F(PromqlEvalTest, RangeQueryEvaluatesEveryStep) {
  Add({{"__name__", "g"}, {"a", "1"}}, 0, 1);
  Add({{"__name__", "g"}, {"a", "1"}}, 2000, 3);
  Add({{"__name__", "g"}, {"a", "2"}}, 2000, 7);
  auto e = Parse("g * 2");
  auto r = EvaluateRange(*e, h_, 0, 3000, 1000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  // a=1: 2 at 0 and 1 s (the sample at 0 within the lookback), 6 at 2 and 3 s.
  ASSERT_EQ((*r)[0].points.size(), 4u);
  EXPECT_EQ((*r)[0].points[1].t_ms, 1000);
  EXPECT_EQ((*r)[0].points[1].value, 2);
  EXPECT_EQ((*r)[0].points[3].value, 6);
  // a=2 exists from 2 s on.
  ASSERT_EQ((*r)[1].points.size(), 2u);
  EXPECT_EQ((*r)[1].points[0].t_ms, 2000);
  EXPECT_EQ((*r)[1].points[0].value, 14);
  auto scalar = Parse("time()");
  auto rs = EvaluateRange(*scalar, h_, 1000, 2500, 1000);
  ASSERT_TRUE(rs.ok());
  ASSERT_EQ(rs->size(), 1u);
  EXPECT_TRUE((*rs)[0].labels.empty());
  ASSERT_EQ((*rs)[0].points.size(), 2u);  // 1 s and 2 s; 3 s is past the end
  EXPECT_EQ((*rs)[0].points[1].value, 2);
  auto matrix = Parse("g[1m]");
  EXPECT_FALSE(EvaluateRange(*matrix, h_, 0, 1000, 1000).ok());
}

}  // namespace
}  // namespace strobed::alert::promql
