#include "strobed/alert/promql/history.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/alert/promql/ast.h"

namespace strobed::alert::promql {
namespace {

using strobe::snapshot::Family;
using strobe::snapshot::MetricType;
using strobe::snapshot::Point;

Family Counter(std::string name, std::vector<std::pair<std::string, double>> by_job) {
  Family f;
  f.name = std::move(name);
  f.type = MetricType::kCounter;
  f.label_names = {"job"};
  for (auto& [job, v] : by_job) {
    Point p;
    p.labels = {{"job", job}};
    p.value = v;
    f.points.push_back(p);
  }
  return f;
}

Family Histogram() {
  Family f;
  f.name = "lat_seconds";
  f.unit = "seconds";
  f.type = MetricType::kHistogram;
  f.label_names = {"route"};
  Point p;
  p.labels = {{"route", "/a"}};
  p.histogram.count = 7;
  p.histogram.sum = 3.5;
  p.histogram.unit_scale = 1;
  p.histogram.bounds = {0.1, 0.25};
  p.histogram.bucket_counts = {2, 3, 2};  // non-cumulative, last = +Inf
  f.points.push_back(p);
  return f;
}

// Every series of the history with its newest value, rendered `name{a="b",...}` in label
// order (the __name__ label gives the name).
std::map<std::string, double> Dump(const History& h, int64_t t_ms) {
  std::map<std::string, double> out;
  auto lock = h.ReadLock();
  Matcher any;
  any.op = MatchOp::kRegex;
  any.name = "__name__";
  any.value = ".+";
  any.re = std::make_shared<const std::regex>("^(?:.+)$");
  std::vector<SeriesId> ids;
  const Matcher ms[] = {any};
  h.Select(ms, &ids);
  for (SeriesId id : ids) {
    std::string name;
    std::string labels;
    for (const auto& l : h.LabelsOf(id)) {
      if (l.name == "__name__") {
        name = l.value;
        continue;
      }
      if (!labels.empty()) labels += ",";
      labels += l.name + "=\"" + l.value + "\"";
    }
    SamplePoint p;
    if (h.Last(id, t_ms - kLookbackDeltaMs, t_ms, &p)) {
      out[name + (labels.empty() ? "" : "{" + labels + "}")] = p.value;
    }
  }
  return out;
}

TEST(PromqlHistoryTest, FlattensFamiliesAsTheTextExposition) {
  History h({});
  std::vector<Family> fams = {Counter("req", {{"a", 5}, {"b", 7}}), Histogram()};
  Family g;
  g.name = "temp";
  g.type = MetricType::kGauge;
  g.points.push_back(Point{});
  g.points.back().value = -1.5;
  fams.push_back(g);
  h.Append(fams, 1000);
  const std::map<std::string, double> want = {
      {"req_total{job=\"a\"}", 5},
      {"req_total{job=\"b\"}", 7},
      {"lat_seconds_bucket{le=\"0.1\",route=\"/a\"}", 2},
      {"lat_seconds_bucket{le=\"0.25\",route=\"/a\"}", 5},
      {"lat_seconds_bucket{le=\"+Inf\",route=\"/a\"}", 7},
      {"lat_seconds_sum{route=\"/a\"}", 3.5},
      {"lat_seconds_count{route=\"/a\"}", 7},
      {"temp", -1.5},
  };
  EXPECT_EQ(Dump(h, 1000), want);
  EXPECT_EQ(h.stats().series, 8u);
  EXPECT_EQ(h.stats().samples, 8u);

  // The same lines as the text exposition renders, line for line (one naming code).
  strobe::snapshot::Snapshot snap;
  snap.families = fams;
  std::string text;
  strobe::metrics::TextRenderer().Render(snap, strobe::metrics::Format::kPrometheusText, &text);
  std::istringstream in(text);
  std::string line;
  size_t samples = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    ++samples;
  }
  EXPECT_EQ(samples, want.size());
}

TEST(PromqlHistoryTest, RegistryAppendSeesWhatMetricsShows) {
  strobe::metrics::Registry registry;
  auto* c = registry.AddCounterFamily({"jobs", "Jobs", ""}, {"kind"}).value();
  c->With({{"kind", "x"}}).Add(3);
  auto* g = registry.AddGauge({"depth", "Depth", ""}).value();
  g->Set(4);
  History h({});
  h.Append(registry, 5000);
  const auto dump = Dump(h, 5000);
  EXPECT_EQ(dump.at("jobs_total{kind=\"x\"}"), 3);
  EXPECT_EQ(dump.at("depth"), 4);
  EXPECT_EQ(dump.size(), 2u);
}

TEST(PromqlHistoryTest, AbsentSeriesGetAStaleMarker) {
  History h({});
  h.Append(std::vector<Family>{Counter("req", {{"a", 1}, {"b", 1}})}, 1000);
  h.Append(std::vector<Family>{Counter("req", {{"a", 2}})}, 2000);
  auto lock = h.ReadLock();
  std::vector<SeriesId> ids;
  Matcher m;
  m.name = "job";
  m.value = "b";
  const Matcher ms[] = {m};
  h.Select(ms, &ids);
  ASSERT_EQ(ids.size(), 1u);
  std::vector<SamplePoint> pts;
  h.Points(ids[0], 0, 2000, &pts);
  ASSERT_EQ(pts.size(), 2u);
  EXPECT_EQ(pts[0].value, 1);
  EXPECT_TRUE(std::isnan(pts[1].value));
  EXPECT_TRUE(History::IsStale(pts[1].value));
  EXPECT_EQ(pts[1].t_ms, 2000);
  EXPECT_FALSE(History::IsStale(std::nan("")));
}

TEST(PromqlHistoryTest, RetentionExpiresSamplesAndSeries) {
  History h({.retention_ms = 10'000});
  h.Append(std::vector<Family>{Counter("req", {{"a", 1}, {"b", 1}})}, 1000);
  h.Append(std::vector<Family>{Counter("req", {{"a", 2}})}, 6000);   // b stale at 6000
  h.Append(std::vector<Family>{Counter("req", {{"a", 3}})}, 12000);  // cutoff 2000: drops t=1000
  History::Stats s = h.stats();
  EXPECT_EQ(s.series, 2u);
  EXPECT_EQ(s.samples, 3u);  // a@6000, a@12000, b's marker @6000
  EXPECT_EQ(s.samples_expired, 2u);
  h.Append(std::vector<Family>{Counter("req", {{"a", 4}})}, 16001);  // cutoff 6001
  s = h.stats();
  EXPECT_EQ(s.series, 1u);
  EXPECT_EQ(s.series_removed, 1u);
  EXPECT_EQ(s.samples, 2u);
  // A removed series comes back as new.
  h.Append(std::vector<Family>{Counter("req", {{"a", 5}, {"b", 9}})}, 17000);
  EXPECT_EQ(Dump(h, 17000).at("req_total{job=\"b\"}"), 9);
}

TEST(PromqlHistoryTest, BoundsRefuseAndCount) {
  History h({.retention_ms = 60'000, .max_series = 2, .max_samples = 3});
  h.Append(std::vector<Family>{Counter("req", {{"a", 1}, {"b", 1}, {"c", 1}})}, 1000);
  History::Stats s = h.stats();
  EXPECT_EQ(s.series, 2u);
  EXPECT_EQ(s.series_refused, 1u);
  h.Append(std::vector<Family>{Counter("req", {{"a", 2}, {"b", 2}})}, 2000);
  s = h.stats();
  EXPECT_EQ(s.samples, 3u);
  EXPECT_EQ(s.samples_refused, 1u);
  h.AppendSample({{"__name__", "req_total"}, {"job", "a"}}, 1500, 9);
  EXPECT_EQ(h.stats().samples_out_of_order, 1u);
  // A label set that repeats a name cannot be a series.
  Family bad = Counter("dup", {{"a", 1}});
  bad.points[0].labels.push_back({"job", "b"});
  h.Append(std::vector<Family>{bad}, 3000);
  h.AppendSample({{"__name__", "x"}, {"__name__", "y"}}, 3000, 1);
  EXPECT_EQ(h.stats().samples_invalid, 2u);
}

TEST(PromqlHistoryTest, SelectUsesEveryMatcherKind) {
  History h({});
  for (const char* job : {"api", "web", "batch"}) {
    for (const char* code : {"200", "500"}) {
      h.AppendSample({{"__name__", "req_total"}, {"job", job}, {"code", code}}, 1000, 1);
    }
  }
  h.AppendSample({{"__name__", "other"}, {"job", "api"}}, 1000, 1);
  auto count = [&](std::string_view sel) {
    auto e = Parse(sel);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    auto lock = h.ReadLock();
    std::vector<SeriesId> ids;
    h.Select(e->matchers, &ids);
    return ids.size();
  };
  EXPECT_EQ(count("req_total"), 6u);
  EXPECT_EQ(count("req_total{job=\"api\"}"), 2u);
  EXPECT_EQ(count("req_total{job!=\"api\"}"), 4u);
  EXPECT_EQ(count("req_total{job=~\"a.*|web\"}"), 4u);
  EXPECT_EQ(count("req_total{job!~\"a.*|web\",code=\"500\"}"), 1u);
  EXPECT_EQ(count("{job=\"api\"}"), 3u);
  EXPECT_EQ(count("{__name__=~\"req_.*|other\"}"), 7u);
  EXPECT_EQ(count("req_total{missing=\"\"}"), 6u);
  EXPECT_EQ(count("req_total{missing!=\"\"}"), 0u);
  EXPECT_EQ(count("req_total{job=\"none\"}"), 0u);
  EXPECT_EQ(count("{job=~\"b.*\"}"), 2u);
}

}  // namespace
}  // namespace strobed::alert::promql
