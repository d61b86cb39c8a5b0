// Recording and exposition costs of strobe::metrics, with in-run baselines.
//
// Meaningful numbers need an otherwise idle machine: these 2-vCPU VMs are shared, so run
// with --benchmark_repetitions=5 and compare medians and ratios to the baselines below
// (bench/RESULTS.md). ->Threads(2) runs: Google Benchmark divides each thread's wall time
// by the iterations of *all* threads, so "Time" is wall time per op of the combined
// throughput and "CPU" is CPU time per op; throughput scaling = t(1 thread) / t(2 threads)
// in wall time (2.0 for perfectly independent threads).
//
//   baseline_atomic_fetch_add   one shared std::atomic<uint64_t>::fetch_add (relaxed)
//   baseline_thread_local_inc   a thread_local uint64_t increment kept in memory
//   counter_inc                 Counter::Inc()
//   gauge_set                   Gauge::Set() (one shared cache line by design, gauge.h)
//   histogram_record            Histogram::Record() of log-normal latencies (1024 cycled)
//   timer_scoped                ScopedTimer: two TickClock reads + Histogram::Record
//   timer_baseline_two_tick_reads  the clock floor of timer_scoped (two rdtsc)
//   exposition_10k_series       Prometheus text for 9,900 counter series + 100 histograms

#include <benchmark/benchmark.h>

#include <atomic>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobe/metrics/timer.h"

namespace strobe::metrics {
namespace {

Registry& BenchRegistry() {
  static Registry* r = new Registry();
  return *r;
}

void baseline_atomic_fetch_add(benchmark::State& state) {
  static std::atomic<uint64_t> shared{0};
  for (auto _ : state) shared.fetch_add(1, std::memory_order_relaxed);
}
BENCHMARK(baseline_atomic_fetch_add)->Threads(1)->Threads(2);

void baseline_thread_local_inc(benchmark::State& state) {
  thread_local uint64_t local = 0;
  for (auto _ : state) {
    ++local;
    benchmark::DoNotOptimize(local);  // keeps the increment in memory every iteration
  }
}
BENCHMARK(baseline_thread_local_inc)->Threads(1)->Threads(2);

void counter_inc(benchmark::State& state) {
  static Counter& c = *BenchRegistry().AddCounter({"bm_counter_total", "", ""}).value();
  for (auto _ : state) c.Inc();
}
BENCHMARK(counter_inc)->Threads(1)->Threads(2);

void gauge_set(benchmark::State& state) {
  static Gauge& g = *BenchRegistry().AddGauge({"bm_gauge", "", ""}).value();
  double v = 0;
  for (auto _ : state) g.Set(v += 1);
}
BENCHMARK(gauge_set)->Threads(1)->Threads(2);

const std::vector<uint64_t>& Latencies() {
  static const std::vector<uint64_t> values = [] {
    std::mt19937_64 rng(42);
    std::lognormal_distribution<double> d(std::log(200'000.0), 1.0);  // ~200 us median
    std::vector<uint64_t> v(1024);
    for (auto& x : v) x = static_cast<uint64_t>(d(rng)) + 1;
    return v;
  }();
  return values;
}

void histogram_record(benchmark::State& state) {
  static Histogram& h = *BenchRegistry().AddHistogram({"bm_histogram", "", ""}).value();
  const std::vector<uint64_t>& values = Latencies();
  size_t i = 0;
  for (auto _ : state) h.Record(values[i++ & 1023]);
}
BENCHMARK(histogram_record)->Threads(1)->Threads(2);

void timer_scoped(benchmark::State& state) {
  static Histogram& h = *BenchRegistry().AddHistogram({"bm_timer", "", ""}).value();
  for (auto _ : state) {
    ScopedTimer t(h);
  }
}
BENCHMARK(timer_scoped)->Threads(1)->Threads(2);

// The clock floor of timer_scoped: two TickClock::Now() reads and their difference.
void timer_baseline_two_tick_reads(benchmark::State& state) {
  for (auto _ : state) {
    const uint64_t a = TickClock::Now();
    const uint64_t b = TickClock::Now();
    benchmark::DoNotOptimize(b - a);
  }
}
BENCHMARK(timer_baseline_two_tick_reads);

void exposition_10k_series(benchmark::State& state) {
  static Registry* r = [] {
    auto* reg = new Registry(RegistryOptions{.max_series_per_family = 10'000});
    for (int f = 0; f < 10; ++f) {
      auto& fam = *reg->AddCounterFamily({"bm_requests_" + std::to_string(f) + "_total",
                                          "Requests by method and path", ""},
                                         {"method", "path"})
                       .value();
      for (int s = 0; s < 990; ++s) {
        fam.With({{"method", s % 2 == 0 ? "GET" : "POST"},
                  {"path", "/api/v1/item/" + std::to_string(s)}})
            .Add(static_cast<uint64_t>(s) * 7919);
      }
    }
    auto& hist = *reg->AddHistogramFamily({"bm_latency_seconds", "Latency", "seconds"}, {"route"},
                                          HistogramOptions{.unit_scale = 1e-9})
                      .value();
    const std::vector<uint64_t>& values = Latencies();
    for (int s = 0; s < 100; ++s) {
      Histogram& h = hist.With({{"route", "/r" + std::to_string(s)}});
      for (uint64_t v : values) h.Record(v);
    }
    return reg;
  }();
  TextRenderer renderer;
  std::string out;
  for (auto _ : state) {
    renderer.Render(*r, Format::kPrometheusText, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["series"] = static_cast<double>(r->SeriesCount());
  state.counters["bytes"] = static_cast<double>(out.size());
  state.SetItemsProcessed(state.iterations() * 10'000);
}
BENCHMARK(exposition_10k_series)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace strobe::metrics
