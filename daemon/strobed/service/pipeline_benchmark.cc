// Pipeline throughput and latency benchmarks (issue #5 targets).
//
// Conditions: release build (-O2), nothing else running. The targets assume 2 cores; on a
// shared 2-vCPU VM, producers and the pipeline worker compete with every other process, so
// treat figures as lower bounds and compare each benchmark with its in-run baseline.
//
//   pipeline_metric_points          2 producers push batches of 256 metric points (one label,
//                                   copied into the batch arena) through the MPMC queue (block
//                                   policy) and the batch processor (1000 / 100ms) to a
//                                   counting exporter on the worker thread.
//   pipeline_metric_points_baseline the same producers build the same batches and release them
//                                   to the pool: the producer-side cost alone.
//   pipeline_spans_head_sampled     1 producer pushes spans with 8 attributes through queue +
//                                   head sampler (trace_id_ratio 0.5) + batch processor.
//   pipeline_spans_baseline         building the same span batches only.
//   pipeline_latency_half_load      a paced producer at half of the measured maximum rate;
//                                   the sink records enqueue→sink latency per event
//                                   (counters p50_us, p99_us, rate_eps).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "strobe/metrics/histogram_data.h"
#include "strobed/pipeline/pipeline.h"
#include "strobed/pipeline/sampling.h"
#include "strobed/processors/batch/batch.h"
#include "strobed/processors/head_sampler/head_sampler.h"

namespace strobed::pipeline {
namespace {

constexpr std::size_t kPointsPerBatch = 256;
constexpr std::size_t kSpansPerBatch = 128;

class CountingExporter final : public Exporter {
 public:
  ExportResult Export(const event::Batch& batch) noexcept override {
    // Only the worker writes; relaxed load+store avoids a locked RMW.
    events.store(events.load(std::memory_order_relaxed) + batch.size(), std::memory_order_relaxed);
    return ExportResult::kOk;
  }
  strobe::Status Shutdown(std::chrono::milliseconds) override { return strobe::OkStatus(); }
  std::atomic<uint64_t> events{0};
};

// Records per-event latency (now - point.time_ns) in libstrobe's HistogramData (percentiles
// within 0.55%). Only the pipeline worker calls Export.
class LatencyExporter final : public Exporter {
 public:
  ExportResult Export(const event::Batch& batch) noexcept override {
    uint64_t now = base::MonotonicClock::Steady().NowNs();
    for (const event::MetricPoint& m : batch.metrics()) {
      uint64_t lat = now > m.time_ns ? now - m.time_ns : 0;
      latency_ns_.RecordUnsigned(lat);
    }
    events.store(events.load(std::memory_order_relaxed) + batch.size(), std::memory_order_relaxed);
    return ExportResult::kOk;
  }
  strobe::Status Shutdown(std::chrono::milliseconds) override { return strobe::OkStatus(); }
  // Call after the pipeline stopped.
  double PercentileUs(double q) const { return latency_ns_.Quantile(q) / 1000.0; }
  std::atomic<uint64_t> events{0};

