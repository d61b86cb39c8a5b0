#pragma once

// Pipeline statistics: per-stage counters and the reasons events are dropped.
//
// Every stage (the entry queue, each processor, each exporter) counts what it received, what
// it passed on (forwarded to the next stage, or exported), what it dropped by reason, and
// reports what it still holds (in flight). The invariant, checked by tests and visible in
// /metrics:
//
//   received == forwarded + sum(dropped[reason]) + in_flight        (for every stage)
//
// Counters are relaxed atomics written per batch (not per event); a snapshot reads each
// counter atomically but the set is not a consistent cut while data flows (it is once the
// pipeline is quiescent, which is when tests check the invariant).
//
// Thread class: thread-safe.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strobed::pipeline {

enum class DropReason : uint8_t {
  kQueueFull = 0,    // drop_newest: the pushed batch did not fit in the queue
  kQueueEvicted,     // drop_oldest: a queued batch was evicted to make room
  kLoadShed,         // sample policy: sampled out because the queue was filling up
  kSampled,          // a sampler decided not to keep the event
  kTailOverflow,     // tail sampler: trace evicted before its decision (memory bound)
  kExportFailed,     // an exporter returned kFailed
  kRetryExhausted,   // an exporter kept returning kRetry past the retry budget
  kRetryQueueFull,   // the retry area was full when an export had to be retried
  kShutdown,         // still held when the shutdown deadline passed
  kInvalid,          // malformed event rejected by a processor
  kExporterEvicted,  // accepted by an exporter, then evicted from its bounded store
  kCount,
};
inline constexpr std::size_t kDropReasonCount = static_cast<std::size_t>(DropReason::kCount);

// "queue_full", "queue_evicted", "load_shed", "sampled", "tail_overflow", "export_failed",
// "retry_exhausted", "retry_queue_full", "shutdown", "invalid", "exporter_evicted" — the
// `reason` label of strobe_pipeline_dropped_events_total.
std::string_view DropReasonName(DropReason reason);

// Why a push was refused (data handed back to the receiver, not dropped by the pipeline).
enum class RefuseReason : uint8_t {
  kMemorySoft = 0,  // memory above the soft limit: slow down (429 + Retry-After)
  kMemoryHard,      // accepting would exceed the hard limit (503 + Retry-After)
  kQueueFull,       // block policy and the push deadline passed (503 + Retry-After)
  kShutdown,        // pipeline stopped (503)
  kCount,
};
inline constexpr std::size_t kRefuseReasonCount = static_cast<std::size_t>(RefuseReason::kCount);
std::string_view RefuseReasonName(RefuseReason reason);

// Live counters of one stage.
struct StageCounters {
  std::atomic<uint64_t> received{0};   // events that entered the stage
  std::atomic<uint64_t> forwarded{0};  // events passed on (or exported, for exporters)
  std::array<std::atomic<uint64_t>, kDropReasonCount> dropped{};
  std::array<std::atomic<uint64_t>, kRefuseReasonCount> refused{};  // entry stage only
  std::atomic<uint64_t> in_flight{0};  // exporter stages: events inside an Export() call

  // Relaxed: statistics; snapshots do not need ordering with the data path.
  void AddReceived(uint64_t n) noexcept { received.fetch_add(n, std::memory_order_relaxed); }
  void AddForwarded(uint64_t n) noexcept { forwarded.fetch_add(n, std::memory_order_relaxed); }
  void AddDropped(DropReason r, uint64_t n) noexcept {
    dropped[static_cast<std::size_t>(r)].fetch_add(n, std::memory_order_relaxed);
  }
  void AddRefused(RefuseReason r, uint64_t n) noexcept {
    refused[static_cast<std::size_t>(r)].fetch_add(n, std::memory_order_relaxed);
  }
};

struct StageSnapshot {
  std::string stage;  // "queue", "processor/tail_sampler", "exporter/debug", ...
  uint64_t received = 0;
  uint64_t forwarded = 0;
  std::array<uint64_t, kDropReasonCount> dropped{};
  std::array<uint64_t, kRefuseReasonCount> refused{};
  uint64_t in_flight = 0;
  // Processor-specific statistics: (name, label_key, label_value, value, is_counter).
  struct Extra {
    std::string name;
    std::string label_key;
    std::string label_value;
    double value = 0;
    bool counter = true;
  };
  std::vector<Extra> extra;

  uint64_t DroppedTotal() const;
  uint64_t Dropped(DropReason r) const { return dropped[static_cast<std::size_t>(r)]; }
  uint64_t Refused(RefuseReason r) const { return refused[static_cast<std::size_t>(r)]; }
  // received == forwarded + dropped + in_flight.
  bool Balanced() const { return received == forwarded + DroppedTotal() + in_flight; }
};

struct PipelineSnapshot {
  std::string name;
  std::vector<StageSnapshot> stages;  // entry queue first, then processors, then exporters
  uint64_t queued_events = 0;
  uint64_t queued_bytes = 0;
  double load_shed_rate = 1.0;  // sample policy: current keep probability
  // Ingest-to-export latency of the batches since start (nanoseconds), from libstrobe's
  // histogram: within 0.55% of the exact percentile.
  uint64_t latency_p50_ns = 0;
  uint64_t latency_p99_ns = 0;
};

StageSnapshot ReadCounters(std::string stage, const StageCounters& c, uint64_t in_flight);

}  // namespace strobed::pipeline
