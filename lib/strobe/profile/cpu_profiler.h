#pragma once

// strobe::profile::CpuProfiler: a sampling CPU profiler for the calling process, in the manner
// of gperftools' and Go's: every thread gets a timer on its own CPU-time clock
// (timer_create(CLOCK_THREAD_CPUTIME_ID-style clock, SIGEV_THREAD_ID) firing SIGPROF every
// 1/hz seconds of CPU it burns); the signal handler records the interrupted thread's stack;
// Stop() symbolises the stacks into a Profile (profile.h: pprof and folded stacks).
//
//   CpuProfiler profiler;
//   STROBE_RETURN_IF_ERROR(profiler.Start({.hz = 99}));
//   ...                                                  // the work to profile
//   STROBE_ASSIGN_OR_RETURN(CpuProfile result, profiler.Stop());
//   std::string pb_gz = *EncodePprofGzip(result.profile);
//
// Sampling:
//   - Threads are found by listing /proc/self/task at Start() and again every
//     Options::rescan_interval_ms on the profiler's own thread; a thread born after the last
//     scan is sampled from the next one. Exited threads' timers are deleted at the next scan.
//   - The handler is async-signal-safe: it touches only memory allocated by Start() (a bounded
//     lock-free queue of fixed-size stack records and an immutable table of stack ranges), takes
//     no lock, makes no system call and does not allocate. When the queue is full the sample is
//     dropped and counted (CpuProfilerStats::dropped). The profiler's thread drains the queue
//     into a map of distinct stacks every few milliseconds, so memory stays bounded by the number
//     of distinct stacks, not by the profile's length.
//   - Unwinding follows frame pointers (x86-64 rbp chain) from the interrupted context. Every
//     frame address is checked to lie inside the interrupted thread's own stack mapping (from a
//     /proc/self/maps snapshot taken before the thread got its timer), to grow strictly upward
//     and to be 8-byte aligned; a frame that fails ends the stack, so reading it cannot fault.
//     Code built without frame pointers (the default at -O2) uses rbp as a general register:
//     such stacks end early or, rarely, carry a bogus caller; the leaf (the interrupted pc) is
//     always right, so flat profiles (`pprof -top`'s flat column) are exact either way. Build
//     with -fno-omit-frame-pointer (CMake: STROBE_FRAME_POINTERS=ON) for full stacks; see
//     docs/design/profiling.md for its measured cost and why no DWARF unwinder runs in the
//     handler (libgcc's _Unwind_Backtrace takes the loader lock: not async-signal-safe).
//   - Only x86-64 Linux is supported; Start() returns Unimplemented elsewhere.
//
// One CpuProfiler runs per process at a time (signals are process-wide): a second Start()
// anywhere in the process gets FailedPrecondition until the first stops. The SIGPROF handler
// stays installed after Stop() (it then returns at once), so a signal still pending at Stop()
// never meets SIGPROF's default action, which would terminate the process. Start() refuses to
// replace a SIGPROF handler that someone else installed.
//
// fork(): timers are not inherited, so a child is never sampled; the child must not call
// Start() or Stop() on the parent's profiler object (its thread does not exist there).
//
// Thread class: thread-compatible (Start/Stop from one control thread at a time); the
// profiled threads need no cooperation.

#include <cstdint>
#include <memory>

#include "strobe/base/status.h"
#include "strobe/profile/profile.h"

namespace strobe::profile {

struct CpuProfilerOptions {
  // Samples per second of CPU time per thread, 1..kMaxHz.
  int hz = 99;
  // Capacity of the signal handler's queue, in stacks (rounded up to a power of two); each
  // takes 8 * (kMaxFrames + 2) bytes. The drain thread empties it every ~10 ms, so 4096 holds
  // over 10 ms of 8 threads at 999 Hz many times over.
  size_t queue_stacks = 4096;
  // How often the thread list is rescanned for new threads (and exited ones).
  int rescan_interval_ms = 100;
};

struct CpuProfilerStats {
  uint64_t samples = 0;       // stacks recorded (sum of the profile's sample counts)
  uint64_t dropped = 0;       // signals whose stack was lost: the queue was full
  uint64_t truncated = 0;     // stacks deeper than kMaxFrames, cut at kMaxFrames
  uint64_t threads = 0;       // distinct threads that got a timer during the run
  uint64_t timer_errors = 0;  // threads that could not get a timer (exited before, EAGAIN)
};

struct CpuProfile {
  // sample_types {samples/count, cpu/nanoseconds}; period_type cpu/nanoseconds; period 1e9/hz.
  Profile profile;
  CpuProfilerStats stats;
};

class CpuProfiler {
 public:
  static constexpr int kMaxHz = 4000;
  static constexpr int kMaxFrames = 126;

  CpuProfiler();
  // Stops a running profile (its result is discarded).
  ~CpuProfiler();
  CpuProfiler(const CpuProfiler&) = delete;
  CpuProfiler& operator=(const CpuProfiler&) = delete;

  // Starts sampling every thread of the process. InvalidArgument for hz out of range,
  // FailedPrecondition when this or another CpuProfiler already runs or SIGPROF has a foreign
  // handler, Unimplemented off x86-64 Linux, Internal when no timer could be created.
  Status Start(const CpuProfilerOptions& options);

  // Whether Start() succeeded and Stop() has not been called.
  bool running() const { return state_ != nullptr; }

  // Stops sampling (deletes every timer, waits for handlers still running), then symbolises.
  // FailedPrecondition when not running; Internal when symbolisation cannot read
  // /proc/self/maps (the samples are lost).
  Result<CpuProfile> Stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace strobe::profile
