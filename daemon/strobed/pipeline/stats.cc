#include "strobed/pipeline/stats.h"

#include <utility>

#include "strobed/pipeline/receiver.h"

namespace strobed::pipeline {

std::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kQueueFull:
      return "queue_full";
    case DropReason::kQueueEvicted:
      return "queue_evicted";
    case DropReason::kLoadShed:
      return "load_shed";
    case DropReason::kSampled:
      return "sampled";
    case DropReason::kTailOverflow:
      return "tail_overflow";
    case DropReason::kExportFailed:
      return "export_failed";
    case DropReason::kRetryExhausted:
      return "retry_exhausted";
    case DropReason::kRetryQueueFull:
      return "retry_queue_full";
    case DropReason::kShutdown:
      return "shutdown";
    case DropReason::kInvalid:
      return "invalid";
    case DropReason::kExporterEvicted:
      return "exporter_evicted";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

std::string_view RefuseReasonName(RefuseReason reason) {
  switch (reason) {
    case RefuseReason::kMemorySoft:
      return "memory_soft_limit";
    case RefuseReason::kMemoryHard:
      return "memory_hard_limit";
    case RefuseReason::kQueueFull:
      return "queue_full";
    case RefuseReason::kShutdown:
      return "shutdown";
    case RefuseReason::kCount:
      break;
  }
  return "unknown";
}

uint64_t StageSnapshot::DroppedTotal() const {
  uint64_t total = 0;
  for (uint64_t d : dropped) total += d;
  return total;
}

StageSnapshot ReadCounters(std::string stage, const StageCounters& c, uint64_t in_flight) {
  StageSnapshot s;
  s.stage = std::move(stage);
  s.received = c.received.load(std::memory_order_relaxed);
  s.forwarded = c.forwarded.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kDropReasonCount; ++i) {
    s.dropped[i] = c.dropped[i].load(std::memory_order_relaxed);
  }
  for (std::size_t i = 0; i < kRefuseReasonCount; ++i) {
    s.refused[i] = c.refused[i].load(std::memory_order_relaxed);
  }
  s.in_flight = in_flight;
  return s;
}

std::string_view PushStatusName(PushStatus status) {
  switch (status) {
    case PushStatus::kAccepted:
      return "accepted";
    case PushStatus::kDropped:
      return "dropped";
    case PushStatus::kThrottled:
      return "throttled";
    case PushStatus::kRefused:
      return "refused";
    case PushStatus::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

}  // namespace strobed::pipeline
