#pragma once

// Injected time for the daemon, as two distinct types so that a steady timestamp can never be
// compared with, or stored as, a Unix one (STYLE.md section 8: tests drive time by hand
// instead of sleeping).
//
//   MonotonicClock::NowNs()      steady nanoseconds since an arbitrary epoch; never jumps.
//                                For timeouts, deadlines, rates, latencies, expiry, TTLs of
//                                in-memory state (pipeline, processors, exporters, trace store).
//   WallClock::NowUnixNs()       nanoseconds since the Unix epoch; may jump (NTP, operator).
//                                For event time: stream windows and watermarks, alert
//                                timestamps, anything compared with a record's timestamp or
//                                sent to another process.
//
// The real clocks are process-wide (MonotonicClock::Steady(), WallClock::System()); tests use
// ManualMonotonicClock / ManualWallClock. The two interfaces have different method names, so
// passing one where the other is expected does not compile.
//
// Thread class: every clock here is thread-safe.

#include <atomic>
#include <cstdint>

namespace strobed::base {

class MonotonicClock {
 public:
  virtual ~MonotonicClock() = default;
  // Steady nanoseconds (the steady clock's epoch for the real clock). Never decreases.
  virtual uint64_t NowNs() const noexcept = 0;

  // The process's steady clock (std::chrono::steady_clock). Never destroyed.
  static MonotonicClock& Steady();
};

class WallClock {
 public:
  virtual ~WallClock() = default;
  // Nanoseconds since 1970-01-01T00:00:00Z (the system clock for the real clock). May jump.
  virtual uint64_t NowUnixNs() const noexcept = 0;

  // The process's wall clock (std::chrono::system_clock). Never destroyed.
  static WallClock& System();
};

// A monotonic clock tests move by hand. Starts at `start_ns`. Moving it backwards (SetNs to an
// earlier time) breaks the MonotonicClock contract; tests must not rely on that.
class ManualMonotonicClock final : public MonotonicClock {
 public:
  explicit ManualMonotonicClock(uint64_t start_ns = 1'000'000'000) : now_(start_ns) {}
  // Relaxed: the value is the whole message; tests order their threads by other means.
  uint64_t NowNs() const noexcept override { return now_.load(std::memory_order_relaxed); }
  void AdvanceNs(uint64_t ns) noexcept { now_.fetch_add(ns, std::memory_order_relaxed); }
  void SetNs(uint64_t ns) noexcept { now_.store(ns, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> now_;
};

// A wall clock tests move by hand. Starts at `start_unix_ns` (default 2023-11-14T22:13:20Z).
class ManualWallClock final : public WallClock {
 public:
  explicit ManualWallClock(uint64_t start_unix_ns = 1'700'000'000'000'000'000)
      : now_(start_unix_ns) {}
  // Relaxed: the value is the whole message; tests order their threads by other means.
  uint64_t NowUnixNs() const noexcept override { return now_.load(std::memory_order_relaxed); }
  void AdvanceNs(uint64_t ns) noexcept { now_.fetch_add(ns, std::memory_order_relaxed); }
  // Unlike a monotonic clock, a wall clock may be set backwards (as NTP may step it).
  void SetUnixNs(uint64_t unix_ns) noexcept { now_.store(unix_ns, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> now_;
};

}  // namespace strobed::base
