#pragma once

// FastNowUnixNs(): wall-clock Unix nanoseconds for span timestamps at a fraction of the cost
// of clock_gettime (rdtsc ~10 ns vs ~24 ns for the vDSO on our VMs; trace_benchmark's
// span_baseline_two_clock_reads shows the vDSO floor).
//
// How: each thread keeps an anchor (TSC, CLOCK_REALTIME) and extrapolates with a process-wide
// ns-per-tick rate. The rate is calibrated from the first ~20 ms of process life (until then
// every call reads CLOCK_REALTIME); each thread re-anchors with one clock_gettime every ~2^28
// ticks (~0.1 s), so NTP slews and rate error stay below a microsecond. Requires an invariant
// TSC (constant_tsc + nonstop_tsc, true on every x86-64 server of the last decade); on other
// architectures it is clock_gettime.
//
// Thread class: thread-safe, no lock; allocation-free.

#include <cstdint>

namespace strobe::trace {

uint64_t FastNowUnixNs() noexcept;

}  // namespace strobe::trace
