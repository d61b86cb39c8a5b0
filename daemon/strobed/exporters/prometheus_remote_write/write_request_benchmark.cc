// Benchmarks of the prometheus_remote_write exporter's hot path. Meaningful numbers need an
// otherwise idle machine (other builds on the 2 vCPUs inflate every figure). Each reports
// samples/s on one core (counter `samples_per_second`).
//
//   remote_write_map_encode_snappy   the exporter's work per batch minus the HTTP exchange:
//                                    map 1,000 points (counters, gauges with 4 labels and one
//                                    resource; every 10th point a 10-bound histogram), encode
//                                    the WriteRequest by hand, snappy-compress it
//   remote_write_encode_hand         the encoding alone, of the same already-mapped series
//   remote_write_encode_generated    alternative, same run: the same series built into
//                                    protoc-generated classes (prompb-like schema) and
//                                    serialized — what "generated message building" costs
//   prometheus_text_exposition       baseline, same run: the prometheus exporter folding the
//                                    same batch and rendering its /metrics text (the same
//                                    series, scraped instead of pushed)

#include <benchmark/benchmark.h>
#include <snappy.h>

#include <string>
#include <vector>

#include "prompb_test.pb.h"
#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/clock.h"
#include "strobed/event/batch.h"
#include "strobed/exporters/prometheus/prometheus.h"
#include "strobed/exporters/prometheus_remote_write/write_request.h"

