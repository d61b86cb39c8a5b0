#pragma once

// strobed::pipeline::Pipeline: one configured pipeline — an entry queue with a back-pressure
// policy, a chain of processors and a fan-out to exporters, driven by one worker thread.
//
//   receivers ──Push()──► [memory limiter] ► [policy] ► queue ──worker──► processors ► exporters
//   (any thread)          charge or refuse   block/drop/sample   (MPMC, or SPSC for one producer)
//
// Threading (docs/design/pipeline.md): Push() runs on receiver threads and is lock-free
// unless the `block` policy has to wait for space. Everything after the queue runs on the
// pipeline's own worker thread: processors and exporters are never called concurrently, so
// they need no locks. The worker sleeps on a condition variable only when the queue is empty
// and no processor deadline is due; producers take the mutex only to wake a sleeping worker.
//
// Statistics: each stage counts received / forwarded / dropped{reason} and reports in
// flight, so that received == forwarded + dropped + in_flight holds for every stage
// (Snapshot(); checked by tests). Nothing is dropped without a reason.
//
// Export retries (exporter.h has the result contract): the pipeline, not the exporter, owns
// retry. When an exporter answers kRetry for some signals, a copy of just those events is
// parked in the pipeline's retry area with the time of its next attempt — the exporter's
// retry_after, else the backoff of base/retry.h (exponential with jitter, seeded from
// PipelineOptions::seed) — and the worker goes on with other batches, flushes and other
// exporters; it re-sends parked events when they are due. While an exporter has a retry
// pending, new batches for it join the retry area without calling it (one probe per backoff
// period, not one timeout per batch); its first success makes all of them due. The area is
// bounded (RetryOptions max_parked_*): a batch that does not fit is dropped with reason
// retry_queue_full; one that fails max_attempts times with reason retry_exhausted — each
// counted once, when the events are given up. So the worker never blocks for longer than one
// Export() call, which an exporter bounds by its own request timeout.
//
// Lifecycle: construct (via PipelineService or directly in tests), Start(), Push()...,
// Shutdown(deadline): refuse new pushes, drain the queue through the processors, flush the
// processors (batch, tail sampler) and exporters, keep retrying parked events, stop the
// worker. Queued or parked data still present when the deadline passes is dropped with
// reason `shutdown`; an export in progress then is cancelled (Exporter::Cancel), so Shutdown
// returns within the deadline plus what a cancelled export takes to return.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "strobe/base/cache_line.h"
#include "strobe/base/mpmc_queue.h"
#include "strobe/base/mutex.h"
#include "strobe/base/spsc_ring.h"
#include "strobe/base/status.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/base/clock.h"
#include "strobed/base/retry.h"
#include "strobed/event/batch.h"
#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/memory_limiter.h"
#include "strobed/pipeline/processor.h"
#include "strobed/pipeline/receiver.h"
#include "strobed/pipeline/stats.h"

namespace strobe::metrics {
class Histogram;
class Registry;
}  // namespace strobe::metrics

namespace strobed::pipeline {

enum class BackPressurePolicy : uint8_t {
  kBlock = 0,   // the producer waits for space (up to its deadline); nothing is lost
  kDropNewest,  // a batch that does not fit is dropped (reason queue_full)
  kDropOldest,  // the oldest queued batches are evicted to make room (reason queue_evicted)
  kSample,      // above `sample_start_fill` incoming data is sampled at a falling rate
                // (reason load_shed); when full, like drop_newest
};
std::string_view BackPressurePolicyName(BackPressurePolicy policy);
strobe::Result<BackPressurePolicy> ParseBackPressurePolicy(std::string_view name);

struct QueueOptions {
  std::size_t max_batches = 1024;                  // slots (rounded up to a power of two)
  std::size_t max_events = 1'000'000;              // events queued across all batches
  std::size_t max_bytes = std::size_t{256} << 20;  // memory estimate of queued batches
  BackPressurePolicy policy = BackPressurePolicy::kBlock;
  std::chrono::nanoseconds block_timeout = std::chrono::seconds(5);  // default push deadline
  bool single_producer = false;    // exactly one thread pushes: use the SPSC ring
  double sample_start_fill = 0.5;  // kSample: fill fraction where shedding starts
  double sample_min_rate = 0.01;   // kSample: keep probability when (nearly) full
};

// Export retry policy and the bounds of the retry area (see the overview).
struct RetryOptions {
  int max_attempts = 10;  // export calls per event per exporter, including the first
  std::chrono::nanoseconds initial_backoff = std::chrono::milliseconds(100);
  std::chrono::nanoseconds max_backoff = std::chrono::seconds(10);
  std::chrono::nanoseconds max_retry_after = std::chrono::minutes(5);  // cap on an exporter's hint
  std::size_t max_parked_batches = 4096;                 // parked (batch, exporter) pairs
  std::size_t max_parked_events = 1'000'000;             // across all parked batches
  std::size_t max_parked_bytes = std::size_t{64} << 20;  // memory estimate of parked batches