 private:
  strobe::metrics::HistogramData latency_ns_;
};

struct MetricFiller {
  MetricFiller() { host = *event::KeyTable::Global().Intern("host"); }
  void Fill(event::Batch& b, std::size_t n, uint64_t time_ns) const {
    event::Arena& arena = b.arena();
    for (std::size_t i = 0; i < n; ++i) {
      event::MetricPoint& m = b.AddMetric();
      m.name = "http_requests_total";  // static storage outlives the batch
      m.type = event::MetricType::kSum;
      m.temporality = event::Temporality::kCumulative;
      m.is_monotonic = true;
      m.double_value = static_cast<double>(i);
      m.time_ns = time_ns;
      auto* label = arena.AllocateArray<event::Attribute>(1);
      label->key = host;
      label->value = event::Value::String(arena.CopyString("web-1"));
      m.labels = {label, 1};
    }
  }
  event::KeyId host;
};

void FillSpans(event::Batch& b, std::size_t n, SplitMix64& rng,
               const std::array<event::KeyId, 8>& keys) {
  event::Arena& arena = b.arena();
  for (std::size_t i = 0; i < n; ++i) {
    event::Span& s = b.AddSpan();
    s.trace_id = event::TraceId::FromHalves(rng.Next(), rng.Next());
    s.span_id = event::SpanId::FromValue(rng.Next() | 1);
    s.name = arena.CopyString("GET /api/v1/items");
    s.kind = event::SpanKind::kServer;
    s.start_ns = 1000;
    s.end_ns = 2000;
    auto* attrs = arena.AllocateArray<event::Attribute>(8);
    for (std::size_t k = 0; k < 8; ++k) {
      attrs[k].key = keys[k];
      attrs[k].value = k % 2 == 0 ? event::Value::String(arena.CopyString("value-text"))
                                  : event::Value::Int(static_cast<int64_t>(i));
    }
    s.attributes = {attrs, 8};
  }
}

std::unique_ptr<Pipeline> MakePipeline(std::vector<Stage<Processor>> procs,
                                       std::unique_ptr<Exporter> sink, event::BatchPool& pool) {
  std::vector<Stage<Exporter>> exporters;
  exporters.push_back({"sink", std::move(sink)});
  PipelineOptions o;
  o.name = "bench";
  o.queue.max_batches = 256;
  o.queue.policy = BackPressurePolicy::kBlock;
  o.queue.block_timeout = std::chrono::seconds(60);
  o.pool = &pool;
  auto p = std::make_unique<Pipeline>(o, std::move(procs), std::move(exporters));
  if (!p->Start().ok()) return nullptr;
  return p;
}

std::vector<Stage<Processor>> Batching() {
  std::vector<Stage<Processor>> procs;
  procs.push_back(
      {"batch", std::make_unique<processors::BatchProcessor>(processors::BatchOptions{})});
  return procs;
}

// Shared between benchmark threads: set up by thread 0 before the loop (the framework's
// start barrier publishes it), torn down by thread 0 after the loop.
struct Shared {
  event::BatchPool pool{event::BatchPoolOptions{.max_pooled = 4096}};
  std::unique_ptr<Pipeline> pipeline;
  CountingExporter* sink = nullptr;
};
Shared* g_shared = nullptr;
// Outside Shared: threads report after the loop, and thread 0 deletes Shared only once every
// thread has reported.
std::atomic<uint64_t> g_pushed{0};
std::atomic<int> g_reported{0};

void pipeline_metric_points(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_pushed.store(0);
    g_reported.store(0);
    g_shared = new Shared();
    auto sink = std::make_unique<CountingExporter>();
    g_shared->sink = sink.get();
    g_shared->pipeline = MakePipeline(Batching(), std::move(sink), g_shared->pool);
  }
  MetricFiller filler;
  uint64_t pushed = 0;
  for (auto _ : state) {
    Shared& sh = *g_shared;
    event::BatchPtr b = sh.pool.Acquire();
    filler.Fill(*b, kPointsPerBatch, 1);
    PushResult r = sh.pipeline->Push(std::move(b));
    if (r.status != PushStatus::kAccepted) state.SkipWithError("push refused");
    pushed += kPointsPerBatch;
  }
  state.SetItemsProcessed(static_cast<int64_t>(pushed));
  g_pushed.fetch_add(pushed);
  g_reported.fetch_add(1);
  if (state.thread_index() == 0) {
    while (g_reported.load() < state.threads()) std::this_thread::yield();
    (void)g_shared->pipeline->Shutdown(std::chrono::seconds(60));
    if (g_shared->sink->events.load() != g_pushed.load()) {
      state.SkipWithError("events lost");
    }
    delete g_shared;
    g_shared = nullptr;
  }
}
BENCHMARK(pipeline_metric_points)->Threads(2)->UseRealTime()->MinTime(1.0);

void pipeline_metric_points_baseline(benchmark::State& state) {
  static event::BatchPool* pool = new event::BatchPool({.max_pooled = 4096});
  MetricFiller filler;
  uint64_t n = 0;
  for (auto _ : state) {
    event::BatchPtr b = pool->Acquire();
    filler.Fill(*b, kPointsPerBatch, 1);
    benchmark::DoNotOptimize(b->metrics().data());
    n += kPointsPerBatch;
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
BENCHMARK(pipeline_metric_points_baseline)->Threads(2)->UseRealTime()->MinTime(1.0);

std::array<event::KeyId, 8> SpanKeys() {
  std::array<event::KeyId, 8> keys;
  const char* names[] = {"http.method", "http.route", "http.status_code", "net.peer.port",
                         "user.tier",   "db.rows",    "region",           "retry"};
  for (std::size_t k = 0; k < 8; ++k) keys[k] = *event::KeyTable::Global().Intern(names[k]);
  return keys;
}

void pipeline_spans_head_sampled(benchmark::State& state) {
  event::BatchPool pool({.max_pooled = 4096});
  auto sink_owned = std::make_unique<CountingExporter>();
  CountingExporter* sink = sink_owned.get();
  std::vector<Stage<Processor>> procs;
  procs.push_back(
      {"head_sampler", std::make_unique<processors::HeadSampler>(processors::HeadSamplerOptions{
                           .mode = processors::HeadSamplerMode::kTraceIdRatio, .ratio = 0.5})});
  procs.push_back(
      {"batch", std::make_unique<processors::BatchProcessor>(processors::BatchOptions{})});
  std::unique_ptr<Pipeline> p = MakePipeline(std::move(procs), std::move(sink_owned), pool);
  auto keys = SpanKeys();
  SplitMix64 rng(1);
  uint64_t n = 0;
  for (auto _ : state) {
    event::BatchPtr b = pool.Acquire();
    FillSpans(*b, kSpansPerBatch, rng, keys);
    if (p->Push(std::move(b)).status != PushStatus::kAccepted) state.SkipWithError("refused");
    n += kSpansPerBatch;
  }
  (void)p->Shutdown(std::chrono::seconds(60));
  PipelineSnapshot s = p->Snapshot();
  if (sink->events.load() + s.stages[1].Dropped(DropReason::kSampled) != n) {
    state.SkipWithError("accounting mismatch");
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["kept_ratio"] =
      static_cast<double>(sink->events.load()) / static_cast<double>(std::max<uint64_t>(n, 1));
}
BENCHMARK(pipeline_spans_head_sampled)->UseRealTime()->MinTime(1.0);

void pipeline_spans_baseline(benchmark::State& state) {
  event::BatchPool pool({.max_pooled = 4096});
  auto keys = SpanKeys();
  SplitMix64 rng(1);
  uint64_t n = 0;
  for (auto _ : state) {
    event::BatchPtr b = pool.Acquire();
    FillSpans(*b, kSpansPerBatch, rng, keys);
    benchmark::DoNotOptimize(b->spans().data());
    n += kSpansPerBatch;
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
BENCHMARK(pipeline_spans_baseline)->UseRealTime()->MinTime(1.0);

// Maximum single-producer rate through queue + batcher (events/s), measured for ~300 ms.
double MeasureMaxRate(event::BatchPool& pool) {
  auto sink_owned = std::make_unique<CountingExporter>();
  CountingExporter* sink = sink_owned.get();
  auto p = MakePipeline(Batching(), std::move(sink_owned), pool);
  MetricFiller filler;
  auto start = std::chrono::steady_clock::now();
  auto until = start + std::chrono::milliseconds(300);
  uint64_t n = 0;
  while (std::chrono::steady_clock::now() < until) {
    event::BatchPtr b = pool.Acquire();
    filler.Fill(*b, 100, 1);
    (void)p->Push(std::move(b));
    n += 100;
  }
  (void)p->Shutdown(std::chrono::seconds(60));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  benchmark::DoNotOptimize(sink->events.load());
  return static_cast<double>(n) / secs;
}

void pipeline_latency_half_load(benchmark::State& state) {
  event::BatchPool pool({.max_pooled = 4096});
  double max_rate = MeasureMaxRate(pool);
  double rate = max_rate / 2;
  constexpr std::size_t kBatch = 100;
  auto interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 * kBatch / rate));
  auto sink_owned = std::make_unique<LatencyExporter>();
  LatencyExporter* sink = sink_owned.get();
  auto p = MakePipeline(Batching(), std::move(sink_owned), pool);
  MetricFiller filler;
  uint64_t n = 0;
  auto next = std::chrono::steady_clock::now();
  for (auto _ : state) {
    while (std::chrono::steady_clock::now() < next) {
    }
    next += interval;
    event::BatchPtr b = pool.Acquire();
    filler.Fill(*b, kBatch, base::MonotonicClock::Steady().NowNs());
    (void)p->Push(std::move(b));
    n += kBatch;
  }
  (void)p->Shutdown(std::chrono::seconds(60));
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["rate_eps"] = rate;
  state.counters["p50_us"] = sink->PercentileUs(0.50);
  state.counters["p99_us"] = sink->PercentileUs(0.99);
}
BENCHMARK(pipeline_latency_half_load)->UseRealTime()->MinTime(2.0);

}  // namespace
}  // namespace strobed::pipeline
