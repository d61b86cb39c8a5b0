#include "strobe/metrics/exposition.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "strobe/metrics/registry.h"

namespace strobe::metrics {
namespace {

TEST(NegotiateFormatTest, PrometheusServerGetsOpenMetrics) {
  Negotiation n = NegotiateFormat(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
      "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
  EXPECT_EQ(n.format, Format::kOpenMetrics);
  EXPECT_EQ(n.content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

TEST(NegotiateFormatTest, EverythingElseGetsPrometheusText) {
  for (const char* accept :
       {"", "*/*", "text/plain", "text/html,*/*;q=0.8",
        "garbage;;;q=", "application/openmetrics-text;version=2.0.0",
        "application/openmetrics-text;q=0", "text/plain;q=1,application/openmetrics-text;q=0.5"}) {
    Negotiation n = NegotiateFormat(accept);
    EXPECT_EQ(n.format, Format::kPrometheusText) << accept;
    EXPECT_EQ(n.content_type, "text/plain; version=0.0.4; charset=utf-8");
  }
  EXPECT_EQ(NegotiateFormat("application/openmetrics-text").format, Format::kOpenMetrics);
}

class ExpositionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& f = *r_.AddCounterFamily({"http_requests_total", "Requests \"served\"\\n", ""},
                                   {"method", "path"})
                   .value();
    f.With({{"method", "GET"}, {"path", "a\"b\\c\nd ü"}}).Add(3);
    r_.AddGauge({"temp_celsius", "Temperature", "celsius"}).value()->Set(-1.5);
    HistogramOptions o;
    o.bounds = {0.001, 0.01};
    o.unit_scale = 1e-9;
    Histogram& h = *r_.AddHistogram({"op_seconds", "Op", "seconds"}, o).value();
    h.Record(500'000);     // 0.5 ms
    h.Record(5'000'000);   // 5 ms
    h.Record(50'000'000);  // 50 ms
    h.RecordWithExemplar(2'000'000.0, {{"trace_id", "abc"}});
  }
  Registry r_;
};

TEST_F(ExpositionTest, PrometheusText) {
  const std::string text = RenderText(r_, Format::kPrometheusText);
  const std::string want =
      "# HELP http_requests_total Requests \"served\"\\\\n\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"GET\",path=\"a\\\"b\\\\c\\nd ü\"} 3\n"
      "# HELP temp_celsius Temperature\n"
      "# TYPE temp_celsius gauge\n"
      "temp_celsius -1.5\n"
      "# HELP op_seconds Op\n"
      "# TYPE op_seconds histogram\n"
      "op_seconds_bucket{le=\"0.001\"} 1\n"
      "op_seconds_bucket{le=\"0.01\"} 3\n"
      "op_seconds_bucket{le=\"+Inf\"} 4\n"
      "op_seconds_sum 0.0575\n"
      "op_seconds_count 4\n";
  EXPECT_EQ(text, want);
}

TEST_F(ExpositionTest, OpenMetricsHasUnitsCreatedExemplarsAndEof) {
  const std::string text = RenderText(r_, Format::kOpenMetrics);
  EXPECT_NE(text.find("# TYPE http_requests counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# HELP http_requests Requests \\\"served\\\"\\\\n\n"), std::string::npos);
  EXPECT_NE(text.find("# UNIT temp_celsius celsius\n"), std::string::npos);
  EXPECT_NE(text.find("http_requests_created{method=\"GET\""), std::string::npos);
  EXPECT_NE(text.find("op_seconds_bucket{le=\"0.01\"} 3 # {trace_id=\"abc\"} 0.002 "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("op_seconds_created "), std::string::npos);
  EXPECT_TRUE(text.ends_with("# EOF\n"));
  EXPECT_EQ(text.find("temp_celsius_created"), std::string::npos);  // gauges have none
}

TEST_F(ExpositionTest, SnapshotRendersLikeTheRegistry) {
  TextRenderer renderer;
  std::string direct, via_snapshot;
  renderer.Render(r_, Format::kOpenMetrics, &direct);
  renderer.Render(r_.Collect(), Format::kOpenMetrics, &via_snapshot);
  // Exemplar timestamps and values are identical because nothing recorded in between.
  EXPECT_EQ(direct, via_snapshot);
}

TEST(ExpositionNumbersTest, SpecialValuesAndSummaries) {
  Registry r;
  r.AddGauge({"nan", "", ""}).value()->Set(std::nan(""));
  r.AddGauge({"inf", "", ""}).value()->Set(std::numeric_limits<double>::infinity());
  r.AddGauge({"ninf", "", ""}).value()->Set(-std::numeric_limits<double>::infinity());
  r.AddGauge({"big", "", ""}).value()->Set(1e300);
  r.AddGauge({"tiny", "", ""}).value()->Set(1.25e-7);
  HistogramOptions o;
  o.exposition = HistogramExposition::kSummary;
  Histogram& h = *r.AddHistogram({"sizes_bytes", "", "bytes"}, o).value();
  for (int i = 1; i <= 1000; ++i) h.Record(i);
  const std::string text = RenderText(r, Format::kPrometheusText);
  EXPECT_NE(text.find("nan NaN\n"), std::string::npos);
  EXPECT_NE(text.find("inf +Inf\n"), std::string::npos);
  EXPECT_NE(text.find("ninf -Inf\n"), std::string::npos);
  EXPECT_NE(text.find("big 1e+300\n"), std::string::npos);
  EXPECT_NE(text.find("tiny 1.25e-07\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE sizes_bytes summary\n"), std::string::npos);
  EXPECT_NE(text.find("sizes_bytes{quantile=\"1\"} 1000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sizes_bytes_sum 500500\n"), std::string::npos);
  EXPECT_NE(text.find("sizes_bytes_count 1000\n"), std::string::npos);
}

// VisitExposedSamples hands over exactly the sample lines of the Prometheus text: same order,
// names, labels (plus le/quantile) and values.
TEST(ExposedSamplesTest, SameSamplesAsTheText) {
  Registry r;
  r.AddCounterFamily({"jobs", "", ""}, {"kind"}).value()->With({{"kind", "a"}}).Add(3);
  r.AddGauge({"depth", "", ""}).value()->Set(-2.5);
  HistogramOptions ho;
  ho.bounds = {0.001, 0.01};
  ho.unit_scale = 1e-9;
  Histogram& h = *r.AddHistogram({"op_seconds", "", "seconds"}, ho).value();
  h.Record(500'000);     // 0.5 ms
  h.Record(5'000'000);   // 5 ms
  h.Record(50'000'000);  // 50 ms
  HistogramOptions so;
  so.exposition = HistogramExposition::kSummary;
  so.quantiles = {0.5, 1};
  Histogram& s = *r.AddHistogram({"size_bytes", "", "bytes"}, so).value();
  s.Record(10);
  ASSERT_TRUE(r.AddCollector("c", [](snapshot::Snapshot& out) {
                 snapshot::Family f;
                 f.name = "collected";
                 f.type = snapshot::MetricType::kGauge;
                 f.label_names = {"x"};
                 snapshot::Point p;
                 p.labels = {{"x", "y"}};
                 p.value = 7;
                 f.points.push_back(p);
                 out.families.push_back(f);
               }).ok());

  std::vector<std::pair<std::string, double>> from_text;
  const std::string text = RenderText(r, Format::kPrometheusText);
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    from_text.emplace_back(line.substr(0, space), std::strtod(line.c_str() + space + 1, nullptr));
  }
  std::vector<std::pair<std::string, double>> visited;
  VisitExposedSamples(r, [&](const ExposedSample& e) {
    std::string series(e.name);
    std::string labels;
    for (const auto& l : *e.labels) {
      labels += (labels.empty() ? "" : ",") + l.name + "=\"" + l.value + "\"";
    }
    if (!e.extra_name.empty()) {
      labels += (labels.empty() ? "" : ",") + std::string(e.extra_name) + "=\"" +
                std::string(e.extra_value) + "\"";
    }
    if (!labels.empty()) series += "{" + labels + "}";
    visited.emplace_back(series, e.value);
  });
  EXPECT_EQ(visited, from_text);
  // 1 counter + 1 gauge + (3 buckets + sum + count) + (2 quantiles + sum + count) + 1 collected
  EXPECT_EQ(visited.size(), 12u);
  EXPECT_EQ(visited[2].first, "op_seconds_bucket{le=\"0.001\"}");
  EXPECT_EQ(visited[4].second, 3);  // +Inf bucket, cumulative
}

TEST(CollectorExpositionTest, TextAndOpenMetricsIncludeCollectorFamilies) {
  Registry r;
  r.AddGauge({"own", "Own", ""}).value()->Set(1);
  ASSERT_TRUE(r.AddCollector("ext", [](snapshot::Snapshot& out) {
                 snapshot::Family& c = out.families.emplace_back();
                 c.name = "ext_requests";
                 c.help = "From OTLP";
                 c.type = snapshot::MetricType::kCounter;
                 snapshot::Point& p = c.points.emplace_back();
                 p.labels = {{"job", "svc"}, {"path", "/a\"b"}};
                 p.value = 7;
                 p.created_unix_ns = 1'700'000'000'500'000'000;
                 snapshot::Family& h = out.families.emplace_back();
                 h.name = "ext_latency_seconds";
                 h.unit = "seconds";
                 h.type = snapshot::MetricType::kHistogram;
                 snapshot::Point& hp = h.points.emplace_back();
                 hp.histogram.count = 3;
                 hp.histogram.sum = 1.5;
                 hp.histogram.bounds = {0.1, 1};
                 hp.histogram.bucket_counts = {1, 1, 1};
               }).ok());
  EXPECT_EQ(RenderText(r, Format::kPrometheusText),
            "# HELP own Own\n# TYPE own gauge\nown 1\n"
            "# HELP ext_requests_total From OTLP\n# TYPE ext_requests_total counter\n"
            "ext_requests_total{job=\"svc\",path=\"/a\\\"b\"} 7\n"
            "# TYPE ext_latency_seconds histogram\n"
            "ext_latency_seconds_bucket{le=\"0.1\"} 1\n"
            "ext_latency_seconds_bucket{le=\"1\"} 2\n"
            "ext_latency_seconds_bucket{le=\"+Inf\"} 3\n"
            "ext_latency_seconds_sum 1.5\n"
            "ext_latency_seconds_count 3\n");
  const std::string om = RenderText(r, Format::kOpenMetrics);
  EXPECT_NE(om.find("# TYPE ext_requests counter\n# HELP ext_requests From OTLP\n"
                    "ext_requests_total{job=\"svc\",path=\"/a\\\"b\"} 7\n"
                    "ext_requests_created{job=\"svc\",path=\"/a\\\"b\"} 1700000000.5\n"),
            std::string::npos)
      << om;
  EXPECT_NE(om.find("# UNIT ext_latency_seconds seconds\n"), std::string::npos);
  // One # EOF, at the very end, after the collector families.
  EXPECT_TRUE(om.ends_with("ext_latency_seconds_created 0\n# EOF\n")) << om;
  EXPECT_EQ(om.find("# EOF"), om.size() - 6);
}

}  // namespace
}  // namespace strobe::metrics
