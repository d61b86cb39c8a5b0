#include "strobed/exporters/stream/stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "strobed/pipeline/testing.h"

namespace strobed::exporters {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kBase = 1'700'000'000 * kSec;

struct Plugin {
  Plugin() {
    RegisterStreamExporter(registry);
    plugin = registry.FindExporter("stream");
    auto o = pipeline::Options::Parse(YAML::Node(), plugin->options, "f.yaml", "stream");
    EXPECT_TRUE(o.ok());
    options = std::move(o).value();
  }
  strobe::Result<std::unique_ptr<pipeline::Exporter>> Create(stream::EngineSlot* slot) {
    pipeline::ComponentContext ctx{{"stream", ""}, options, "f.yaml", clock, pool, keys, 1};
    ctx.services.stream_engines = slot;
    return plugin->create(ctx);
  }
  pipeline::PluginRegistry registry;
  const pipeline::ExporterPlugin* plugin = nullptr;
  pipeline::Options options;
  base::ManualMonotonicClock clock{kBase};
  base::ManualWallClock wall{kBase};  // the stream engine runs on event (Unix) time
  event::BatchPool pool;
  event::KeyTable keys;
};

TEST(StreamExporterTest, NeedsTheHostsEngineSlot) {
  Plugin p;
  auto e = p.Create(nullptr);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.status().message(), ::testing::HasSubstr("no stream engine"));
}

TEST(StreamExporterTest, FeedsTheInstalledEngineAndCountsBatchesWithoutOne) {
  Plugin p;
  stream::EngineSlot slot;
  auto e = p.Create(&slot);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  event::Batch b(nullptr, 4096, 1 << 20);
  pipeline::testing::AddSpan(b, {.trace_id = event::TraceId::FromHalves(1, 2),
                                 .name = "http.server.duration",
                                 .start_ns = kBase,
                                 .end_ns = kBase + kSec / 10});
  // No engine installed: the batch is accepted, dropped and counted.
  EXPECT_EQ((*e)->Export(b), pipeline::ExportResult::kOk);
  EXPECT_EQ(slot.dropped_batches(), 1u);

  std::shared_ptr<stream::StreamEngine> engine = stream::StreamEngine::Create(
      YAML::Load("windows: [{name: w, match: http.server.duration, size: 1s, "
                 "aggregations: [count]}]"),
      "f.yaml", p.keys, p.wall);
  ASSERT_TRUE(engine->config_errors().empty());
  slot.Install(engine);
  EXPECT_EQ((*e)->Export(b), pipeline::ExportResult::kOk);
  // A span a second later closes the first window: its count is the one span fed above.
  event::Batch later(nullptr, 4096, 1 << 20);
  pipeline::testing::AddSpan(later, {.trace_id = event::TraceId::FromHalves(1, 3),
                                     .name = "http.server.duration",
                                     .start_ns = kBase + 2 * kSec,
                                     .end_ns = kBase + 2 * kSec + 1});
  p.wall.SetUnixNs(kBase + 2 * kSec + 1);  // a watermark never passes the wall clock
  EXPECT_EQ((*e)->Export(later), pipeline::ExportResult::kOk);
  EXPECT_EQ(slot.dropped_batches(), 1u);
  auto series = engine->SnapshotSeries();
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].name, "count");
  EXPECT_EQ(series[0].value, 1);
}

}  // namespace
}  // namespace strobed::exporters
