#pragma once

// The `tail_sampler` processor: holds the spans of each trace until the trace is complete,
// then decides for the whole trace with policies that can see all of it.
//
// A trace is decided when its root span (no parent) has arrived and `decision_wait` has
// passed since (late children still join), or when `max_trace_age` has passed since its first
// span (no root seen), or on flush/shutdown. Memory is bounded: at most `num_traces` traces are
// held; a new trace arriving at the bound forces the oldest held trace to be decided early
// with what it has (a "spill" decision, counted), and a trace keeps at most
// `max_spans_per_trace` spans (the excess is dropped with reason tail_overflow). Spans arriving
// after their trace was decided follow the remembered decision (a direct-mapped cache of
// `decision_cache` entries); if the decision was forgotten they start a new trace.
//
// Policies (YAML list under `policies`), evaluated in order; the trace is kept if any says so:
//   {name: errors, type: status_code}                     any span has status ERROR
//   {name: slow, type: latency, threshold: 500ms}          trace duration >= threshold
//   {name: vip, type: attribute, key: tier, values: [gold]}  a span or resource attribute
//                                                          equals one of the values
//   {name: some, type: probabilistic, ratio: 0.1}         TraceIdRatioBased on the trace id
//   {name: cap, type: rate_limit, spans_per_second: 1000} keeps while this second's budget lasts
//   {name: all, type: always_sample}
//   {name: mix, type: composite, max_spans_per_second: 1000,
//    policies: [{..., share: 0.5}, ...]}                  first sub-policy that matches and still
//                                                          has its share of the budget
//
// Storage: each held trace owns a small pooled Batch holding deep copies of its spans; a kept
// trace's batch is appended to the output without another copy. Steady state allocates
// nothing per span once the pools are warm. The trace table is open addressing with linear
// probing (fixed capacity), the decision order is two FIFOs (root-ended, arrival).
//
// Lifetime: emitted batches may contain storage from the sampler's own pool, so they must be
// released before the sampler is destroyed (the pipeline destroys later stages first).
//
// Thread class: pipeline worker thread; Stats()/HeldEvents() thread-safe.

#include <yaml-cpp/yaml.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/event/batch.h"
#include "strobed/pipeline/plugin_registry.h"
#include "strobed/pipeline/processor.h"

namespace strobed::processors {

struct TailPolicy {
  enum class Type : uint8_t {
    kAlwaysSample,
    kStatusCode,
    kLatency,
    kAttribute,
    kProbabilistic,
    kRateLimit,
    kComposite,
  };
  std::string name;
  Type type = Type::kAlwaysSample;
  uint64_t latency_threshold_ns = 0;
  event::KeyId key;
  std::vector<std::string> values;  // attribute: compared with the value's text form
  uint64_t threshold = 0;           // probabilistic: TraceIdRatioBased threshold
  double spans_per_second = 0;      // rate_limit; composite: max_spans_per_second
  double share = 1.0;               // composite sub-policy share of the budget
  std::vector<TailPolicy> subs;     // composite
  // Rate state (worker only).
  uint64_t window_start_ns = 0;
  double spent = 0;
};

// Parses the `policies` list; errors name file:line.
strobe::Result<std::vector<TailPolicy>> ParseTailPolicies(const YAML::Node& node,
                                                          std::string_view file,
                                                          event::KeyTable& keys);

struct TailSamplerOptions {
  std::chrono::nanoseconds decision_wait = std::chrono::seconds(5);
  std::chrono::nanoseconds max_trace_age = std::chrono::seconds(30);
  std::size_t num_traces = 100'000;
  std::size_t max_spans_per_trace = 10'000;
  std::size_t decision_cache = 1 << 16;
  std::vector<TailPolicy> policies;
  event::BatchPool* output_pool = nullptr;  // where output batches come from (default pool)
};

class TailSampler final : public pipeline::Processor {
 public:
  explicit TailSampler(TailSamplerOptions options);
  ~TailSampler() override;

  void Process(event::BatchPtr&& batch, pipeline::ProcessContext& ctx) noexcept override;
  void OnTick(pipeline::ProcessContext& ctx) noexcept override;
  uint64_t NextDeadlineNs() const noexcept override;
  void Flush(pipeline::ProcessContext& ctx) noexcept override;
  uint64_t HeldEvents() const noexcept override {
    return held_spans_.load(std::memory_order_relaxed);  // worker writes; readers snapshot
  }
  std::vector<pipeline::ProcessorStat> Stats() const override;

  uint64_t held_traces() const { return held_traces_.load(std::memory_order_relaxed); }
  // Memory of held traces (span copies, their arenas and vectors, table slots).
  uint64_t held_bytes() const;

 private:
  static constexpr uint32_t kNil = ~uint32_t{0};
  enum class Why : uint8_t { kComplete, kAge, kSpill, kFlush };
  struct Trace;
  struct Ready {
    uint32_t index;
    uint32_t generation;
  };

  uint32_t Find(const event::TraceId& id) const noexcept;
  uint32_t Insert(const event::TraceId& id, uint64_t now_ns) noexcept;
  void Erase(uint32_t index) noexcept;
  void Decide(uint32_t index, Why why, pipeline::ProcessContext& ctx) noexcept;
  void DecideDue(uint64_t now_ns, pipeline::ProcessContext& ctx) noexcept;
  bool Evaluate(std::vector<TailPolicy>& policies, const Trace& t, uint64_t now_ns,
                bool record) noexcept;
  bool Matches(TailPolicy& p, const Trace& t, uint64_t now_ns) noexcept;
  void EmitOutput(pipeline::ProcessContext& ctx) noexcept;
  int CachedDecision(const event::TraceId& id) const noexcept;  // -1 unknown, 0 drop, 1 keep
  void RememberDecision(const event::TraceId& id, bool keep) noexcept;

  TailSamplerOptions options_;
  event::BatchPool storage_pool_;  // per-trace span storage
  event::BatchPool* output_pool_;
  std::vector<Trace> traces_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> slots_;  // trace index + 1, 0 = empty
  std::size_t slot_mask_;
  uint32_t oldest_ = kNil;  // arrival list
  uint32_t newest_ = kNil;
  std::vector<Ready> ready_;  // ring, FIFO by decide time
  std::size_t ready_head_ = 0;
  std::size_t ready_size_ = 0;
  struct CacheSlot {
    event::TraceId id;
    uint8_t decision = 0;  // 0 empty, 1 dropped, 2 kept
  };
  std::vector<CacheSlot> cache_;
  uint64_t epoch_ = 0;  // Process() call counter (per-trace copier freshness)
  event::BatchPtr out_;

  // Statistics (worker writes with load+store; readers relaxed).
  std::atomic<uint64_t> held_spans_{0};
  std::atomic<uint64_t> held_traces_{0};
  std::atomic<uint64_t> held_storage_bytes_{0};
  std::atomic<uint64_t> traces_kept_{0};
  std::atomic<uint64_t> traces_dropped_{0};
  std::atomic<uint64_t> spans_kept_{0};
  std::atomic<uint64_t> spans_dropped_{0};
  std::atomic<uint64_t> spill_decisions_{0};
  std::atomic<uint64_t> age_decisions_{0};
  std::atomic<uint64_t> late_kept_{0};
  std::atomic<uint64_t> late_dropped_{0};
  std::atomic<uint64_t> overflow_spans_{0};
  std::unique_ptr<std::atomic<uint64_t>[]> policy_hits_;  // per top-level policy
};

void RegisterTailSampler(pipeline::PluginRegistry& registry);

}  // namespace strobed::processors
