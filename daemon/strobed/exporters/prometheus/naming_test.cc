#include "strobed/exporters/prometheus/naming.h"

#include <gtest/gtest.h>

namespace strobed::exporters::prometheus {
namespace {

TEST(NamingTest, SanitizesMetricNames) {
  EXPECT_EQ(SanitizeMetricName("http.server.request.duration"), "http_server_request_duration");
  EXPECT_EQ(SanitizeMetricName("a..b--c"), "a_b_c");
  EXPECT_EQ(SanitizeMetricName("a:b"), "a:b");
  EXPECT_EQ(SanitizeMetricName("2xx"), "_2xx");
  EXPECT_EQ(SanitizeMetricName("ünïcode"), "_n_code");
  EXPECT_EQ(SanitizeMetricName(""), "_");
}

TEST(NamingTest, SanitizesLabelNames) {
  EXPECT_EQ(SanitizeLabelName("http.method"), "http_method");
  EXPECT_EQ(SanitizeLabelName("0abc"), "key_0abc");
  EXPECT_EQ(SanitizeLabelName("__name__"), "key__name__");
  EXPECT_EQ(SanitizeLabelName("_x"), "_x");
  EXPECT_EQ(SanitizeLabelName("a:b"), "a_b");
  EXPECT_EQ(SanitizeLabelName(""), "key_");
}

TEST(NamingTest, TranslatesUnits) {
  EXPECT_EQ(PrometheusUnit("ms", false), "milliseconds");
  EXPECT_EQ(PrometheusUnit("s", false), "seconds");
  EXPECT_EQ(PrometheusUnit("By", false), "bytes");
  EXPECT_EQ(PrometheusUnit("By/s", false), "bytes_per_second");
  EXPECT_EQ(PrometheusUnit("{requests}/s", false), "per_second");
  EXPECT_EQ(PrometheusUnit("{requests}", false), "");
  EXPECT_EQ(PrometheusUnit("1", false), "");
  EXPECT_EQ(PrometheusUnit("1", true), "ratio");
  EXPECT_EQ(PrometheusUnit("%", false), "percent");
  EXPECT_EQ(PrometheusUnit("m/s", false), "meters_per_second");
  EXPECT_EQ(PrometheusUnit("foo-bar", false), "foo_bar");
}

TEST(NamingTest, BuildsFamilyNames) {
  MetricName n = BuildMetricName("http.server.duration", "ms", NameKind::kOther, "", true);
  EXPECT_EQ(n.name, "http_server_duration_milliseconds");
  EXPECT_EQ(n.unit, "milliseconds");
  // Already suffixed: not repeated.
  n = BuildMetricName("latency_seconds", "s", NameKind::kOther, "", true);
  EXPECT_EQ(n.name, "latency_seconds");
  EXPECT_EQ(n.unit, "seconds");
  // Counters: base name without _total (the exposition adds it).
  n = BuildMetricName("requests_total", "", NameKind::kCounter, "", true);
  EXPECT_EQ(n.name, "requests");
  n = BuildMetricName("sent", "By", NameKind::kCounter, "app", true);
  EXPECT_EQ(n.name, "app_sent_bytes");
  EXPECT_EQ(n.unit, "bytes");
  n = BuildMetricName("cpu.utilization", "1", NameKind::kGauge, "", true);
  EXPECT_EQ(n.name, "cpu_utilization_ratio");
  // No suffixes: the unit is kept only when the name already ends with it.
  n = BuildMetricName("duration", "ms", NameKind::kOther, "", false);
  EXPECT_EQ(n.name, "duration");
  EXPECT_EQ(n.unit, "");
}

}  // namespace
}  // namespace strobed::exporters::prometheus
