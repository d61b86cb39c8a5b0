#include "strobe/metrics/exposition.h"

#include <gtest/gtest.h>

#include <limits>

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

}  // namespace
}  // namespace strobe::metrics
