#pragma once

// The `shm` receiver: drains the shared-memory rings that local producers (libstrobe's
// strobe::shm::Producer, the Python package) write, and pushes what they carry into the
// pipeline. Format: docs/shm-format.md; ring protocol and crash story: docs/design/ring.md.
//
//   receivers:
//     shm: {name: strobe}        # rings /dev/shm/strobe-strobe-<pid>, marker strobe-strobe.daemon
//
// One consumer thread per receiver owns a strobe::shm::Consumer and a ShmTranslator:
//   - Poll() all rings (no syscalls) → records → spans/logs (batched: `batch_events` or
//     `batch_timeout`) and per-series aggregates (cumulative points every `metrics_interval`).
//   - Scan() every `scan_interval`: attach new producers, drain and remove the segments of
//     producers that died (a record torn by a crash mid-write is counted, never delivered),
//     remove stale segments, publish self-metrics.
//   - PING: everything before it is handed to the pipeline, and accepted, before the ring's
//     ack_seq is stored, so a producer's flush() means "the daemon has it". While the pipeline
//     refuses, the PING stays unanswered in the ring (the reader stops in front of it) and the
//     producer's flush waits or times out; it is answered once the held data is accepted.
//   - Idle: spins for `busy_poll` after the last record (sub-microsecond round trips), then
//     sleeps with a growing interval up to `idle_sleep`, and after a second without records
//     up to `deep_idle_sleep` (an idle daemon wakes 100 times a second, not 1,000: ~0.1 % of
//     a core instead of ~1.5 %; the first record after a quiet spell waits at most that long).
//
// Back-pressure: when the pipeline throttles or refuses a batch, the receiver keeps it and
// stops draining until the pipeline takes it (retrying with the pipeline's Retry-After
// hint). The rings then fill and each producer applies its own policy (drop and count, or
// spin with a bound): the daemon never blocks on a producer and never loses data silently.
// Producer drops are read from the ring headers and exported.
//
// Restart: the consumer resumes every ring at its read position; a second daemon on the
// same ring name is refused at Start (FailedPrecondition).
//
// Self-metrics (registry, labelled receiver="<id>"): strobe_receiver_accepted_{spans,
// metric_points,log_records}_total, strobe_receiver_refused_*_total{reason} (only data the
// receiver had to give up: at shutdown past the deadline), strobe_shm_records_total{type},
// strobe_shm_invalid_records_total{reason} (records read and not used; all but torn
// are also reported to the producer's flush as DATA_LOSS through the ring's
// rejected_records), strobe_shm_dropped_attributes_total,
// strobe_shm_producer_dropped_records_total, strobe_shm_push_retries_total{reason},
// strobe_shm_rings, strobe_shm_series, strobe_shm_rings_attached_total,
// strobe_shm_rings_reclaimed_total, strobe_shm_rejected_rings_total{reason} (invalid_header,
// owner_not_allowed, truncated).
//
// Who may publish (docs/security.md): only rings whose file belongs to an allowed user or
// group (options `allowed_users` / `allowed_groups`, from shm.allowed_users / .allowed_groups;
// default: the daemon's own user and group) are read; other files are ignored and counted,
// never written or removed. The owner's uid travels with the data as `process.user.id`
// (translator.h). A producer that truncates its ring while it is attached loses the ring (it
// is dropped and counted); the daemon keeps running (strobe/shm/fault_guard.h).
//
// Thread class: Start/Flush/Shutdown on the control thread; the consumer thread is private.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "strobe/metrics/registry.h"
#include "strobe/shm/reader.h"
#include "strobed/base/clock.h"
#include "strobed/pipeline/plugin_registry.h"
#include "strobed/pipeline/receiver.h"
#include "strobed/receivers/shm/translator.h"