namespace strobed::exporters {
namespace {

constexpr size_t kPoints = 1000;
constexpr double kBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
constexpr uint64_t kCounts[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

struct Feed {
  Feed() {
    const char* routes[] = {"/api/a", "/api/b", "/api/c", "/login", "/static"};
    for (size_t i = 0; i < kPoints; ++i) {
      values.push_back("pod-" + std::to_string(i / 50));
      values.push_back("instance-" + std::to_string(i));
    }
    for (size_t i = 0; i < kPoints; ++i) {
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
    batch = pool.Acquire();
    for (size_t i = 0; i < kPoints; ++i) {
      event::MetricPoint& p = batch->AddMetric();
      p.labels = labels[i];
      p.resource = &resource;
      p.time_ns = 1'700'000'000'000'000'000 + i * 1'000'000;
      p.start_time_ns = 1'690'000'000'000'000'000;
      p.temporality = event::Temporality::kCumulative;
      if (i % 10 == 9) {
        p.name = "http.server.duration";
        p.unit = "s";
        p.type = event::MetricType::kHistogram;
        p.histogram = &histogram;
      } else if (i % 2 == 0) {
        p.name = "http.server.requests";
        p.type = event::MetricType::kSum;
        p.is_monotonic = true;
        p.is_int = true;
        p.int_value = static_cast<int64_t>(i);
      } else {
        p.name = "process.memory.usage";
        p.unit = "By";
        p.type = event::MetricType::kGauge;
        p.double_value = 1e6 + static_cast<double>(i);
      }
    }
  }
  event::KeyTable keys;
  event::BatchPool pool;
  std::vector<std::string> values;
  std::vector<std::vector<event::Attribute>> labels;
  std::vector<event::Attribute> resource_attrs;
  event::Resource resource;
  event::HistogramData histogram;
  event::BatchPtr batch;
};

WriteRequestOptions Options() {
  WriteRequestOptions o;
  o.max_samples_per_request = 1'000'000;
  o.max_request_bytes = size_t{64} << 20;
  return o;  // one request per batch: the split costs nothing extra
}

void remote_write_map_encode_snappy(benchmark::State& state) {
  Feed feed;
  WriteRequestBuilder b(Options(), feed.keys);
  std::string compressed;
  uint64_t samples = 0, bytes = 0, wire = 0;
  for (auto _ : state) {
    b.Clear();
    b.Add(feed.batch->metrics(), 0);
    b.Encode([&](const WriteRequestBuilder::Request& r) {
      compressed.resize(snappy::MaxCompressedLength(r.body.size()));
      size_t n = 0;
      snappy::RawCompress(r.body.data(), r.body.size(), compressed.data(), &n);
      samples += r.samples;
      bytes += r.body.size();
      wire += n;
      return true;
    });
    benchmark::DoNotOptimize(compressed.data());
  }
  state.counters["samples_per_second"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
  state.counters["bytes_per_sample"] =
      static_cast<double>(bytes) / static_cast<double>(std::max<uint64_t>(samples, 1));
  state.counters["snappy_bytes_per_sample"] =
      static_cast<double>(wire) / static_cast<double>(std::max<uint64_t>(samples, 1));
}
BENCHMARK(remote_write_map_encode_snappy)->Unit(benchmark::kMicrosecond);

void remote_write_encode_hand(benchmark::State& state) {
  Feed feed;
  WriteRequestBuilder b(Options(), feed.keys);
  b.Add(feed.batch->metrics(), 0);
  uint64_t samples = 0;
  for (auto _ : state) {
    b.Encode([&](const WriteRequestBuilder::Request& r) {
      samples += r.samples;
      benchmark::DoNotOptimize(r.body.data());
      return true;
    });
  }
  state.counters["samples_per_second"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
}
BENCHMARK(remote_write_encode_hand)->Unit(benchmark::kMicrosecond);

void remote_write_encode_generated(benchmark::State& state) {
  Feed feed;
  WriteRequestBuilder b(Options(), feed.keys);
  b.Add(feed.batch->metrics(), 0);
  // The same series as plain data (what a generated-class encoder would start from).
  struct Plain {
    std::vector<std::pair<std::string, std::string>> labels;
    std::vector<std::pair<int64_t, double>> samples;
  };
  std::vector<Plain> series;
  b.Encode([&](const WriteRequestBuilder::Request& r) {
    prompb_test::WriteRequest wr;
    wr.ParseFromArray(r.body.data(), static_cast<int>(r.body.size()));
    for (const auto& ts : wr.timeseries()) {
      Plain& p = series.emplace_back();
      for (const auto& l : ts.labels()) p.labels.emplace_back(l.name(), l.value());
      for (const auto& s : ts.samples()) p.samples.emplace_back(s.timestamp(), s.value());
    }
    return true;
  });
  std::string out;
  uint64_t samples = 0;
  for (auto _ : state) {
    prompb_test::WriteRequest wr;
    for (const Plain& p : series) {
      prompb_test::TimeSeries* ts = wr.add_timeseries();
      for (const auto& [n, v] : p.labels) {
        prompb_test::Label* l = ts->add_labels();
        l->set_name(n);
        l->set_value(v);
      }
      for (const auto& [t, v] : p.samples) {
        prompb_test::Sample* s = ts->add_samples();
        s->set_timestamp(t);
        s->set_value(v);
        ++samples;
      }
    }
    wr.SerializeToString(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["samples_per_second"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
}
BENCHMARK(remote_write_encode_generated)->Unit(benchmark::kMicrosecond);

void prometheus_text_exposition(benchmark::State& state) {
  Feed feed;
  strobe::metrics::Registry registry;
  base::ManualMonotonicClock clock;
  PrometheusExporterOptions o;
  o.metrics = &registry;
  o.clock = &clock;
  o.keys = &feed.keys;
  auto e = PrometheusExporter::Create(std::move(o));
  // The same samples: one per series per counter/gauge point, 13 per histogram point.
  const uint64_t per_batch = kPoints / 10 * 9 + kPoints / 10 * (std::size(kBounds) + 3);
  uint64_t samples = 0;
  for (auto _ : state) {
    (void)(*e)->Export(*feed.batch);
    std::string text =
        strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
    benchmark::DoNotOptimize(text.data());
    samples += per_batch;
  }
  state.counters["samples_per_second"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
}
BENCHMARK(prometheus_text_exposition)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace strobed::exporters
