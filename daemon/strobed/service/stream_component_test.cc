#include "strobed/service/stream_component.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/config/config.h"
#include "strobed/event/batch.h"
#include "strobed/exporters/stream/stream.h"
#include "strobed/pipeline/plugin_registry.h"
#include "strobed/server/router.h"

namespace strobed::service {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

TEST(StreamComponentTest, ServesAlertsSeriesAndMetricsAndFeedsFromPlugin) {
  config::Config cfg;
  cfg.sections["stream"] = {YAML::Load(R"(windows:
  - name: http
    match: http.server.duration
    size: 1s
    group_by: [service.name]
    aggregations: [count, p99]
  - name: broken
    size: 1s
    aggregations: [nope]
)"),
                            "strobe.yaml"};
  cfg.sections["alerts"] = {
      YAML::Load("rules: [{alert: Slow, expr: 'p99(http.server.duration) > 0.25'}, "
                 "{alert: Bad, expr: 'p99(x) >> 1'}]"),
      "strobe.yaml"};
  strobe::metrics::Registry registry;
  server::Router router;
  base::ManualWallClock clock(1'700'000'000 * kSec);
  stream::EngineSlot slot;
  StreamComponent component(slot, clock);
  ASSERT_TRUE(component.Start({cfg, registry, router}).ok());

  // A pipeline's `stream` exporter feeds the installed engine.
  pipeline::PluginRegistry plugins;
  exporters::RegisterStreamExporter(plugins);
  const pipeline::ExporterPlugin* plugin = plugins.FindExporter("stream");
  ASSERT_NE(plugin, nullptr);
  auto opts = pipeline::Options::Parse(YAML::Node(), plugin->options, "f", "stream");
  ASSERT_TRUE(opts.ok());
  base::ManualMonotonicClock steady;  // the pipeline's clock; the engine runs on `clock`
  event::BatchPool pool;
  pipeline::ComponentContext pctx{
      {"stream", ""}, *opts, "f", steady, pool, event::KeyTable::Global(), 1};
  pctx.services.stream_engines = &slot;
  auto exporter = plugin->create(pctx);
  ASSERT_TRUE(exporter.ok());
  event::Batch b(nullptr, 4096, 1 << 20);
  static const event::Attribute attrs[] = {
      {event::keys::kServiceName, event::Value::String("checkout")}};
  for (uint64_t t : {clock.NowUnixNs(), clock.NowUnixNs() + 2 * kSec}) {
    event::Span& s = b.AddSpan();
    s.name = "http.server.duration";
    s.end_ns = t;
    s.start_ns = t - kSec / 2;
    s.attributes = attrs;
  }
  EXPECT_EQ((*exporter)->Export(b), pipeline::ExportResult::kOk);

  // The ticker evaluates alerts on its own thread; poll with a deadline.
  auto route = router.Find("GET", "/api/v1/alerts");
  ASSERT_EQ(route.status, 200);
  std::string body;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (body.find("\"state\":\"firing\"") == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << body;
    clock.AdvanceNs(kSec / 10);  // the ticker evaluates every evaluation_interval (1 s)
    body = route.route->handler(server::Request{}).body;
  }
  EXPECT_NE(body.find("strobe.yaml:1: rule 'Bad'"), std::string::npos) << body;
  auto series = router.Find("GET", "/api/v1/stream/series");
  ASSERT_EQ(series.status, 200);
  EXPECT_NE(series.route->handler(server::Request{}).body.find("\"name\":\"p99\""),
            std::string::npos);

  std::string text;
  strobe::metrics::TextRenderer renderer;
  renderer.Render(registry, strobe::metrics::Format::kPrometheusText, &text);
  EXPECT_NE(text.find("strobe_stream_p99{window=\"http\",service_name=\"checkout\"} 0.5"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("strobe_alerts{state=\"firing\"} 1"), std::string::npos) << text;
  EXPECT_NE(component.StatusJson().find("\"config_errors\":2"), std::string::npos);

  ASSERT_TRUE(component.Shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(5)).ok());
  // Uninstalled: further batches are dropped and counted.
  const uint64_t before = slot.dropped_batches();
  EXPECT_EQ((*exporter)->Export(b), pipeline::ExportResult::kOk);
  EXPECT_EQ(slot.dropped_batches(), before + 1);
}

}  // namespace
}  // namespace strobed::service
