#include "strobe/base/clock.h"

#include <time.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace strobe {
namespace internal {
namespace {

constexpr uint64_t kCalibrationNs = 10'000'000;

uint64_t ClockNs(clockid_t id) noexcept {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

bool TscIsInvariant() noexcept {
#if defined(__x86_64__)
  // Runs once during static initialisation, before any thread of ours exists.
  const char* env = std::getenv("STROBE_CLOCK");  // NOLINT(concurrency-mt-unsafe)
  if (env != nullptr && std::strcmp(env, "steady") == 0) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0x80000000U, &eax, &ebx, &ecx, &edx) == 0 || eax < 0x80000007U) return false;
  if (__get_cpuid(0x80000007U, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (edx & (1U << 8)) != 0;
#else
  return false;
#endif
}

struct Origin {
  uint64_t ticks;
  uint64_t steady_ns;
};

uint64_t ReadTsc() noexcept {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return 0;
#endif
}

// A (ticks, steady ns) pair taken at one instant: the clock read is bracketed by two tick
// reads and the narrowest of a few tries is kept, so a preemption or page fault between the
// two reads cannot skew the pair (10 us of skew is a 1e-3 rate error over the 10 ms
// calibration interval).
Origin SamplePair() noexcept {
  Origin best{0, 0};
  uint64_t best_width = UINT64_MAX;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const uint64_t t1 = ReadTsc();
    const uint64_t ns = ClockNs(CLOCK_MONOTONIC);
    const uint64_t t2 = ReadTsc();
    if (t2 - t1 < best_width) {
      best_width = t2 - t1;
      best = Origin{t1 + (t2 - t1) / 2, ns};
    }
  }
  return best;
}

// Sampled during static initialisation: the start of the calibration interval. The first
// clock_gettime of a process may fault the vDSO data page in; it is done once untimed.
Origin SampleOrigin() noexcept {
  (void)ClockNs(CLOCK_MONOTONIC);
  return SamplePair();
}

std::once_flag g_calibrate_once;

}  // namespace

TickParams g_tick_params = [] {
  TickParams p;
  p.use_tsc = TscIsInvariant();
  if (!p.use_tsc) p.ns_per_tick_q32 = uint64_t{1} << 32;  // identity: ticks are ns
  return p;
}();

const Origin g_origin = SampleOrigin();

uint64_t SteadyNowNs() noexcept { return ClockNs(CLOCK_MONOTONIC); }

uint64_t CalibratedNsPerTickQ32() noexcept {
  std::call_once(g_calibrate_once, [] {
    if (!g_tick_params.use_tsc) return;
    Origin now = SamplePair();
    while (now.steady_ns - g_origin.steady_ns < kCalibrationNs || now.ticks <= g_origin.ticks) {
      now = SamplePair();
    }
    const double ns_per_tick = static_cast<double>(now.steady_ns - g_origin.steady_ns) /
                               static_cast<double>(now.ticks - g_origin.ticks);
    // Published by call_once: every caller returns after the store, and readers that see a
    // non-zero value without going through call_once read a value written once (benign).
    __atomic_store_n(&g_tick_params.ns_per_tick_q32,
                     static_cast<uint64_t>(ns_per_tick * 4294967296.0), __ATOMIC_RELEASE);
  });
  return __atomic_load_n(&g_tick_params.ns_per_tick_q32, __ATOMIC_ACQUIRE);
}

}  // namespace internal

double TickClock::NsPerTick() noexcept {
  return static_cast<double>(internal::CalibratedNsPerTickQ32()) / 4294967296.0;
}

uint64_t MonotonicNowNs() noexcept {
  if (!internal::g_tick_params.use_tsc) return internal::SteadyNowNs();
  // Ticks since the static-init origin, converted, plus the origin's steady time: stays on
  // the steady_clock time line within the calibration error.
  return internal::g_origin.steady_ns +
         TickClock::ToNs(TickClock::Now() - internal::g_origin.ticks);
}

uint64_t WallNowNs() noexcept { return internal::ClockNs(CLOCK_REALTIME); }

namespace {

constexpr uint64_t kReanchorTicks = uint64_t{1} << 28;
constexpr uint64_t kMaxBracketTicks = 20'000;  // ~8 us of TSC: no preemption inside

struct WallAnchor {
  uint64_t ticks = 0;
  uint64_t wall_ns = 0;
  uint64_t ns_per_tick_q32 = 0;  // 0: not calibrated when this anchor was taken
};
thread_local WallAnchor t_wall_anchor;

// The calibrated rate, or 0 while calibrating it would still busy-wait.
uint64_t NsPerTickQ32IfReady() noexcept {
  // Relaxed: as in TickClock::ToNs (partner: the release store in CalibratedNsPerTickQ32).
  uint64_t q = __atomic_load_n(&internal::g_tick_params.ns_per_tick_q32, __ATOMIC_RELAXED);
  if (q != 0) return q;
  if (internal::SteadyNowNs() - internal::g_origin.steady_ns < internal::kCalibrationNs) return 0;
  return internal::CalibratedNsPerTickQ32();  // enough time has passed: returns at once
}

uint64_t Reanchor() noexcept {
  // Pair a tick value with CLOCK_REALTIME read between two tick reads (retried a few times
  // when preempted in between; the last try is used regardless).
  uint64_t ticks = 0;
  uint64_t ns = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const uint64_t t1 = TickClock::Now();
    ns = WallNowNs();
    const uint64_t t2 = TickClock::Now();
    ticks = t1 + (t2 - t1) / 2;
    if (t2 - t1 < kMaxBracketTicks) break;
  }
  t_wall_anchor = WallAnchor{ticks, ns, NsPerTickQ32IfReady()};
  return ns;
}

}  // namespace

uint64_t FastWallNowNs() noexcept {
  if (!internal::g_tick_params.use_tsc) return WallNowNs();
  const WallAnchor& a = t_wall_anchor;
  const uint64_t ticks = TickClock::Now() - a.ticks;
  if (__builtin_expect(a.ns_per_tick_q32 == 0 || ticks > kReanchorTicks, 0)) return Reanchor();
  __extension__ using U128 = unsigned __int128;
  return a.wall_ns + static_cast<uint64_t>((static_cast<U128>(ticks) * a.ns_per_tick_q32) >> 32);
}

}  // namespace strobe
