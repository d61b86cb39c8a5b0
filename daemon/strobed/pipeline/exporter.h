#pragma once

// The exporter interface: where a pipeline's data leaves (Prometheus, OTLP, ClickHouse, the
// stream processor, the memory and debug sinks).
//
// The pipeline's worker thread calls Export() with an immutable batch after the last
// processor; with several exporters, each gets the same batch in turn. The batch is valid only
// during the call: an exporter that keeps data (a durable queue, an aggregating stream
// processor) copies what it needs (event::EventCopier, or its own encoding).
//
// The result contract (STYLE.md section 5; the pipeline owns retry policy):
//   Export() returns promptly — bounded by the exporter's own request timeout — with one
//   outcome per signal (traces, metrics, logs):
//     kOk      delivered (counted as exported)
//     kRetry   transient failure (backend down, 429/503, timeout): the pipeline parks that
//              signal's events and calls Export again later with only them. retry_after > 0
//              is the earliest time to try again (e.g. the backend's Retry-After); 0 lets
//              the pipeline's backoff (base/retry.h: exponential with jitter) choose.
//     kFailed  permanent failure for these events (e.g. HTTP 400): dropped, counted
//              (reason export_failed)
//   An exporter that keeps events in a bounded store of its own (trace_analysis) and has to
//   evict some of them reports how many with SetEvicted(): the pipeline counts them as
//   dropped (reason exporter_evicted) rather than forwarded, so the exporter stage's
//   forwarded count stays what was actually kept.
//   An exporter never sleeps or retries inside Export: waiting is the pipeline's job, so one
//   dead backend cannot stall the worker, and a failure of one signal never re-sends the
//   others. Outcomes of signals absent from the batch are ignored.
//
//   return ExportResult::kOk;                          // every signal delivered
//   ExportResult r;                                    // per signal
//   r.Set(event::kSignalMetrics, ExportOutcome::kRetry, std::chrono::seconds(2));
//
// A slow Export() back-pressures the pipeline (its queue fills and the pipeline's policy
// applies); an exporter doing network I/O should keep its own bounded buffer.
//
// Thread class: Export/Flush are called from the pipeline worker thread; Start/Shutdown from
// the control thread, never concurrently with Export. Cancel is the exception: the control
// thread calls it while Export may be running, when the shutdown deadline passed.

#include <array>
#include <chrono>
#include <cstdint>

#include "strobe/base/status.h"
#include "strobed/event/batch.h"

namespace strobed::pipeline {

enum class ExportOutcome : uint8_t { kOk = 0, kRetry, kFailed };

// Per-signal outcomes of one Export() call. A small value type (no allocation).
class ExportResult {
 public:
  // The same outcome for every signal (retry with the pipeline's backoff for kRetry).
  static const ExportResult kOk;
  static const ExportResult kRetry;
  static const ExportResult kFailed;

  constexpr ExportResult() noexcept = default;
  constexpr explicit ExportResult(ExportOutcome all,
                                  std::chrono::nanoseconds retry_after = {}) noexcept {
    for (std::size_t i = 0; i < kSignals; ++i) Put(i, all, retry_after);
  }
  // Every signal to retry no earlier than `retry_after` from now (0 = pipeline backoff).
  static constexpr ExportResult RetryAfter(std::chrono::nanoseconds retry_after) noexcept {
    return ExportResult(ExportOutcome::kRetry, retry_after);
  }

  // Sets the outcome of every signal in `signals` (an event::Signal bit set). retry_after
  // only matters for kRetry.
  constexpr void Set(uint8_t signals, ExportOutcome outcome,
                     std::chrono::nanoseconds retry_after = {}) noexcept {
    for (std::size_t i = 0; i < kSignals; ++i) {
      if ((signals & (1u << i)) != 0) Put(i, outcome, retry_after);
    }
  }
  // The outcome of one signal (kSignalTraces, kSignalMetrics or kSignalLogs).
  constexpr ExportOutcome outcome(event::Signal signal) const noexcept {
    return outcome_[Index(signal)];
  }
  constexpr std::chrono::nanoseconds retry_after(event::Signal signal) const noexcept {
    return std::chrono::nanoseconds(retry_after_ns_[Index(signal)]);
  }
  // The signals among `present` whose outcome is `outcome`.
  constexpr uint8_t Signals(ExportOutcome outcome,
                            uint8_t present = event::kSignalAll) const noexcept {
    uint8_t out = 0;
    for (std::size_t i = 0; i < kSignals; ++i) {
      if ((present & (1u << i)) != 0 && outcome_[i] == outcome)
        out |= static_cast<uint8_t>(1u << i);
    }
    return out;
  }

  // Events of `signal` this call accepted but the exporter discarded (evicted from its bounded
  // store, possibly events of earlier calls): counted as dropped with reason
  // exporter_evicted instead of forwarded. Only meaningful with kOk; the pipeline counts at
  // most the batch's events of that signal, so an exporter carries any excess to later calls.
  constexpr void SetEvicted(event::Signal signal, uint64_t events) noexcept {
    evicted_[Index(signal)] = events;
  }
  constexpr uint64_t evicted(event::Signal signal) const noexcept {
    return evicted_[Index(signal)];
  }

  friend constexpr bool operator==(const ExportResult&, const ExportResult&) = default;

 private:
  static constexpr std::size_t kSignals = 3;
  static constexpr std::size_t Index(event::Signal signal) noexcept {
    return signal == event::kSignalMetrics ? 1 : signal == event::kSignalLogs ? 2 : 0;
  }
  constexpr void Put(std::size_t i, ExportOutcome o, std::chrono::nanoseconds after) noexcept {
    outcome_[i] = o;
    retry_after_ns_[i] = o == ExportOutcome::kRetry && after.count() > 0 ? after.count() : 0;
  }

  std::array<ExportOutcome, kSignals> outcome_{};   // indexed traces, metrics, logs
  std::array<int64_t, kSignals> retry_after_ns_{};  // 0 unless kRetry with a hint
  std::array<uint64_t, kSignals> evicted_{};        // SetEvicted
};

inline constexpr ExportResult ExportResult::kOk{ExportOutcome::kOk};
inline constexpr ExportResult ExportResult::kRetry{ExportOutcome::kRetry};
inline constexpr ExportResult ExportResult::kFailed{ExportOutcome::kFailed};

class Exporter {
 public:
  virtual ~Exporter() = default;
  virtual strobe::Status Start() { return strobe::OkStatus(); }
  // Exports `batch` (possibly empty of some signals) under the contract above. noexcept:
  // never throws; returns within the exporter's request timeout.
  virtual ExportResult Export(const event::Batch& batch) noexcept = 0;
  // Pushes buffered data downstream. Worker thread.
  virtual strobe::Status Flush(std::chrono::milliseconds deadline) {
    (void)deadline;
    return strobe::OkStatus();
  }
  // The shutdown deadline passed: make an Export in progress on the worker return promptly
  // (undelivered signals as kRetry; the pipeline then drops and counts them, reason
  // shutdown) and every later Export too. An exporter whose Export can wait on I/O longer
  // than a moment must implement it, or shutdown overruns the grace period by its timeout.
  // One-way. Any thread, concurrently with Export.
  virtual void Cancel() noexcept {}
  virtual strobe::Status Shutdown(std::chrono::milliseconds deadline) = 0;
};

}  // namespace strobed::pipeline
