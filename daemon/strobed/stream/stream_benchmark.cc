// Stream processing throughput. Meaningful numbers need an otherwise idle machine (2 vCPU VMs
// shared with compilers are noisy: compare the ratio to the in-run baseline, not absolutes).
//
//   stream_tumbling_1k_keys   items through StreamEngine::ConsumeItems (batches of 4096, one
//                             lock per batch) into a tumbling 1 s window keyed by
//                             service.name (1,000 series) computing count, rate and p99,
//                             with Tick() after each batch closing windows as event time
//                             advances (1M items per event-time second); warmed up over two
//                             windows first so every key and pane exists.
//                             Reports items_per_second and bytes_per_key.
//   stream_tumbling_1k_keys_64_sources/N   the same with every item from one of 64 sources
//                             (resources with service.name and service.instance.id), the
//                             source changing every N items: N = 64 is the shape of OTLP
//                             requests (one resource per run of spans), N = 1 the degenerate
//                             case (each item a different source than the previous one).
//   stream_baseline_unordered_map_1k_keys   the obvious way with the same aggregation work:
//                             std::unordered_map<std::string, HistogramData> keyed by the
//                             key rendered into a std::string per event, p99 and count read
//                             and the map cleared at each window close (no lateness, no
//                             out-of-order handling, no key limit).
//   stream_metric_points_{gauge,counter,exp_histogram}_1k_series
//                             StreamEngine::Consume of a batch of 1,000 metric points (one per
//                             series: name + a `series` attribute) into a tumbling 10 s window
//                             keyed by that attribute computing count, sum, rate and p99; each
//                             iteration is one push of every series, 1 s of event time later.
//                             gauge: stateless, the baseline; counter: cumulative sums turned
//                             into increases (per-series lookup by identity); exp_histogram:
//                             cumulative scale-6 histograms (~1 us..10 ms, ~600 buckets, as
//                             the shm receiver sends them) with 10 new observations per push,
//                             differenced and merged into the window's histogram.
//                             Reports items_per_second (points) and delta_state_bytes.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "strobe/metrics/histogram_data.h"
#include "strobed/stream/engine.h"