  base::RetryPolicy Policy() const {
    return {max_attempts, initial_backoff, max_backoff, max_retry_after};
  }
};

struct PipelineOptions {
  std::string name = "default";
  QueueOptions queue;
  RetryOptions retry;
  MemoryLimiter* limiter = nullptr;       // shared, outlives the pipeline; nullptr = unlimited
  base::MonotonicClock* clock = nullptr;  // nullptr = base::MonotonicClock::Steady()
  event::BatchPool* pool = nullptr;       // nullptr = BatchPool::Default()
  uint64_t seed = 0x5eed;                 // load-shedding and retry-jitter randomness
  // Upper bound on how long the idle worker sleeps before re-checking deadlines (real time).
  std::chrono::milliseconds max_idle_wait{50};
};

// A processor or exporter with the name its statistics are reported under.
template <typename T>
struct Stage {
  std::string name;  // e.g. "batch", "tail_sampler/slow"
  std::unique_ptr<T> component;
  T* shared = nullptr;  // exporters shared between pipelines: not owned (component is null)
  std::mutex* shared_mu = nullptr;  // serialises Export() of a shared exporter
};

class Pipeline final : public Ingest {
 public:
  Pipeline(PipelineOptions options, std::vector<Stage<Processor>> processors,
           std::vector<Stage<Exporter>> exporters);
  ~Pipeline() override;
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Starts processors and (owned) exporters, then the worker thread. Control thread.
  strobe::Status Start();

  // See receiver.h. Thread-safe.
  PushResult Push(event::BatchPtr&& batch, const PushOptions& options = {}) noexcept override;
  event::BatchPool& pool() noexcept override { return *pool_; }

  // Asks the worker to push held data (batcher, tail sampler) downstream now, and waits until
  // it did or `deadline` passed. Control thread.
  strobe::Status Flush(std::chrono::milliseconds deadline);

  // Stops accepting, drains, flushes and stops the worker, then shuts down processors and
  // owned exporters. DeadlineExceeded when the deadline cut the drain short; its message
  // names how many events were dropped (reason shutdown). Idempotent. Control thread.
  strobe::Status Shutdown(std::chrono::milliseconds deadline);

  // Statistics of every stage (thread-safe; see stats.h for consistency).
  PipelineSnapshot Snapshot() const;

  const std::string& name() const { return options_.name; }
  const PipelineOptions& options() const { return options_; }

  // Wakes the worker so it re-reads the clock (tests advancing a base::ManualMonotonicClock).
  void WakeForTest();

 private:
  class StageContext;

  bool QueueTryPush(event::Batch* b) noexcept;
  bool QueueTryPop(event::Batch*& b) noexcept;
  bool Reserve(std::size_t events, std::size_t bytes) noexcept;
  void Unreserve(std::size_t events, std::size_t bytes) noexcept;
  bool TryEnqueue(event::BatchPtr& batch, std::size_t events, std::size_t bytes) noexcept;
  std::size_t ShedLoad(event::Batch& batch) noexcept;
  double Fill() const noexcept;
  void WakeWorker() noexcept;
  void WakeProducers() noexcept;
  PushResult Refuse(event::BatchPtr&& batch, PushStatus status, RefuseReason reason,
                    std::size_t events) noexcept;

