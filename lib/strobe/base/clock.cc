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

// Sampled during static initialisation: the start of the calibration interval.
Origin SampleOrigin() noexcept { return Origin{ReadTsc(), ClockNs(CLOCK_MONOTONIC)}; }

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
    uint64_t now_ns = ClockNs(CLOCK_MONOTONIC);
    uint64_t now_ticks = ReadTsc();
    while (now_ns - g_origin.steady_ns < kCalibrationNs || now_ticks <= g_origin.ticks) {
      now_ns = ClockNs(CLOCK_MONOTONIC);
      now_ticks = ReadTsc();
    }
    const double ns_per_tick = static_cast<double>(now_ns - g_origin.steady_ns) /
                               static_cast<double>(now_ticks - g_origin.ticks);
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

}  // namespace strobe
