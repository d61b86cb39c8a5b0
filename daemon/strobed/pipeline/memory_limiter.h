#pragma once

// strobed::pipeline::MemoryLimiter: admission control by bytes of pipeline data in memory.
//
// Every batch a pipeline admits is charged to the limiter (Batch::SetCharge) with its memory
// estimate, and the charge is returned when the batch is released. Held data that processors
// copy (tail sampling) is charged the same way. Two limits:
//
//   soft: when the current usage is at or above it, pushes are refused with kThrottled and a
//         Retry-After hint: receivers tell their clients to slow down (HTTP 429).
//   hard: a push whose charge would take usage above it is refused (kRefused, HTTP 503).
//         Charges never exceed the hard limit: the check and the add are one CAS.
//
// Refusals are counted by the pipeline (strobe_pipeline_refused_events_total{reason}).
// In the YAML configuration this is the `memory_limiter` processor (listed first, as in the
// OpenTelemetry Collector); it acts at the pipeline entry, before the queue.
//
// The counting is base::ByteBudget's (the same type bounds the HTTP listeners' ingress).
//
// Thread class: thread-safe, lock-free.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "strobed/base/byte_budget.h"
#include "strobed/event/batch.h"
#include "strobed/pipeline/component.h"

namespace strobed::pipeline {

struct MemoryLimiterOptions {
  uint64_t soft_limit_bytes = uint64_t{384} << 20;
  uint64_t hard_limit_bytes = uint64_t{512} << 20;
  std::chrono::milliseconds retry_after{1000};
};

// The option table of the `memory_limiter` processor: soft_limit, hard_limit, retry_after.
std::span<const OptionSpec> MemoryLimiterOptionSpecs();
strobe::Result<MemoryLimiterOptions> MemoryLimiterOptionsFrom(const Options& options);

class MemoryLimiter final : public event::MemoryAccount {
 public:
  enum class Admission : uint8_t { kOk = 0, kSoft, kHard };

  explicit MemoryLimiter(MemoryLimiterOptions options)
      : options_(options), budget_(options.hard_limit_bytes) {}

  // Charges `bytes` if the limits allow. kOk: charged (give it back with Release).
  Admission TryCharge(std::size_t bytes) noexcept {
    switch (budget_.TryCharge(bytes, options_.soft_limit_bytes)) {
      case base::ByteBudget::Charge::kOk:
        return Admission::kOk;
      case base::ByteBudget::Charge::kSoft:
        return Admission::kSoft;
      case base::ByteBudget::Charge::kOverLimit:
        return Admission::kHard;
    }
    return Admission::kHard;
  }

  // Charges held data that is already in memory and cannot be refused (bookkeeping only;
  // may exceed the soft limit, never the hard one: returns false when it would).
  bool TryChargeHeld(std::size_t bytes) noexcept {
    return budget_.TryCharge(bytes) == base::ByteBudget::Charge::kOk;
  }

  void Release(std::size_t bytes) noexcept override { budget_.Release(bytes); }

  uint64_t used_bytes() const noexcept { return budget_.used_bytes(); }
  uint64_t peak_bytes() const noexcept { return budget_.peak_bytes(); }
  bool above_soft_limit() const noexcept { return used_bytes() >= options_.soft_limit_bytes; }
  const MemoryLimiterOptions& options() const noexcept { return options_; }

 private:
  const MemoryLimiterOptions options_;
  base::ByteBudget budget_;  // the hard limit; TryCharge checks the soft one in the same CAS
};

}  // namespace strobed::pipeline
