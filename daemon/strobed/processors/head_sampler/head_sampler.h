#pragma once

// The `head_sampler` processor: decides per event, as it arrives, whether to keep it.
//
//   sampler: always_on       keep everything
//   sampler: always_off      drop everything (counted as `sampled`)
//   sampler: trace_id_ratio  keep a span iff its trace id passes the OpenTelemetry
//                            TraceIdRatioBased rule at `ratio` (pipeline/sampling.h): the same
//                            decision for every span of a trace, in every process
//   sampler: probabilistic   keep each event independently with probability `ratio`
//                            (seeded PRNG; deterministic in tests)
//
// Log records carrying a trace id follow their trace's decision under trace_id_ratio; other
// logs, and metric points when `include_metrics` is set, are sampled probabilistically.
// Metric points pass through by default (sampling a time series' points distorts it).
//
// Thread class: pipeline worker thread; Stats() thread-safe. Allocation-free.

#include <atomic>
#include <cstdint>

#include "strobed/pipeline/plugin_registry.h"
#include "strobed/pipeline/processor.h"
#include "strobed/pipeline/sampling.h"

namespace strobed::processors {

enum class HeadSamplerMode : uint8_t { kAlwaysOn, kAlwaysOff, kTraceIdRatio, kProbabilistic };

struct HeadSamplerOptions {
  HeadSamplerMode mode = HeadSamplerMode::kTraceIdRatio;
  double ratio = 1.0;
  bool include_metrics = false;
  uint64_t seed = 1;
};

class HeadSampler final : public pipeline::Processor {
 public:
  explicit HeadSampler(HeadSamplerOptions options);

  void Process(event::BatchPtr&& batch, pipeline::ProcessContext& ctx) noexcept override;
  std::vector<pipeline::ProcessorStat> Stats() const override;

  // The decision for one span (exposed for tests and benchmarks).
  bool KeepSpan(const event::Span& span) noexcept;

 private:
  bool KeepRandom() noexcept;

  const HeadSamplerOptions options_;
  const uint64_t threshold_;
  pipeline::SplitMix64 rng_;
  // Written by the worker only; relaxed loads by Stats().
  std::atomic<uint64_t> kept_{0};
  std::atomic<uint64_t> dropped_{0};
};

void RegisterHeadSampler(pipeline::PluginRegistry& registry);

}  // namespace strobed::processors
