// Benchmarks of the prometheus exporter. Meaningful numbers need an otherwise idle machine
// (other builds running on the 2 vCPUs inflate every figure).
//
//   prometheus_export_1k_points    Export() of a batch of 1,000 cumulative counter points into
//                                  existing series (the steady state of an OTLP metrics feed)
//   prometheus_scrape_10k_series   text exposition of a registry whose exporter holds 10,000
//                                  counter series (copy under the exporter mutex + render)
//   registry_scrape_10k_series     baseline, same run: exposition of 10,000 native counter
//                                  series of a strobe::metrics family with the same labels

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/clock.h"
#include "strobed/event/batch.h"
#include "strobed/exporters/prometheus/prometheus.h"

namespace strobed::exporters {
namespace {

struct Feed {
  explicit Feed(size_t series) {
    for (size_t i = 0; i < series; ++i) values.push_back("series-" + std::to_string(i));
    for (const std::string& v : values) {
      labels.push_back({*keys.Intern("http.route"), event::Value::String(v)});
    }
    resource_attrs = {{*keys.Intern("service.name"), event::Value::String("bench")}};
    resource.attributes = resource_attrs;
  }
  // A batch of `n` cumulative counter points for series [first, first + n).
  event::BatchPtr Batch(size_t first, size_t n) {
    event::BatchPtr b = pool.Acquire();
    for (size_t i = 0; i < n; ++i) {
      event::MetricPoint& p = b->AddMetric();
      p.name = "http.server.requests";
      p.type = event::MetricType::kSum;
      p.temporality = event::Temporality::kCumulative;
      p.is_monotonic = true;
      p.is_int = true;
      p.int_value = static_cast<int64_t>(i);
      p.start_time_ns = 1'700'000'000'000'000'000;
      p.labels = {&labels[(first + i) % labels.size()], 1};
      p.resource = &resource;
    }
    return b;
  }

  event::KeyTable keys;
  event::BatchPool pool;
  std::vector<std::string> values;
  std::vector<event::Attribute> labels;
  std::vector<event::Attribute> resource_attrs;
  event::Resource resource;
};

std::unique_ptr<PrometheusExporter> MakeExporter(strobe::metrics::Registry& r, Feed& feed,
                                                 base::MonotonicClock& clock) {
  PrometheusExporterOptions o;
  o.metrics = &r;
  o.keys = &feed.keys;
  o.clock = &clock;
  o.max_series = 20000;
  return std::move(PrometheusExporter::Create(o)).value();
}

void prometheus_export_1k_points(benchmark::State& state) {
  strobe::metrics::Registry registry;
  base::ManualMonotonicClock clock;
  Feed feed(10000);
  auto exporter = MakeExporter(registry, feed, clock);
  std::vector<event::BatchPtr> batches;
  for (size_t i = 0; i < 10; ++i) batches.push_back(feed.Batch(i * 1000, 1000));
  for (auto& b : batches) exporter->Export(*b);  // series exist: steady state
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(exporter->Export(*batches[i++ % batches.size()]));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1000);
}
BENCHMARK(prometheus_export_1k_points);

void prometheus_scrape_10k_series(benchmark::State& state) {
  strobe::metrics::Registry registry;
  base::ManualMonotonicClock clock;
  Feed feed(10000);
  auto exporter = MakeExporter(registry, feed, clock);
  for (size_t i = 0; i < 10; ++i) exporter->Export(*feed.Batch(i * 1000, 1000));
  strobe::metrics::TextRenderer renderer;
  std::string out;
  for (auto _ : state) {
    renderer.Render(registry, strobe::metrics::Format::kPrometheusText, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 10000);
}
BENCHMARK(prometheus_scrape_10k_series)->Unit(benchmark::kMillisecond);

void registry_scrape_10k_series(benchmark::State& state) {
  strobe::metrics::Registry registry;
  auto& family = *registry
                      .AddCounterFamily({"http_server_requests", "", ""}, {"http_route", "job"},
                                        {.max_series = 20000})
                      .value();
  for (size_t i = 0; i < 10000; ++i) {
    const std::string v = "series-" + std::to_string(i);
    family.With({{"http_route", v}, {"job", "bench"}}).Add(i);
  }
  strobe::metrics::TextRenderer renderer;
  std::string out;
  for (auto _ : state) {
    renderer.Render(registry, strobe::metrics::Format::kPrometheusText, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 10000);
}
BENCHMARK(registry_scrape_10k_series)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace strobed::exporters
