#pragma once

// ScopedTimer: measures the lifetime of a scope and records it, in nanoseconds, into a
// Histogram. Two TickClock reads (rdtsc on an invariant TSC, base/clock.h) plus one record:
// ~30 ns on our KVM VMs, of which the two rdtsc are ~20 ns (bench/RESULTS.md), against
// ~45 ns for two steady_clock::now() calls alone.
//
//   void Handle() {
//     strobe::metrics::ScopedTimer t(request_latency_ns);
//     ...
//   }
//
// Use a histogram with HistogramOptions::unit_scale = 1e-9 to expose `_seconds`.
// rdtsc is not a serialising instruction: the CPU may move it a few instructions, which is
// below the resolution that matters for a scope worth timing.
//
// Thread class: a ScopedTimer is owner-thread only; many may record into one histogram.

#include <cstdint>

#include "strobe/base/clock.h"
#include "strobe/metrics/histogram.h"

namespace strobe::metrics {

class ScopedTimer {
 public:
  explicit ScopedTimer(Histogram& histogram) noexcept
      : histogram_(&histogram), start_(TickClock::Now()) {}
  ~ScopedTimer() {
    if (histogram_ != nullptr) histogram_->RecordTicks(TickClock::Now() - start_);
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

  // Records now and disarms the destructor; returns the recorded nanoseconds.
  uint64_t Stop() noexcept {
    const uint64_t ns = TickClock::ToNs(TickClock::Now() - start_);
    if (histogram_ != nullptr) histogram_->RecordUnsigned(ns);
    histogram_ = nullptr;
    return ns;
  }
  // Disarms without recording (e.g. on an error path timed elsewhere).
  void Cancel() noexcept { histogram_ = nullptr; }

 private:
  Histogram* histogram_;
  uint64_t start_;
};

}  // namespace strobe::metrics
