#include "strobe/trace/fast_clock.h"

#include <atomic>
#include <ctime>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace strobe::trace {
namespace {

uint64_t RealtimeNs() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

#if defined(__x86_64__)
constexpr uint64_t kCalibrationNs = 20'000'000;  // rate measured over the first 20 ms
constexpr uint64_t kReanchorTicks = uint64_t{1} << 28;

struct Anchor {
  uint64_t tsc = 0;
  uint64_t ns = 0;
};

const Anchor g_start = [] {
  Anchor a;
  a.tsc = __rdtsc();
  a.ns = RealtimeNs();
  return a;
}();

// Published once by whichever thread first sees 20 ms elapsed; relaxed because any thread's
// measurement is valid and the value is a plain number (no data published with it).
std::atomic<double> g_ns_per_tick{0.0};

thread_local Anchor t_anchor;

constexpr uint64_t kMaxBracketTicks = 20'000;  // ~8 us: no preemption inside the bracket

uint64_t Reanchor(uint64_t tsc) noexcept {
  // Pair a TSC value with CLOCK_REALTIME read between two TSC reads, so a preemption in the
  // middle cannot skew the anchor (retried a few times; the last try is used regardless).
  uint64_t ns = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    uint64_t t1 = __rdtsc();
    ns = RealtimeNs();
    uint64_t t2 = __rdtsc();
    tsc = t1 + (t2 - t1) / 2;
    if (t2 - t1 < kMaxBracketTicks) break;
  }
  if (g_ns_per_tick.load(std::memory_order_relaxed) == 0.0 && ns > g_start.ns + kCalibrationNs &&
      tsc > g_start.tsc) {
    g_ns_per_tick.store(
        static_cast<double>(ns - g_start.ns) / static_cast<double>(tsc - g_start.tsc),
        std::memory_order_relaxed);
  }
  t_anchor.tsc = tsc;
  t_anchor.ns = ns;
  return ns;
}
#endif

}  // namespace

uint64_t FastNowUnixNs() noexcept {
#if defined(__x86_64__)
  uint64_t tsc = __rdtsc();
  double rate = g_ns_per_tick.load(std::memory_order_relaxed);  // see g_ns_per_tick
  uint64_t ticks = tsc - t_anchor.tsc;
  if (rate == 0.0 || ticks > kReanchorTicks) return Reanchor(tsc);
  return t_anchor.ns + static_cast<uint64_t>(static_cast<double>(ticks) * rate);
#else
  return RealtimeNs();
#endif
}

}  // namespace strobe::trace