namespace strobed::stream {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kBase = 1'700'000'000 * kSec;
constexpr std::size_t kKeys = 1000;
constexpr std::size_t kBatch = 4096;
// Event time advances as at 1M items/s: a 1 s window closes every 1M items (~1,000 items per
// key and window), so window emission is part of what is measured. (At a true 5M items/s the
// emission cost per item would be 5x smaller.)
constexpr uint64_t kNsPerItem = 1000;

struct Workload {
  std::vector<std::string> names;
  std::vector<std::vector<event::Attribute>> attrs;
  std::vector<Item> items;  // 64 batches, cycled with shifted event times
};

Workload MakeWorkload(event::KeyTable& keys) {
  Workload w;
  const event::KeyId service = *keys.Intern("service.name");
  const event::KeyId route = *keys.Intern("http.route");
  w.names.reserve(kKeys);
  for (std::size_t i = 0; i < kKeys; ++i) w.names.push_back("service-" + std::to_string(i));
  w.attrs.reserve(kKeys);
  for (std::size_t i = 0; i < kKeys; ++i) {
    w.attrs.push_back({{route, event::Value::String("/api/v1/items")},
                       {service, event::Value::String(w.names[i])}});
  }
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> latency(-4.0, 0.8);
  std::uniform_int_distribution<std::size_t> key(0, kKeys - 1);
  w.items.resize(kBatch * 64);
  for (std::size_t i = 0; i < w.items.size(); ++i) {
    Item& it = w.items[i];
    it.name = "http.server.duration";
    it.value = latency(rng);
    it.status = i % 50 == 0 ? ItemStatus::kError : ItemStatus::kOk;
    it.attributes = w.attrs[key(rng)];
  }
  return w;
}

void RunTumbling1kKeys(benchmark::State& state, std::size_t sources, std::size_t run) {
  event::KeyTable keys(1024);
  base::ManualWallClock clock(kBase);
  auto engine = StreamEngine::Create(YAML::Load(R"(windows:
  - name: http
    match: http.server.duration
    type: tumbling
    size: 1s
    group_by: [service.name]
    max_keys: 2000
    aggregations: [count, rate, p99]
)"),
                                     "bench.yaml", keys, clock);
  Workload w = MakeWorkload(keys);
  std::vector<std::vector<event::Attribute>> resources;
  if (sources > 0) {
    const event::KeyId service = *keys.Intern("service.name");
    const event::KeyId instance = *keys.Intern("service.instance.id");
    for (std::size_t i = 0; i < sources; ++i) {
      resources.push_back({{service, event::Value::String(w.names[i])},
                           {instance, event::Value::String(w.names[sources - 1 - i])}});
    }
    for (std::size_t i = 0; i < w.items.size(); ++i) {
      w.items[i].resource_attributes = resources[(i / run) % sources];
    }
  }
  uint64_t t = kBase;
  std::size_t offset = 0;
  int64_t items = 0;
  std::size_t max_bytes_per_key = 0;
  auto step = [&] {
    std::span<Item> batch(w.items.data() + offset, kBatch);
    for (Item& it : batch) {
      it.time_ns = t;
      t += kNsPerItem;
    }
    clock.SetUnixNs(t);
    engine->ConsumeItems(batch);
    engine->Tick();
    offset = (offset + kBatch) % w.items.size();
  };
  while (t < kBase + 2 * kSec) step();  // warm-up: keys, panes, histogram ranges
  const uint64_t emitted_before = engine->window(0).stats().windows_emitted.load();
  for (auto _ : state) {
    step();
    items += static_cast<int64_t>(kBatch);
    const WindowOperator& op = engine->window(0);
    if (op.active_keys() == kKeys) {
      max_bytes_per_key = std::max(max_bytes_per_key, op.bytes() / kKeys);
    }
  }
  state.SetItemsProcessed(items);
  state.counters["bytes_per_key"] = static_cast<double>(max_bytes_per_key);
  state.counters["windows_emitted"] =
      static_cast<double>(engine->window(0).stats().windows_emitted.load() - emitted_before);
}

void stream_tumbling_1k_keys(benchmark::State& state) { RunTumbling1kKeys(state, 0, 1); }
BENCHMARK(stream_tumbling_1k_keys);

void stream_tumbling_1k_keys_64_sources(benchmark::State& state) {
  RunTumbling1kKeys(state, 64, static_cast<std::size_t>(state.range(0)));
}
BENCHMARK(stream_tumbling_1k_keys_64_sources)->Arg(64)->Arg(1);

void stream_baseline_unordered_map_1k_keys(benchmark::State& state) {
  event::KeyTable keys(1024);
  Workload w = MakeWorkload(keys);
  const event::KeyId service = *keys.Find("service.name");
  std::unordered_map<std::string, strobe::metrics::HistogramData> window;
  uint64_t t = kBase;
  uint64_t window_end = kBase + kSec;
  std::size_t offset = 0;
  int64_t items = 0;
  double sink = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      const Item& it = w.items[offset + i];
      if (t >= window_end) {
        for (auto& [k, h] : window) {
          sink += h.Quantile(0.99) + static_cast<double>(h.count());
          h.Clear();
        }
        window_end += kSec;
      }
      char buf[32];
      window[std::string(ValueText(it.Find(service), buf))].Record(it.value);
      t += kNsPerItem;
    }
    offset = (offset + kBatch) % w.items.size();
    items += static_cast<int64_t>(kBatch);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(items);
}
BENCHMARK(stream_baseline_unordered_map_1k_keys);

enum class PointKind { kGauge, kCounter, kExpHistogram };

