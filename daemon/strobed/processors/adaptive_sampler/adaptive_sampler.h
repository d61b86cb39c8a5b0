#pragma once

// The `adaptive_sampler` processor: priority head sampling that holds a target rate.
//
// Each span falls in the first class that applies:
//   error  status code ERROR                                  kept 100%
//   slow   duration >= latency_threshold                      kept at slow_ratio
//   base   everything else                                   kept at the base ratio
// slow and base decisions use the trace id (TraceIdRatioBased rule), so for those classes all
// spans of a trace share a decision. Every `adjust_interval` the base ratio is re-computed so
// that the kept spans per second approach `target_spans_per_second`:
//   budget = max(0, target - kept_error_and_slow_per_s);  base = clamp(budget / base_in_per_s,
//   min_ratio, 1)
// (target 0 = a fixed base ratio). Time comes from the pipeline clock (base::ManualMonotonicClock
// in tests). Logs and metric points pass through.
//
// Thread class: pipeline worker thread; Stats() thread-safe. Allocation-free.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "strobed/pipeline/plugin_registry.h"
#include "strobed/pipeline/processor.h"
#include "strobed/pipeline/sampling.h"

namespace strobed::processors {

struct AdaptiveSamplerOptions {
  std::chrono::nanoseconds latency_threshold = std::chrono::milliseconds(500);
  double slow_ratio = 0.5;
  double base_ratio = 0.1;  // initial base ratio
  double target_spans_per_second = 0;
  double min_ratio = 0.0001;
  std::chrono::nanoseconds adjust_interval = std::chrono::seconds(1);
};

class AdaptiveSampler final : public pipeline::Processor {
 public:
  explicit AdaptiveSampler(AdaptiveSamplerOptions options);

  void Process(event::BatchPtr&& batch, pipeline::ProcessContext& ctx) noexcept override;
  std::vector<pipeline::ProcessorStat> Stats() const override;

  double base_ratio() const { return base_ratio_.load(std::memory_order_relaxed); }

 private:
  enum Class { kError = 0, kSlow, kBase, kClasses };
  void MaybeAdjust(uint64_t now_ns) noexcept;

  const AdaptiveSamplerOptions options_;
  const uint64_t slow_threshold_;
  std::atomic<double> base_ratio_;  // worker writes; Stats reads (relaxed)
  uint64_t base_threshold_;
  uint64_t window_start_ns_ = 0;
  uint64_t window_in_[kClasses] = {};    // spans seen this window by class
  uint64_t window_kept_[kClasses] = {};  // spans kept this window by class
  std::atomic<uint64_t> kept_[kClasses] = {};
  std::atomic<uint64_t> dropped_[kClasses] = {};
};

void RegisterAdaptiveSampler(pipeline::PluginRegistry& registry);

}  // namespace strobed::processors
