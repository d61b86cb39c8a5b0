// remote_write_load: drives the prometheus_remote_write exporter against a real remote-write
// endpoint from one thread, then (same run, same batches) the baseline: the prometheus
// exporter folding the batches and rendering its /metrics text. Prints one JSON line with the
// samples each delivered, wall time and the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so
// samples per CPU-second is the per-core figure.
//
//   remote_write_load ENDPOINT DURATION_S [SERIES] [POINTS_PER_BATCH]
//
// Batches: POINTS_PER_BATCH points (default 1,000) cycling through SERIES distinct series
// (default 10,000): 90% cumulative counters and gauges with 4 attributes under one resource
// (service.name, service.instance.id, host.name), every 10th point a histogram with 10 bounds
// (13 samples). Every batch gets timestamps 1 ms after the previous one, so every sample is new.

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/clock.h"
#include "strobed/event/batch.h"
#include "strobed/exporters/prometheus/prometheus.h"
#include "strobed/exporters/prometheus_remote_write/prometheus_remote_write.h"

namespace {

using namespace strobed;  // NOLINT(google-build-using-namespace): a small tool

constexpr double kBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
constexpr uint64_t kCounts[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Feed {
  Feed(size_t series, size_t points_per_batch) : per_batch(points_per_batch) {
    const char* routes[] = {"/api/a", "/api/b", "/api/c", "/login", "/static"};
    for (size_t i = 0; i < series; ++i) {
      values.push_back("pod-" + std::to_string(i / 50));
      values.push_back("worker-" + std::to_string(i));
    }
    for (size_t i = 0; i < series; ++i) {
      labels.push_back({{*keys.Intern("http.route"), event::Value::String(routes[i % 5])},
                        {*keys.Intern("http.method"), event::Value::String("GET")},
                        {*keys.Intern("k8s.pod"), event::Value::String(values[2 * i])},
                        {*keys.Intern("worker"), event::Value::String(values[2 * i + 1])}});
    }
    resource_attrs = {{*keys.Intern("service.name"), event::Value::String("bench")},
                      {*keys.Intern("service.instance.id"), event::Value::String("host-1")},
                      {*keys.Intern("host.name"), event::Value::String("host-1")}};
    resource.attributes = resource_attrs;
    histogram.count = 66;
    histogram.sum = 12.5;
    histogram.explicit_bounds = kBounds;
    histogram.bucket_counts = kCounts;
  }
  // Batch number `n`: series [n * per_batch, ...) modulo the series count, time t0 + n ms.
  event::BatchPtr Batch(uint64_t n, uint64_t t0_ms) {
    event::BatchPtr b = pool.Acquire();
    for (size_t k = 0; k < per_batch; ++k) {
      const size_t i = (n * per_batch + k) % labels.size();
      event::MetricPoint& p = b->AddMetric();
      p.labels = labels[i];
      p.resource = &resource;
      p.time_ns = (t0_ms + n) * 1'000'000;
      p.start_time_ns = (t0_ms - 3'600'000) * 1'000'000;
      p.temporality = event::Temporality::kCumulative;
      if (i % 10 == 9) {
        p.name = "bench.duration";
        p.unit = "s";
        p.type = event::MetricType::kHistogram;
        p.histogram = &histogram;
      } else if (i % 2 == 0) {
        p.name = "bench.requests";
        p.type = event::MetricType::kSum;
        p.is_monotonic = true;
        p.is_int = true;
        p.int_value = static_cast<int64_t>(n);
      } else {
        p.name = "bench.memory";
        p.unit = "By";
        p.type = event::MetricType::kGauge;
        p.double_value = 1e6 + static_cast<double>(n);
      }
    }
    return b;
  }
  size_t SamplesPerBatch(uint64_t n) const {
    size_t s = 0;
    for (size_t k = 0; k < per_batch; ++k) {
      s += ((n * per_batch + k) % labels.size()) % 10 == 9 ? std::size(kBounds) + 3 : 1;
    }
    return s;
  }

  size_t per_batch;
  event::KeyTable keys;
  event::BatchPool pool;
  std::vector<std::string> values;
  std::vector<std::vector<event::Attribute>> labels;
  std::vector<event::Attribute> resource_attrs;
  event::Resource resource;
  event::HistogramData histogram;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ENDPOINT DURATION_S [SERIES] [POINTS_PER_BATCH]\n", argv[0]);
    return 2;
  }
  const std::string endpoint = argv[1];
  const double duration = std::atof(argv[2]);
  const size_t series = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 10'000;
  const size_t per_batch = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 1'000;
  Feed feed(series, per_batch);
  const uint64_t t0_ms =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()) -
      600'000;  // batches advance 1 ms each: start 10 min back so they stay in the past