void RunMetricPoints(benchmark::State& state, PointKind kind) {
  event::KeyTable keys(1024);
  base::ManualWallClock clock(kBase);
  auto engine = StreamEngine::Create(YAML::Load(R"(windows:
  - name: m
    match: bench.metric
    type: tumbling
    size: 10s
    group_by: [series]
    max_keys: 2000
    aggregations: [count, sum, rate, p99]
)"),
                                     "bench.yaml", keys, clock);
  const event::KeyId series_key = *keys.Intern("series");
  std::vector<std::string> names;
  std::vector<event::Attribute> attrs(kKeys);
  names.reserve(kKeys);
  for (std::size_t i = 0; i < kKeys; ++i) names.push_back("s-" + std::to_string(i));
  for (std::size_t i = 0; i < kKeys; ++i) {
    attrs[i] = {series_key, event::Value::String(names[i])};
  }
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> latency(-9.0, 1.2);  // seconds, ~1 us .. 10 ms
  std::vector<strobe::metrics::HistogramData> cumulative(kKeys);
  std::vector<event::ExponentialHistogramData> exp(kKeys);
  auto refresh = [&](std::size_t i) {
    const strobe::metrics::HistogramData& h = cumulative[i];
    event::ExponentialHistogramData& x = exp[i];
    x.count = h.count();
    x.sum = h.sum();
    x.min = h.min();
    x.max = h.max();
    x.has_min_max = true;
    x.scale = 6;
    x.zero_count = h.zero_count();
    x.positive = {h.offset(), h.counts()};
  };
  if (kind == PointKind::kExpHistogram) {
    for (std::size_t i = 0; i < kKeys; ++i) {
      for (int k = 0; k < 1000; ++k) cumulative[i].Record(latency(rng));
      refresh(i);
    }
  }
  event::Batch batch(nullptr, 1 << 16, 1 << 24);
  for (std::size_t i = 0; i < kKeys; ++i) {
    event::MetricPoint& p = batch.AddMetric();
    p.name = "bench.metric";
    p.labels = {&attrs[i], 1};
    p.start_time_ns = kBase;
    switch (kind) {
      case PointKind::kGauge:
        p.type = event::MetricType::kGauge;
        break;
      case PointKind::kCounter:
        p.type = event::MetricType::kSum;
        p.temporality = event::Temporality::kCumulative;
        p.is_monotonic = true;
        break;
      case PointKind::kExpHistogram:
        p.type = event::MetricType::kExponentialHistogram;
        p.temporality = event::Temporality::kCumulative;
        p.exp_histogram = &exp[i];
        break;
    }
  }
  uint64_t t = kBase;
  double total = 0;
  int64_t points = 0;
  for (auto _ : state) {
    t += kSec;
    total += 3;
    std::span<event::MetricPoint> ps = batch.mutable_metrics();
    for (std::size_t i = 0; i < kKeys; ++i) {
      event::MetricPoint& p = ps[i];
      p.time_ns = t;
      if (kind == PointKind::kGauge) {
        p.double_value = total;
      } else if (kind == PointKind::kCounter) {
        p.double_value = total;
      } else {
        // The producer's side (10 new observations) is part of the measured loop: ~12% of
        // its time under perf (lognormal draws, Record).
        for (int k = 0; k < 10; ++k) cumulative[i].Record(latency(rng));
        refresh(i);
      }
    }
    clock.SetUnixNs(t);
    engine->Consume(batch);
    engine->Tick();
    points += static_cast<int64_t>(kKeys);
  }
  state.SetItemsProcessed(points);
  state.counters["delta_state_bytes"] =
      static_cast<double>(engine->metric_delta_stats().bytes.load());
  state.counters["windows_emitted"] =
      static_cast<double>(engine->window(0).stats().windows_emitted.load());
}

void stream_metric_points_gauge_1k_series(benchmark::State& state) {
  RunMetricPoints(state, PointKind::kGauge);
}
BENCHMARK(stream_metric_points_gauge_1k_series);

void stream_metric_points_counter_1k_series(benchmark::State& state) {
  RunMetricPoints(state, PointKind::kCounter);
}
BENCHMARK(stream_metric_points_counter_1k_series);

void stream_metric_points_exp_histogram_1k_series(benchmark::State& state) {
  RunMetricPoints(state, PointKind::kExpHistogram);
}
BENCHMARK(stream_metric_points_exp_histogram_1k_series);

}  // namespace
}  // namespace strobed::stream