  void WorkerLoop();
  bool DrainOnce();
  // A batch (or the part of one) waiting for its next export attempt to one exporter.
  struct Parked {
    event::BatchPtr batch;  // own copy holding only the signals to re-send
    std::size_t exporter = 0;
    int attempts = 0;     // export calls made for these events so far
    uint64_t due_ns = 0;  // earliest next attempt (clock_)
    std::size_t events = 0;
    std::size_t bytes = 0;
  };

  void RunStage(std::size_t index, event::BatchPtr&& batch) noexcept;
  void ExportAll(event::BatchPtr&& batch) noexcept;
  uint8_t CallExporter(std::size_t j, const event::Batch& batch, uint8_t signals, int attempts,
                       uint64_t* due_ns) noexcept;
  void Park(std::size_t j, const event::Batch& batch, uint8_t signals, int attempts,
            uint64_t due_ns) noexcept;
  bool RetryDue(bool drop_all) noexcept;
  uint64_t NextRetry() const noexcept;
  void SetInFlight(std::size_t j) noexcept;
  void Tick(bool force_flush) noexcept;
  uint64_t NextDeadline() const noexcept;

  PipelineOptions options_;
  base::MonotonicClock* clock_;
  event::BatchPool* pool_;
  std::vector<Stage<Processor>> processors_;
  std::vector<Stage<Exporter>> exporters_;
  std::vector<std::unique_ptr<StageContext>> contexts_;

  std::unique_ptr<strobe::MpmcQueue<event::Batch*>> mpmc_;
  std::unique_ptr<strobe::SpscRing<event::Batch*>> spsc_;

  // Written by producers (reserve) and the worker (release): one line each, per batch.
  strobe::CacheLinePadded<std::atomic<uint64_t>> queued_events_;
  strobe::CacheLinePadded<std::atomic<uint64_t>> queued_bytes_;
  strobe::CacheLinePadded<std::atomic<uint64_t>> shed_counter_;  // load-shed PRNG stream

  // Statistics: entry stage, one per processor, one per exporter (each on its own lines).
  std::unique_ptr<StageCounters> entry_counters_;
  std::vector<std::unique_ptr<StageCounters>> processor_counters_;
  std::vector<std::unique_ptr<StageCounters>> exporter_counters_;

  // Retry area: worker thread only.
  base::Backoff backoff_;
  std::vector<Parked> parked_;
  std::size_t parked_events_total_ = 0;
  std::size_t parked_bytes_total_ = 0;
  std::vector<uint64_t> exporter_backoff_until_;  // per exporter: 0 = not backing off
  std::vector<std::size_t> exporter_parked_events_;
  std::atomic<uint64_t> shed_rate_bits_;  // double bits of the current keep rate (stats only)

  // Ingest → export latency of batches (ns): libstrobe's lock-free histogram, in a registry
  // of its own because the pipeline publishes it through Stats(), not through a registry.
  // The worker records, Stats() reads.
  std::unique_ptr<strobe::metrics::Registry> latency_registry_;
  strobe::metrics::Histogram* latency_ = nullptr;

  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};     // refuse new pushes
  std::atomic<bool> abort_drain_{false};  // shutdown deadline passed: drop what is queued
  std::atomic<bool> worker_done_{false};
  std::atomic<int> active_pushes_{0};
  std::atomic<uint64_t> flush_requested_{0};
  std::atomic<uint64_t> flush_done_{0};

  std::mutex wake_mu_;
  std::condition_variable work_cv_;
  std::atomic<uint32_t> worker_sleeping_{0};
  std::condition_variable space_cv_;
  std::atomic<int> producers_waiting_{0};
  std::condition_variable flush_cv_;
  strobe::Mutex lifecycle_mu_;
  bool shut_down_ STROBE_GUARDED_BY(lifecycle_mu_) = false;
  std::thread worker_;
};

}  // namespace strobed::pipeline
