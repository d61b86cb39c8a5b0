#pragma once

// Injected time for the pipeline (STYLE.md section 8): batch timeouts, tail-sampling
// decision waits, rate limits and latency statistics read a Clock, so tests drive time with
// ManualClock instead of sleeping.
//
// Thread class: thread-safe.

#include <atomic>
#include <cstdint>

namespace strobed::pipeline {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds (steady clock epoch for the real clock).
  virtual uint64_t NowNs() const noexcept = 0;

  // The process's steady clock.
  static Clock& Steady();
};

// A clock tests move by hand. Starts at `start_ns`.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t start_ns = 1'000'000'000) : now_(start_ns) {}
  // Relaxed: the value is the whole message; tests order by other means.
  uint64_t NowNs() const noexcept override { return now_.load(std::memory_order_relaxed); }
  void AdvanceNs(uint64_t ns) noexcept { now_.fetch_add(ns, std::memory_order_relaxed); }
  void SetNs(uint64_t ns) noexcept { now_.store(ns, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> now_;
};

}  // namespace strobed::pipeline