namespace strobed::receivers {

struct ShmReceiverOptions {
  std::string name = "shm";  // component id, the `receiver` label
  std::string ring = "strobe";
  std::string dir = "/dev/shm";
  std::chrono::nanoseconds scan_interval = std::chrono::milliseconds(100);
  std::chrono::nanoseconds metrics_interval = std::chrono::seconds(1);
  std::chrono::nanoseconds batch_timeout = std::chrono::milliseconds(100);
  size_t batch_events = 1000;
  std::chrono::nanoseconds busy_poll = std::chrono::microseconds(200);
  std::chrono::nanoseconds idle_sleep = std::chrono::milliseconds(1);
  std::chrono::nanoseconds deep_idle_sleep = std::chrono::milliseconds(10);
  std::chrono::nanoseconds deep_idle_after = std::chrono::seconds(1);
  size_t max_records_per_ring = 4096;  // per poll pass (fairness between producers)
  // Owners whose rings are read (strobe::shm::ConsumerOptions); both empty: our own.
  std::vector<uint32_t> allowed_uids{};
  std::vector<uint32_t> allowed_gids{};
  bool allow_any_owner = false;
  ShmTranslatorOptions translator;
  strobe::metrics::Registry* metrics = nullptr;  // required (the factory passes the host's)
  event::KeyTable* keys = nullptr;               // nullptr: KeyTable::Global()
  const base::MonotonicClock* clock = nullptr;   // nullptr: steady clock
};

class ShmReceiver final : public pipeline::Receiver {
 public:
  explicit ShmReceiver(ShmReceiverOptions options);
  ~ShmReceiver() override;

  strobe::Status Start(pipeline::Ingest& ingest) override;
  // Hands everything read so far (events and changed series) to the pipeline.
  strobe::Status Flush(std::chrono::milliseconds deadline) override;
  // Drains what producers committed, pushes it (until the deadline), stops the thread and
  // removes the daemon marker (rings stay for the next daemon).
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;
  std::string Endpoint() const override;

  // Statistics for tests and status (copied by the consumer thread at every scan/flush).
  struct Totals {
    uint64_t records = 0;
    uint64_t spans = 0, metric_points = 0, log_records = 0;  // accepted by the pipeline
    uint64_t malformed = 0, torn = 0, invalid = 0, producer_dropped = 0;
    uint64_t rings = 0, series = 0, push_retries = 0;
    uint64_t rejected_owner = 0, truncated = 0, rejected_invalid = 0;  // rings not read
  };
  Totals totals() const;

 private:
  struct Metrics;
  void Run();
  void Cycle(uint64_t now);
  void MoveToPending(bool metrics, bool all_series);
  // Pushes pending batches; false when the pipeline pushed back (retry later).
  bool PushPending(uint64_t deadline_ns);
  void PublishStats();
  uint64_t NowNs() const;

  ShmReceiverOptions options_;
  std::unique_ptr<Metrics> metrics_;
  pipeline::Ingest* ingest_ = nullptr;
  std::unique_ptr<strobe::shm::Consumer> consumer_;
  std::unique_ptr<ShmTranslator> translator_;
  std::deque<event::BatchPtr> pending_;  // consumer thread only
  uint64_t events_since_ns_ = 0;         // when the oldest unbatched span/log was read
  uint64_t retry_at_ns_ = 0;             // back-pressure: next push attempt
  strobe::shm::ReaderStats published_reader_{};
  ShmTranslatorStats published_translator_{};

  std::thread thread_;
  std::atomic<bool> stop_{false};
  uint64_t stop_deadline_ns_ = 0;  // written before stop_ (release), read after (acquire)
  // Flush handshake: the control thread bumps flush_requested_, the consumer thread answers
  // with flush_done_ = the request it served.
  std::atomic<uint64_t> flush_requested_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t flush_done_ = 0;  // guarded by mu_
  Totals totals_;            // guarded by mu_
};

void RegisterShmReceiver(pipeline::PluginRegistry& registry);

// Parses a comma-separated list of user (groups: group) names or numeric ids into ids. Names
// are resolved through NSS now. Empty list: empty result. InvalidArgument for an unknown name.
strobe::Result<std::vector<uint32_t>> ResolveOwners(std::string_view list, bool groups);

}  // namespace strobed::receivers
