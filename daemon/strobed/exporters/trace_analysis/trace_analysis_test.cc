#include "strobed/exporters/trace_analysis/trace_analysis.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "strobed/pipeline/testing.h"

namespace strobed::exporters {
namespace {

struct Plugin {
  Plugin() {
    RegisterTraceAnalysisExporter(registry);
    plugin = registry.FindExporter("trace_analysis");
  }
  strobe::Result<std::unique_ptr<pipeline::Exporter>> Create(trace::TraceStore* store,
                                                             const std::string& yaml) {
    auto o =
        pipeline::Options::Parse(YAML::Load(yaml), plugin->options, "f.yaml", "trace_analysis");
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    options = std::move(o).value();
    pipeline::ComponentContext ctx{{"trace_analysis", ""}, options, "f.yaml", clock, pool, keys, 1};
    ctx.services.trace_store = store;
    return plugin->create(ctx);
  }
  pipeline::PluginRegistry registry;
  const pipeline::ExporterPlugin* plugin = nullptr;
  pipeline::Options options;
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  event::KeyTable keys;
};

TEST(TraceAnalysisExporterTest, NeedsTheHostsTraceStore) {
  Plugin p;
  auto e = p.Create(nullptr, "{}");
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.status().message(), ::testing::HasSubstr("no trace store"));
}

TEST(TraceAnalysisExporterTest, TheFirstExporterConfiguresTheSharedStoreAndAllFeedIt) {
  Plugin p;
  trace::TraceStore store;
  auto first = p.Create(&store, "{max_completed_traces: 7, quiet_period: 3s}");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = p.Create(&store, "{max_completed_traces: 99}");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(store.options().max_completed_traces, 7u);
  EXPECT_EQ(store.options().quiet_period, std::chrono::seconds(3));

  event::Batch b(nullptr, 4096, 1 << 20);
  pipeline::testing::AddSpan(b, {.trace_id = event::TraceId::FromHalves(1, 2), .span_id = 1});
  EXPECT_EQ((*first)->Export(b), pipeline::ExportResult::kOk);
  event::Batch c(nullptr, 4096, 1 << 20);
  pipeline::testing::AddSpan(
      c, {.trace_id = event::TraceId::FromHalves(1, 2), .span_id = 2, .parent_span_id = 1});
  EXPECT_EQ((*second)->Export(c), pipeline::ExportResult::kOk);
  EXPECT_EQ(store.Stats().spans_received, 2u);
  ASSERT_TRUE((*first)->Shutdown(std::chrono::seconds(1)).ok());
  EXPECT_EQ(store.Stats().traces_completed, 1u);
}

}  // namespace
}  // namespace strobed::exporters
