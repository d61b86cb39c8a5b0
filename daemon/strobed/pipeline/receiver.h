#pragma once

// The receiver side of the pipeline: how data gets in.
//
// A receiver (shm ring, OTLP/HTTP, wire protocol, the in-process memory receiver) fills
// event::Batch objects taken from `ingest.pool()` and hands them to Ingest::Push. The push
// says what happened, so a network receiver can answer its client:
//
//   PushStatus       meaning                                       suggested answer
//   kAccepted        the pipeline owns the data now                200 / OK
//   kDropped         accepted but discarded by the pipeline's      200 with OTLP partial
//                    drop policy (counted in dropped_events_total) success (rejected count)
//   kThrottled       memory above the soft limit: slow down        429 + Retry-After
//   kRefused         memory hard limit, or block-policy queue      503 + Retry-After
//                    still full at the push deadline
//   kShutdown        the pipeline is stopping                      503
//
// On kThrottled/kRefused/kShutdown the batch is handed back in PushResult::batch so the
// receiver may retry it later or release it; refusals are counted in
// strobe_pipeline_refused_events_total{reason} either way.
//
// Thread class: Ingest::Push is thread-safe (several receiver threads may push at once) and
// never throws. It blocks only under the `block` back-pressure policy, and never past
// PushOptions::deadline_ns.

#include <chrono>
#include <cstdint>
#include <string>

#include "strobe/base/status.h"
#include "strobed/event/batch.h"
#include "strobed/pipeline/stats.h"

namespace strobed::pipeline {

enum class PushStatus : uint8_t {
  kAccepted = 0,
  kDropped,
  kThrottled,
  kRefused,
  kShutdown,
};
std::string_view PushStatusName(PushStatus status);

struct PushOptions {
  // Steady-clock deadline (base::MonotonicClock::NowNs() units) for the block policy; 0 = the
  // pipeline's configured block timeout.
  uint64_t deadline_ns = 0;
};

struct PushResult {
  PushStatus status = PushStatus::kAccepted;
  RefuseReason refuse_reason = RefuseReason::kCount;  // set when refused/throttled/shutdown
  std::chrono::milliseconds retry_after{0};           // hint for Retry-After
  event::BatchPtr batch;                              // the batch, handed back when not accepted

  bool accepted() const {
    return status == PushStatus::kAccepted || status == PushStatus::kDropped;
  }
};

// Where a receiver pushes. Provided by the pipeline service (fans out to every pipeline the
// receiver is listed in). Outlives the receiver's Start..Shutdown.
class Ingest {
 public:
  virtual ~Ingest() = default;
  // Takes `batch` (non-null). Thread-safe; see the table above.
  virtual PushResult Push(event::BatchPtr&& batch, const PushOptions& options = {}) noexcept = 0;
  // The pool receivers take batches from.
  virtual event::BatchPool& pool() noexcept = 0;
};

class Receiver {
 public:
  virtual ~Receiver() = default;
  // Begins receiving; data goes to `ingest`. Returns an error if the receiver cannot start
  // (port in use, shm segment unavailable). Called once, from the control thread.
  virtual strobe::Status Start(Ingest& ingest) = 0;
  // Pushes any partially filled batch. Control thread.
  virtual strobe::Status Flush(std::chrono::milliseconds deadline) {
    (void)deadline;
    return strobe::OkStatus();
  }
  // Stops receiving and pushes what it still holds; after it returns the receiver never
  // calls Push again. Control thread.
  virtual strobe::Status Shutdown(std::chrono::milliseconds deadline) = 0;
  // Where the receiver listens once started ("127.0.0.1:4318", "/dev/shm/strobe-*"), for
  // logs and /api/v1/status; "" for in-process receivers.
  virtual std::string Endpoint() const { return {}; }
};

}  // namespace strobed::pipeline
