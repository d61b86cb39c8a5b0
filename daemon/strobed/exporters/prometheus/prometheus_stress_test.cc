// Concurrency of the prometheus exporter: the pipeline worker folds batches while scraping
// threads render the registry (collector), and the exporter shuts down under scrapes. Run
// under TSan (ctest label stress).

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/clock.h"
#include "strobed/event/batch.h"
#include "strobed/exporters/prometheus/prometheus.h"

namespace strobed::exporters {
namespace {

TEST(PrometheusExporterStressTest, ExportWhileScrapingAndShuttingDown) {
  strobe::metrics::Registry registry;
  base::ManualMonotonicClock clock;
  event::KeyTable keys;
  event::BatchPool pool;
  PrometheusExporterOptions o;
  o.metrics = &registry;
  o.clock = &clock;
  o.keys = &keys;
  o.max_series = 500;
  o.metric_expiration = std::chrono::milliseconds(50);
  auto created = PrometheusExporter::Create(o);
  ASSERT_TRUE(created.ok());
  std::unique_ptr<PrometheusExporter> exporter = std::move(created).value();

  static const double kBounds[] = {1, 10};
  static const uint64_t kCounts[] = {1, 1, 1};
  static const event::HistogramData kHist{
      .count = 3, .sum = 12, .explicit_bounds = kBounds, .bucket_counts = kCounts};
  std::vector<std::string> values;
  for (int i = 0; i < 1000; ++i) values.push_back(std::to_string(i));
  std::vector<event::Attribute> labels;
  for (const std::string& v : values)
    labels.push_back({*keys.Intern("k"), event::Value::String(v)});

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> scrapes{0};
  std::vector<std::thread> scrapers;
  for (int t = 0; t < 2; ++t) {
    scrapers.emplace_back([&, t] {
      const auto format =
          t == 0 ? strobe::metrics::Format::kPrometheusText : strobe::metrics::Format::kOpenMetrics;
      while (!stop.load()) {
        std::string text = strobe::metrics::RenderText(registry, format);
        EXPECT_FALSE(text.empty());
        (void)registry.Collect();
        scrapes.fetch_add(1);
      }
    });
  }
  for (int round = 0; round < 300; ++round) {
    event::BatchPtr b = pool.Acquire();
    for (int i = 0; i < 20; ++i) {
      const size_t idx = static_cast<size_t>((round * 20 + i) % 1000);
      event::MetricPoint& p = b->AddMetric();
      p.name = i % 2 == 0 ? "stress.sum" : "stress.latency";
      p.type = i % 2 == 0 ? event::MetricType::kSum : event::MetricType::kHistogram;
      p.is_monotonic = true;
      p.temporality = event::Temporality::kDelta;
      p.double_value = 1;
      p.histogram = &kHist;
      p.labels = {&labels[idx], 1};
    }
    ASSERT_EQ(exporter->Export(*b), pipeline::ExportResult::kOk);
    clock.AdvanceNs(1'000'000);  // 1 ms: series expire after 50 rounds without an update
  }
  while (scrapes.load() < 10) std::this_thread::yield();
  ASSERT_TRUE(exporter->Shutdown(std::chrono::milliseconds(100)).ok());
  exporter.reset();  // scrapes continue against the registry without the collector
  const uint64_t after = scrapes.load();
  while (scrapes.load() < after + 4) std::this_thread::yield();
  stop.store(true);
  for (auto& t : scrapers) t.join();
  EXPECT_EQ(strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText)
                .find("stress_"),
            std::string::npos);
}

}  // namespace
}  // namespace strobed::exporters
