#pragma once

// The processor interface: samplers, batching, and any per-event transformation.
//
// A pipeline runs its processors in order on the pipeline's one worker thread. A processor
// takes ownership of each batch it is given and either passes it on (ctx.Emit), edits it in
// place first (a sampler removes events, counting them with ctx.Drop), or holds it and emits
// later (batching, tail sampling). Time-driven work happens in OnTick, which the worker calls
// when NextDeadlineNs() has passed (and at least every tick interval).
//
// Accounting contract (checked by the stats invariant): every event a processor receives is
// eventually emitted, dropped with a reason, or reported by HeldEvents().
//
// Thread class: all methods are called from the pipeline's worker thread, except
// HeldEvents() which the stats reader may call from any thread (make it an atomic read).
// Process/OnTick/Flush are hot: noexcept, no locks, no allocation in steady state.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/event/batch.h"
#include "strobed/pipeline/stats.h"

namespace strobed::pipeline {

// What a processor calls to pass data on or account for drops. Owned by the pipeline.
class ProcessContext {
 public:
  virtual ~ProcessContext() = default;
  // Hands `batch` to the next stage. Empty batches are accepted and released.
  virtual void Emit(event::BatchPtr&& batch) noexcept = 0;
  // Counts `events` dropped by this processor for `reason`.
  virtual void Drop(DropReason reason, uint64_t events) noexcept = 0;
  // Current time from the pipeline's clock.
  virtual uint64_t NowNs() const noexcept = 0;
};

inline constexpr uint64_t kNoDeadline = ~uint64_t{0};

// A processor-specific statistic (samplers: kept/dropped by policy, effective rate), exported
// as strobe_processor_<name>{pipeline,processor,<label_key>=<label_value>}.
struct ProcessorStat {
  std::string name;       // e.g. "sampler_kept_spans_total", "sampler_effective_ratio"
  std::string label_key;  // optional, e.g. "policy"
  std::string label_value;
  double value = 0;
  bool counter = true;  // false: gauge
};

class Processor {
 public:
  virtual ~Processor() = default;

  virtual strobe::Status Start() { return strobe::OkStatus(); }

  // Takes `batch` (non-null). Emit it, hold it, or drop (parts of) it.
  virtual void Process(event::BatchPtr&& batch, ProcessContext& ctx) noexcept = 0;

  // Time passed; emit what is due (batch timeout, trace decision wait).
  virtual void OnTick(ProcessContext& ctx) noexcept { (void)ctx; }

  // When OnTick next has work to do (clock ns), or kNoDeadline.
  virtual uint64_t NextDeadlineNs() const noexcept { return kNoDeadline; }

  // Emits everything held (flush on shutdown, or an explicit flush). A tail sampler decides
  // pending traces with what it has.
  virtual void Flush(ProcessContext& ctx) noexcept { (void)ctx; }

  // Events currently held inside the processor. Thread-safe (atomic read).
  virtual uint64_t HeldEvents() const noexcept { return 0; }

  // Processor-specific statistics. Thread-safe (reads atomics); not on the hot path.
  virtual std::vector<ProcessorStat> Stats() const { return {}; }

  virtual strobe::Status Shutdown(std::chrono::milliseconds deadline) {
    (void)deadline;
    return strobe::OkStatus();
  }
};

}  // namespace strobed::pipeline
