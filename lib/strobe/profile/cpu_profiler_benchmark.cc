// Overhead of CpuProfiler on CPU-bound work, and the cost of frame pointers.
// Conditions: an otherwise idle machine; compare rows of one run only (same binary, same load).
//
//   profile_split_workload/0     fixed work (1000 burn_cpu + other_work pairs, ~20 ms), no profiler
//   profile_split_workload/99    the same while CpuProfiler samples every thread at 99 Hz
//   profile_split_workload/999   ... at 999 Hz
//   profile_fp_cost/0|1          a call-heavy workload (sort, hash, recursion) compiled without
//                                (0) and with (1) -fno-omit-frame-pointer

#include <benchmark/benchmark.h>

#include <cstdint>

#include "strobe/profile/cpu_profiler.h"
#include "strobe/profile/profile_workload.h"

namespace strobe::profile {
namespace without_fp {
uint64_t CallHeavyWorkload(uint64_t seed);
}
namespace with_fp {
uint64_t CallHeavyWorkload(uint64_t seed);
}

namespace {

void profile_split_workload(benchmark::State& state) {
  auto hz = static_cast<int>(state.range(0));
  CpuProfiler profiler;
  if (hz > 0 && !profiler.Start({.hz = hz}).ok()) {
    state.SkipWithError("CpuProfiler::Start failed");
    return;
  }
  // Fixed work per iteration (not RunSplitWorkload, which runs for a fixed CPU time and would
  // hide the overhead the handler adds to that time).
  for (auto _ : state) {
    uint64_t sink = 0;
    for (int i = 0; i < 1000; ++i) {
      sink += testing::burn_cpu(7 * 2000);
      sink += testing::other_work(3 * 2000);
    }
    benchmark::DoNotOptimize(sink);
  }
  if (hz > 0) {
    Result<CpuProfile> r = profiler.Stop();
    if (r.ok()) state.counters["signals"] = static_cast<double>(r->stats.samples);
  }
}
BENCHMARK(profile_split_workload)->Arg(0)->Arg(99)->Arg(999)->Unit(benchmark::kMillisecond);

void profile_fp_cost(benchmark::State& state) {
  uint64_t seed = 1;
  for (auto _ : state) {
    seed = state.range(0) == 0 ? without_fp::CallHeavyWorkload(seed)
                               : with_fp::CallHeavyWorkload(seed);
    benchmark::DoNotOptimize(seed);
  }
}
BENCHMARK(profile_fp_cost)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace strobe::profile
