#pragma once

// Test-only CPU workloads with a known profile, shared by the unit tests, the demo program the
// integration test opens with `go tool pprof`, and the overhead benchmark. Built with frame
// pointers (see CMakeLists.txt) so the profiler can walk their stacks.
//
//   RunSplitWorkload(1.0);   // ~1 s of this thread's CPU: 70% in burn_cpu, 30% in other_work
//
// Thread class: thread-safe (no shared state).

#include <cstdint>

namespace strobe::profile::testing {

// Both run the same dependent multiply-add chain `iterations` times (identical cost per
// iteration); they are separate, never inlined or merged, so a profile can tell them apart.
uint64_t burn_cpu(uint64_t iterations);
uint64_t other_work(uint64_t iterations);

// Calls burn_cpu(7 * kUnit) and other_work(3 * kUnit) in turn until this thread has used
// `cpu_seconds` of CPU time. Each pair takes ~10-100 us, far below a sampling period, so the
// split a profiler sees is 70/30 whatever the sampling rate. Returns a value to defeat DCE.
uint64_t RunSplitWorkload(double cpu_seconds);

// Spins `iterations` times with rbp holding `rbp_value` (x86-64; elsewhere it only spins): what
// a profiler sees interrupting code built without frame pointers, where rbp is any value.
void SpinWithRbp(uint64_t rbp_value, uint64_t iterations);

// This thread's CPU time in seconds.
double ThreadCpuSeconds();

}  // namespace strobe::profile::testing
