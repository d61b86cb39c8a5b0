// strobe_cpu_profile_demo: profiles a known workload (70% burn_cpu, 30% other_work) with
// CpuProfiler and writes <dir>/cpu.pb.gz (pprof) and <dir>/cpu.folded. Used by
// tests/integration/profile, which opens the pprof file with `go tool pprof -top`.
//
//   strobe_cpu_profile_demo <dir> [cpu_seconds=2] [hz=999] [threads=2]
//
// Each of `threads` threads runs the workload for `cpu_seconds` of its own CPU time.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "strobe/profile/cpu_profiler.h"
#include "strobe/profile/profile_workload.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <dir> [cpu_seconds] [hz]\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  double seconds = argc > 2 ? atof(argv[2]) : 2.0;
  int hz = argc > 3 ? atoi(argv[3]) : 999;
  int threads = argc > 4 ? atoi(argv[4]) : 2;
  strobe::profile::CpuProfiler profiler;
  strobe::Status s = profiler.Start({.hz = hz});
  if (!s.ok()) {
    fprintf(stderr, "start: %s\n", s.ToString().c_str());
    return 1;
  }
  std::atomic<uint64_t> sink{0};
  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) {
    workers.emplace_back([&] { sink += strobe::profile::testing::RunSplitWorkload(seconds); });
  }
  sink += strobe::profile::testing::RunSplitWorkload(seconds);
  for (std::thread& t : workers) t.join();
  strobe::Result<strobe::profile::CpuProfile> r = profiler.Stop();
  if (!r.ok()) {
    fprintf(stderr, "stop: %s\n", r.status().ToString().c_str());
    return 1;
  }
  strobe::Result<std::string> gz = strobe::profile::EncodePprofGzip(r->profile);
  if (!gz.ok()) {
    fprintf(stderr, "encode: %s\n", gz.status().ToString().c_str());
    return 1;
  }
  std::ofstream(dir + "/cpu.pb.gz", std::ios::binary) << *gz;
  std::ofstream(dir + "/cpu.folded") << strobe::profile::FoldedStacks(r->profile, 0);
  printf("samples=%llu dropped=%llu threads=%llu sink=%llu\n",
         static_cast<unsigned long long>(r->stats.samples),
         static_cast<unsigned long long>(r->stats.dropped),
         static_cast<unsigned long long>(r->stats.threads),
         static_cast<unsigned long long>(sink.load() & 1));
  return 0;
}
