#include "strobe/profile/profile_workload.h"

#include <time.h>

// g++: noipa = no inlining, cloning or identical-code folding (-fipa-icf would otherwise merge
// burn_cpu and other_work into one symbol, and a profile could not tell them apart). clang has
// no noipa and folds no functions at compile time: noinline is enough there.
#if defined(__clang__)
#define STROBE_PROFILE_NOIPA __attribute__((noinline))
#else
#define STROBE_PROFILE_NOIPA __attribute__((noipa))
#endif

namespace strobe::profile::testing {
namespace {

constexpr uint64_t kUnit = 2000;

}  // namespace

STROBE_PROFILE_NOIPA uint64_t burn_cpu(uint64_t iterations) {
  uint64_t x = iterations;
  for (uint64_t i = 0; i < iterations; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
  return x;
}

STROBE_PROFILE_NOIPA uint64_t other_work(uint64_t iterations) {
  uint64_t x = iterations ^ 0x5555;
  for (uint64_t i = 0; i < iterations; ++i) x = x * 6364136223846793005ull + 1013904223ull;
  return x;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

STROBE_PROFILE_NOIPA uint64_t RunSplitWorkload(double cpu_seconds) {
  double end = ThreadCpuSeconds() + cpu_seconds;
  uint64_t sink = 0;
  while (ThreadCpuSeconds() < end) {
    for (int i = 0; i < 64; ++i) {
      sink += burn_cpu(7 * kUnit);
      sink += other_work(3 * kUnit);
    }
  }
  return sink;
}

STROBE_PROFILE_NOIPA void SpinWithRbp(uint64_t rbp_value, uint64_t iterations) {
  if (iterations == 0) return;
#if defined(__x86_64__)
  // rbp is kept in r11 (not pushed: a push could overwrite the red zone below rsp) and
  // restored after the loop; during it rbp holds what a frame-pointer-less function might
  // keep there.
  asm volatile(
      "mov %%rbp, %%r11\n\t"
      "mov %1, %%rbp\n\t"
      "1:\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "mov %%r11, %%rbp"
      : "+r"(iterations)
      : "r"(rbp_value)
      : "r11", "cc", "memory");
#else
  (void)rbp_value;
  for (volatile uint64_t i = 0; i < iterations; i = i + 1) {
  }
#endif
}

}  // namespace strobe::profile::testing
