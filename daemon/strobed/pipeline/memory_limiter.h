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
// Thread class: thread-safe, lock-free.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

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

  explicit MemoryLimiter(MemoryLimiterOptions options) : options_(options) {}

  // Charges `bytes` if the limits allow. kOk: charged (give it back with Release).
  Admission TryCharge(std::size_t bytes) noexcept {
    uint64_t used = used_.load(std::memory_order_relaxed);
    for (;;) {
      if (used >= options_.soft_limit_bytes) return Admission::kSoft;
      if (used + bytes > options_.hard_limit_bytes) return Admission::kHard;
      // Relaxed: the counter is the only shared state; no data is published through it.
      if (used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed)) {
        UpdatePeak(used + bytes);
        return Admission::kOk;
      }
    }
  }

  // Charges held data that is already in memory and cannot be refused (bookkeeping only;
  // may exceed the soft limit, never the hard one: returns false when it would).
  bool TryChargeHeld(std::size_t bytes) noexcept {
    uint64_t used = used_.load(std::memory_order_relaxed);
    for (;;) {
      if (used + bytes > options_.hard_limit_bytes) return false;
      if (used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed)) {
        UpdatePeak(used + bytes);
        return true;
      }
    }
  }

  void Release(std::size_t bytes) noexcept override {
    used_.fetch_sub(bytes, std::memory_order_relaxed);  // pairs with the CAS above; counter only
  }

  uint64_t used_bytes() const noexcept { return used_.load(std::memory_order_relaxed); }
  uint64_t peak_bytes() const noexcept { return peak_.load(std::memory_order_relaxed); }
  bool above_soft_limit() const noexcept { return used_bytes() >= options_.soft_limit_bytes; }
  const MemoryLimiterOptions& options() const noexcept { return options_; }

 private:
  void UpdatePeak(uint64_t v) noexcept {
    uint64_t p = peak_.load(std::memory_order_relaxed);
    while (v > p && !peak_.compare_exchange_weak(p, v, std::memory_order_relaxed)) {
    }
  }

  const MemoryLimiterOptions options_;
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> peak_{0};
};

}  // namespace strobed::pipeline