  strobe::metrics::Registry registry;
  exporters::RemoteWriteExporterOptions o;
  o.endpoint = endpoint;
  o.keys = &feed.keys;
  o.metrics = &registry;
  auto rw = exporters::RemoteWriteExporter::Create(std::move(o));
  if (!rw.ok()) {
    std::fprintf(stderr, "%s\n", rw.status().ToString().c_str());
    return 1;
  }
  uint64_t batches = 0, samples = 0, not_ok = 0;
  auto start = std::chrono::steady_clock::now();
  double cpu0 = ThreadCpuSeconds();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
         duration) {
    event::BatchPtr b = feed.Batch(batches, t0_ms);
    if ((*rw)->Export(*b) == strobed::pipeline::ExportResult::kOk) {
      samples += feed.SamplesPerBatch(batches);
    } else {
      ++not_ok;
    }
    ++batches;
  }
  const double rw_wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rw_cpu = ThreadCpuSeconds() - cpu0;
  const std::string text =
      strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  auto counter = [&](const char* name) {
    const size_t at = text.find(name);
    return at == std::string::npos ? -1.0 : std::atof(text.c_str() + text.find(' ', at) + 1);
  };
  const double sent = counter("strobe_exporter_remote_write_samples_total{");
  const double requests = counter(
      "strobe_exporter_remote_write_requests_total{exporter=\"prometheus_remote_write\",code="
      "\"2xx\"}");

  // Baseline, same run and batches: the prometheus exporter's fold + text exposition.
  strobe::metrics::Registry prom_registry;
  base::ManualMonotonicClock clock;
  exporters::PrometheusExporterOptions po;
  po.metrics = &prom_registry;
  po.clock = &clock;
  po.keys = &feed.keys;
  po.max_series = series * 20;
  auto prom = exporters::PrometheusExporter::Create(std::move(po));
  uint64_t base_samples = 0, base_batches = 0;
  size_t text_bytes = 0;
  start = std::chrono::steady_clock::now();
  cpu0 = ThreadCpuSeconds();
  while (base_batches < batches) {
    event::BatchPtr b = feed.Batch(base_batches, t0_ms);
    (void)(*prom)->Export(*b);
    base_samples += feed.SamplesPerBatch(base_batches);
    ++base_batches;
    // One exposition per pass over every series (what one scrape covers).
    if ((base_batches * per_batch) % series < per_batch) {
      text_bytes =
          strobe::metrics::RenderText(prom_registry, strobe::metrics::Format::kPrometheusText)
              .size();
    }
  }
  const double base_cpu = ThreadCpuSeconds() - cpu0;
  std::printf(
      "{\"batches\": %llu, \"not_ok_batches\": %llu, \"samples\": %llu, \"sent_samples\": %.0f, "
      "\"requests_2xx\": %.0f, \"wall_s\": %.3f, \"cpu_s\": %.3f, \"samples_per_s\": %.0f, "
      "\"samples_per_cpu_s\": %.0f, \"baseline_samples_per_cpu_s\": %.0f, "
      "\"baseline_text_bytes\": %zu}\n",
      static_cast<unsigned long long>(batches), static_cast<unsigned long long>(not_ok),
      static_cast<unsigned long long>(samples), sent, requests, rw_wall, rw_cpu,
      static_cast<double>(samples) / rw_wall, static_cast<double>(samples) / rw_cpu,
      static_cast<double>(base_samples) / base_cpu, text_bytes);
  return not_ok == 0 ? 0 : 1;
}
