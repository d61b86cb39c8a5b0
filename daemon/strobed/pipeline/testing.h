#pragma once

// Test helpers for pipeline code (linked only by tests and benchmarks; not part of the daemon):
// event builders, a ProcessContext that records what a processor emits and drops, and
// WaitFor (poll a condition with a deadline instead of sleeping).

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "strobed/base/clock.h"
#include "strobed/event/batch.h"
#include "strobed/pipeline/processor.h"
#include "strobed/pipeline/stats.h"

namespace strobed::pipeline::testing {

struct SpanSpec {
  event::TraceId trace_id;
  uint64_t span_id = 1;
  uint64_t parent_span_id = 0;  // 0 = root
  std::string_view name = "op";
  uint64_t start_ns = 1000;
  uint64_t end_ns = 2000;
  event::StatusCode status = event::StatusCode::kUnset;
  int attributes = 0;  // adds attr0..attrN-1 = int values
};

// Appends a span to `batch` (strings copied into its arena).
event::Span& AddSpan(event::Batch& batch, const SpanSpec& spec);
// Appends a gauge point with one label (`host`=`label_value`).
event::MetricPoint& AddGauge(event::Batch& batch, std::string_view name, double value,
                             std::string_view label_value = "a", uint64_t time_ns = 1);
event::LogRecord& AddLog(event::Batch& batch, std::string_view body, uint8_t severity = 9);

// A batch with `n` gauge points from `pool`.
event::BatchPtr MetricBatch(event::BatchPool& pool, std::size_t n);

// Records Emit/Drop calls.
class RecordingContext final : public ProcessContext {
 public:
  explicit RecordingContext(const base::MonotonicClock& clock) : clock_(clock) {}
  void Emit(event::BatchPtr&& batch) noexcept override { emitted.push_back(std::move(batch)); }
  void Drop(DropReason reason, uint64_t events) noexcept override {
    dropped[static_cast<std::size_t>(reason)] += events;
  }
  uint64_t NowNs() const noexcept override { return clock_.NowNs(); }

  uint64_t EmittedEvents() const;
  uint64_t EmittedSpans() const;
  uint64_t Dropped(DropReason r) const { return dropped[static_cast<std::size_t>(r)]; }

  std::vector<event::BatchPtr> emitted;
  std::array<uint64_t, kDropReasonCount> dropped{};

 private:
  const base::MonotonicClock& clock_;
};

// Polls `condition` every millisecond until true or `timeout` (real time) passes.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace strobed::pipeline::testing
