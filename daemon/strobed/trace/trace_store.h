#pragma once

// TraceStore: assembles spans arriving from the pipeline into traces, detects completion,
// analyses each completed trace (trace_analysis.h) and keeps:
//   - the most recent completed traces (for GET /api/v1/traces/{id});
//   - the service graph: edges caller → callee with call count, error count and latency
//     percentiles, aggregated over a sliding window of `window_buckets` × `bucket` time.
//     Latencies go into libstrobe's HistogramData (strobe/metrics/histogram_data.h), one per
//     edge and bucket, merged over the window: percentiles within 0.55% of the exact order
//     statistic, sum exact. Each holds 512 bytes per power of two its latencies span (e.g.
//     ~5 KiB for 100 us .. 100 ms), allocated only for buckets that saw calls;
//   - per (service, operation) totals of span count, errors, self time and critical-path time
//     (cumulative counters for /metrics).
//
// Completion: a trace is complete when its root span (no parent) has arrived and no new span
// arrived for `quiet_period`. A trace without a root is finalised as incomplete after
// `max_trace_age` since its first span. Memory is bounded: at most `max_pending_traces`
// pending traces and `max_pending_bytes` of pending spans; when either is exceeded the pending
// trace that started first is evicted (not analysed) and counted
// (strobe_trace_evicted_traces_total). Spans of a trace that already completed start a new
// pending entry (late spans, counted as strobe_trace_late_spans_total).
//
// Time is injected: Add() and Tick() take the current steady time, so tests drive completion
// without sleeping; the daemon calls Tick() from a timer and the exporter on every batch.
//
// Thread class: thread-safe. One mutex guards everything; Add() takes it once per batch (not
// per span), and readers (API, metrics) hold it only to copy out what they render.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobe/metrics/histogram_data.h"
#include "strobed/event/attribute.h"
#include "strobed/event/span.h"
#include "strobed/trace/trace_analysis.h"

namespace strobed::trace {

struct TraceStoreOptions {
  std::chrono::nanoseconds quiet_period = std::chrono::seconds(2);
  std::chrono::nanoseconds max_trace_age = std::chrono::seconds(30);
  size_t max_pending_traces = 10000;
  size_t max_pending_bytes = size_t{64} << 20;
  size_t max_completed_traces = 1000;  // kept for the API
  std::chrono::nanoseconds bucket = std::chrono::seconds(10);
  size_t window_buckets = 30;  // service graph window = 5 min by default
};

struct ServiceEdge {
  std::string caller;
  std::string callee;
  uint64_t calls = 0;
  uint64_t errors = 0;
  uint64_t p50_ns = 0;
  uint64_t p90_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t sum_ns = 0;
};

struct TraceStoreStats {
  uint64_t spans_received = 0;
  uint64_t traces_completed = 0;
  uint64_t traces_incomplete = 0;  // finalised without a root or with missing parents
  uint64_t traces_evicted = 0;     // dropped unanalysed by the memory bound
  uint64_t spans_evicted = 0;      // the spans of those traces
  uint64_t late_spans = 0;
  uint64_t pending_traces = 0;
  uint64_t pending_bytes = 0;
};

class TraceStore {
 public:
  explicit TraceStore(TraceStoreOptions options = {});

  // Replaces the options the store was built with, once, before any span arrived: the first
  // trace_analysis exporter created in a process configures the shared store. Returns false
  // (and changes nothing) when the store was configured already or holds data.
  bool Configure(const TraceStoreOptions& options);

  // Adds spans (copied). `now_ns` is steady-clock time. Also completes what is due. Returns
  // the number of spans the memory bound evicted meanwhile (of these or earlier traces).
  size_t Add(std::span<const event::Span> spans, const event::KeyTable& keys, uint64_t now_ns);
  // Completes traces whose quiet period or maximum age has passed.
  void Tick(uint64_t now_ns);
  // Completes every pending trace now (shutdown, tests).
  void FlushAll(uint64_t now_ns);

  // A completed trace, or a pending one analysed as it stands (complete = false), by id.
  std::optional<AnalyzedTrace> Find(const event::TraceId& id) const;
  // Ids of the most recent completed traces, newest first.
  std::vector<event::TraceId> Recent(size_t limit) const;
  // Service-graph edges over the window ending at `now_ns`, sorted by (caller, callee).
  std::vector<ServiceEdge> ServiceGraph(uint64_t now_ns) const;
  // Cumulative per-(service, operation) totals since start, sorted.
  std::vector<Breakdown> OperationTotals() const;
  TraceStoreStats Stats() const;
  TraceStoreOptions options() const;

 private:
  struct Pending {
    std::vector<StoredSpan> spans;
    uint64_t first_ns = 0;  // steady time of the first span
    uint64_t last_ns = 0;   // steady time of the latest span
    bool has_root = false;
    size_t bytes = 0;
  };
  struct TraceIdHash {
    // Both halves: ids whose low half is constant (some generators, fixed test ids) must
    // not all land in one bucket.
    size_t operator()(const event::TraceId& id) const {
      return std::hash<uint64_t>()(id.Low() ^ (id.High() * 0x9E3779B97F4A7C15ull));
    }
  };
  struct EdgeBucket {
    uint64_t index = UINT64_MAX;  // bucket number (now / bucket); UINT64_MAX = unused
    uint64_t calls = 0;
    uint64_t errors = 0;
    strobe::metrics::HistogramData latency_ns;
  };
  struct Edge {
    std::vector<EdgeBucket> buckets;  // ring of window_buckets
  };

  void CompleteLocked(const event::TraceId& id, Pending&& p, uint64_t now_ns) STROBE_REQUIRES(mu_);
  size_t EvictLocked() STROBE_REQUIRES(mu_);  // returns the spans evicted

  mutable strobe::Mutex mu_;
  TraceStoreOptions options_ STROBE_GUARDED_BY(mu_);
  bool configured_ STROBE_GUARDED_BY(mu_) = false;
  std::unordered_map<event::TraceId, Pending, TraceIdHash> pending_ STROBE_GUARDED_BY(mu_);
  // Pending trace ids in arrival order (eviction picks the front). Ids of traces that
  // completed meanwhile stay until they reach the front or the deque is compacted.
  std::deque<std::pair<event::TraceId, uint64_t>> arrival_ STROBE_GUARDED_BY(mu_);
  // Completed traces, newest at the back, plus an index.
  std::deque<std::shared_ptr<const AnalyzedTrace>> completed_ STROBE_GUARDED_BY(mu_);
  std::unordered_map<event::TraceId, std::shared_ptr<const AnalyzedTrace>, TraceIdHash>
      completed_index_ STROBE_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, Edge> edges_ STROBE_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, Breakdown> totals_ STROBE_GUARDED_BY(mu_);
  TraceStoreStats stats_ STROBE_GUARDED_BY(mu_);
};

}  // namespace strobed::trace
