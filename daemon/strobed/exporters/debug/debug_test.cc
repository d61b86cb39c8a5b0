#include "strobed/exporters/debug/debug.h"

#include <gtest/gtest.h>

#include "strobed/pipeline/testing.h"

namespace strobed::exporters {
namespace {

TEST(DebugExporterTest, FormatsEachVerbosity) {
  event::BatchPool pool;
  event::BatchPtr b = pool.Acquire();
  pipeline::testing::SpanSpec spec;
  spec.trace_id = event::TraceId::FromHalves(1, 2);
  spec.name = "GET /";
  spec.status = event::StatusCode::kError;
  pipeline::testing::AddSpan(*b, spec);
  pipeline::testing::AddGauge(*b, "cpu", 0.5, "h1");
  pipeline::testing::AddLog(*b, "hello", 17);

  std::string basic = DebugExporter::Format(*b, DebugVerbosity::kBasic, "debug");
  EXPECT_EQ(basic, "debug: 1 spans, 1 metric points, 1 log records\n");

  std::string normal = DebugExporter::Format(*b, DebugVerbosity::kNormal, "debug");
  EXPECT_NE(normal.find("span 00000000000000010000000000000002/0000000000000001 'GET /' 1000ns "
                        "status=error"),
            std::string::npos)
      << normal;
  EXPECT_NE(normal.find("metric cpu gauge value=0.5 labels={host=\"h1\"}"), std::string::npos)
      << normal;
  EXPECT_NE(normal.find("log severity=17 body=\"hello\""), std::string::npos) << normal;

  std::string detailed = DebugExporter::Format(*b, DebugVerbosity::kDetailed, "debug");
  EXPECT_NE(detailed.find("parent=0000000000000000"), std::string::npos) << detailed;
}

TEST(DebugExporterTest, FormatsASummary) {
  event::BatchPool pool;
  event::BatchPtr b = pool.Acquire();
  event::QuantileValue qv[] = {{0.5, 2}, {0.99, 9}};
  event::SummaryData data{10, 55, qv};
  event::MetricPoint& m = b->AddMetric();
  m.name = "rpc";
  m.type = event::MetricType::kSummary;
  m.summary = &data;
  std::string normal = DebugExporter::Format(*b, DebugVerbosity::kNormal, "debug");
  EXPECT_NE(normal.find("metric rpc summary count=10 sum=55 quantiles=2 labels={}"),
            std::string::npos)
      << normal;
}

TEST(DebugExporterTest, WritesToAFile) {
  std::string path = ::testing::TempDir() + "/debug_exporter_test.txt";
  std::remove(path.c_str());
  std::FILE* f = std::fopen(path.c_str(), "a");
  ASSERT_NE(f, nullptr);
  DebugExporter ex(DebugVerbosity::kBasic, f, true, "debug/file");
  event::BatchPool pool;
  EXPECT_EQ(ex.Export(*pipeline::testing::MetricBatch(pool, 3)), pipeline::ExportResult::kOk);
  ASSERT_TRUE(ex.Shutdown(std::chrono::milliseconds(100)).ok());
  std::FILE* in = std::fopen(path.c_str(), "r");
  ASSERT_NE(in, nullptr);
  char buf[256] = {};
  ASSERT_NE(std::fgets(buf, sizeof(buf), in), nullptr);
  std::fclose(in);
  EXPECT_STREQ(buf, "debug/file: 0 spans, 3 metric points, 0 log records\n");
}

}  // namespace
}  // namespace strobed::exporters
