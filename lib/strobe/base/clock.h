#pragma once

// Clocks for libstrobe.
//
//   TickClock::Now()        raw monotonic ticks: the invariant TSC (rdtsc) where the CPU has
//                           one, else steady_clock nanoseconds. ~7-10 ns on our VMs vs ~22 ns
//                           for steady_clock::now() (vDSO).
//   TickClock::ToNs(ticks)  converts a tick *difference* to nanoseconds (one 128-bit multiply).
//   MonotonicNowNs()        monotonic nanoseconds since an arbitrary origin (ticks converted).
//   WallNowNs()             CLOCK_REALTIME Unix nanoseconds (for `_created`, timestamps).
//   FastWallNowNs()         CLOCK_REALTIME Unix nanoseconds extrapolated from TickClock: one
//                           tick read and a multiply in the common case (span timestamps).
//
// Calibration: the TSC rate is measured against steady_clock between a sample taken during
// static initialisation and the first ToNs() call, stretched to at least kCalibrationNs by a
// short busy wait when a program asks within its first 10 ms. Error of the rate is below
// 1e-5 relative. The TSC is used only when CPUID reports it invariant (constant rate across
// P-/C-states, leaf 0x80000007 EDX bit 8; Linux shows it as `constant_tsc nonstop_tsc`) and
// the environment variable STROBE_CLOCK is not `steady`; otherwise every call is
// steady_clock and ToNs() is the identity. Ticks of two different processes are not
// comparable; ticks of two threads are (invariant TSCs are synchronised across cores).
//
// Thread class: thread-safe, lock-free and allocation-free after calibration.

#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace strobe {

namespace internal {
struct TickParams {
  // 1 when ticks are TSC cycles, 0 when they are steady_clock ns.
  bool use_tsc = false;
  // ns per tick in 32.32 fixed point; 0 until calibrated.
  uint64_t ns_per_tick_q32 = 0;
};
// use_tsc is fixed during static initialisation (a program that reads the clock from its own
// static initialisers before ours may see steady_clock ticks there); ns_per_tick_q32 is
// written once under a once_flag and read atomically.
extern TickParams g_tick_params;
uint64_t SteadyNowNs() noexcept;
uint64_t CalibratedNsPerTickQ32() noexcept;  // slow path: calibrates on first call
}  // namespace internal

class TickClock {
 public:
  // Raw monotonic ticks. Thread-safe; never blocks.
  static uint64_t Now() noexcept {
#if defined(__x86_64__)
    if (__builtin_expect(internal::g_tick_params.use_tsc, 1)) return __rdtsc();
#endif
    return internal::SteadyNowNs();
  }

  // Converts a difference of two Now() values to nanoseconds. The first call may busy-wait
  // up to 10 ms to finish calibration; later calls are a multiply.
  static uint64_t ToNs(uint64_t ticks) noexcept {
    // Relaxed: partner is the release store in CalibratedNsPerTickQ32(); only the number
    // itself is published.
    uint64_t q = __atomic_load_n(&internal::g_tick_params.ns_per_tick_q32, __ATOMIC_RELAXED);
    if (__builtin_expect(q == 0, 0)) q = internal::CalibratedNsPerTickQ32();
    __extension__ using U128 = unsigned __int128;
    return static_cast<uint64_t>((static_cast<U128>(ticks) * q) >> 32);
  }

  // True when Now() reads the TSC.
  static bool UsesTsc() noexcept { return internal::g_tick_params.use_tsc; }
  // Nanoseconds per tick (1.0 on the steady_clock fallback). Calibrates on first call.
  static double NsPerTick() noexcept;
};

// Monotonic nanoseconds since an arbitrary, process-wide origin.
uint64_t MonotonicNowNs() noexcept;

// CLOCK_REALTIME as Unix nanoseconds.
uint64_t WallNowNs() noexcept;

// CLOCK_REALTIME Unix nanoseconds at about the cost of TickClock::Now() (~10 ns on our VMs
// vs ~24 ns for clock_gettime through the vDSO; trace_benchmark span_fast_clock_two_reads).
// Each thread keeps an anchor (ticks, CLOCK_REALTIME), read with the wall clock bracketed
// between two tick reads so a preemption cannot skew it, and extrapolates with TickClock's
// calibrated rate; it re-anchors every 2^28 ticks (~0.1 s), so NTP slews and the rate error
// (< 1e-5) stay below a microsecond. Successive reads of one thread may step back by that
// error at a re-anchor. Until TickClock is calibrated (the first 10 ms of the process; this
// never busy-waits for it) and wherever TickClock is steady_clock (no invariant TSC, or
// STROBE_CLOCK=steady) every call is WallNowNs().
// Thread class: thread-safe, lock-free and allocation-free (thread_local anchor).
uint64_t FastWallNowNs() noexcept;

// Injectable time source for code that must be testable without sleeping (STYLE.md section
// 8): production passes MonotonicNowNs, tests a fake.
using NowNsFn = uint64_t (*)() noexcept;

}  // namespace strobe
