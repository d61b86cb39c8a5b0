// Tail sampler holding 100,000 concurrent traces.
// Conditions: release build, an otherwise idle machine; numbers on a shared 2-vCPU VM are
// noisy. Reports spans/s through the sampler and the memory held per trace (bytes_per_trace).
//
// pipeline_tail_sampler_100k_traces: 100k traces of 4 spans (8 attributes each) arrive in
// batches of 1,000 spans, roots last; then the decision wait passes and all are decided
// (policies: errors, latency, probabilistic 10%).
// Baseline: tail_sampler_baseline_copy — the same spans deep-copied into pooled batches with
// no table, no policies (the storage cost alone).

#include <benchmark/benchmark.h>

#include "strobed/base/clock.h"
#include "strobed/pipeline/sampling.h"
#include "strobed/pipeline/testing.h"
#include "strobed/processors/tail_sampler/tail_sampler.h"

namespace strobed::processors {
namespace {

constexpr int kTraces = 100'000;
constexpr int kSpansPerTrace = 4;
constexpr int kSpansPerBatch = 1000;

std::vector<event::BatchPtr> MakeInput(event::BatchPool& pool) {
  std::vector<event::BatchPtr> batches;
  pipeline::SplitMix64 rng(1);
  event::BatchPtr b = pool.Acquire();
  for (int t = 0; t < kTraces; ++t) {
    event::TraceId id = event::TraceId::FromHalves(rng.Next(), rng.Next());
    for (int s = kSpansPerTrace; s >= 1; --s) {
      pipeline::testing::AddSpan(*b, {.trace_id = id,
                                      .span_id = static_cast<uint64_t>(s),
                                      .parent_span_id = s == 1 ? 0u : 1u,
                                      .name = "GET /api/v1/items",
                                      .start_ns = 1000,
                                      .end_ns = 2000 + static_cast<uint64_t>(t % 1000) * 1000,
                                      .attributes = 8});
      if (b->size() == kSpansPerBatch) {
        batches.push_back(std::move(b));
        b = pool.Acquire();
      }
    }
  }
  if (!b->empty()) batches.push_back(std::move(b));
  return batches;
}

void pipeline_tail_sampler_100k_traces(benchmark::State& state) {
  event::BatchPool pool({.max_pooled = 1024});
  base::ManualMonotonicClock clock;
  uint64_t peak_bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<event::BatchPtr> input = MakeInput(pool);
    TailSamplerOptions o;
    o.decision_wait = std::chrono::seconds(1);
    o.num_traces = kTraces;
    o.output_pool = &pool;
    o.policies = ParseTailPolicies(YAML::Load(R"([
        {name: errors, type: status_code},
        {name: slow, type: latency, threshold: 900us},
        {name: some, type: probabilistic, ratio: 0.1}])"),
                                   "bench", event::KeyTable::Global())
                     .value();
    auto sampler = std::make_unique<TailSampler>(std::move(o));
    pipeline::testing::RecordingContext ctx(clock);
    state.ResumeTiming();
    for (auto& b : input) sampler->Process(std::move(b), ctx);
    state.PauseTiming();
    peak_bytes = std::max<uint64_t>(peak_bytes, sampler->held_bytes());
    if (sampler->held_traces() != kTraces) state.SkipWithError("not all traces held");
    state.ResumeTiming();
    clock.AdvanceNs(2'000'000'000);
    sampler->OnTick(ctx);
    benchmark::DoNotOptimize(ctx.emitted.size());
    state.PauseTiming();
    ctx.emitted.clear();
    sampler.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kTraces * kSpansPerTrace);
  state.counters["bytes_per_trace"] = benchmark::Counter(static_cast<double>(peak_bytes) / kTraces);
  state.counters["traces"] = kTraces;
}
BENCHMARK(pipeline_tail_sampler_100k_traces)->Unit(benchmark::kMillisecond)->UseRealTime();

void tail_sampler_baseline_copy(benchmark::State& state) {
  event::BatchPool pool({.max_pooled = 1024});
  event::BatchPool storage({.max_pooled = kTraces + 16, .first_chunk_bytes = 512});
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<event::BatchPtr> input = MakeInput(pool);
    std::vector<event::BatchPtr> held;
    held.reserve(kTraces);
    state.ResumeTiming();
    for (auto& b : input) {
      auto spans = b->spans();
      for (std::size_t i = 0; i < spans.size(); i += kSpansPerTrace) {
        event::BatchPtr t = storage.Acquire();
        event::EventCopier copier(*t, *b);
        for (int k = 0; k < kSpansPerTrace; ++k)
          copier.CopySpan(spans[i + static_cast<std::size_t>(k)]);
        held.push_back(std::move(t));
      }
    }
    benchmark::DoNotOptimize(held.data());
    state.PauseTiming();
    held.clear();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kTraces * kSpansPerTrace);
}
BENCHMARK(tail_sampler_baseline_copy)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace strobed::processors
