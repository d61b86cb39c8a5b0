#include "strobe/profile/cpu_profiler.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "strobe/profile/profile_workload.h"

namespace strobe::profile {
namespace {

using testing::RunSplitWorkload;

const std::string kBurn = "strobe::profile::testing::burn_cpu(unsigned long)";
const std::string kOther = "strobe::profile::testing::other_work(unsigned long)";
const std::string kSplit = "strobe::profile::testing::RunSplitWorkload(double)";

const std::string& Frame(const Profile& p, const Sample& s, size_t i) {
  static const std::string kNone;
  return i < s.locations.size() ? p.locations[s.locations[i]].function : kNone;
}

// Sum of the cpu value of samples whose leaf is `function`.
int64_t LeafCpu(const Profile& p, const std::string& function) {
  int64_t sum = 0;
  for (const Sample& s : p.samples) {
    if (Frame(p, s, 0) == function) sum += s.values[1];
  }
  return sum;
}

int64_t TotalCpu(const Profile& p) {
  int64_t sum = 0;
  for (const Sample& s : p.samples) sum += s.values[1];
  return sum;
}

// Under a sanitizer the handler is slower and TSan defers signals; the shares are only checked
// in plain builds, the safety everywhere.
bool Sanitized() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

// CPU-time timers fire on the scheduler tick (250 Hz on the test VMs), so 999 Hz yields ~250
// signals per CPU second, each weighted by its overrun. Two threads of 2 s CPU give ~1000
// signals: the sampled share's standard deviation is ~1.4 points, the 5-point bound 3.5 sigma.
// TSan delivers an asynchronous signal only at its next interceptor (here clock_gettime in the
// workload's loop), so the interrupted pc is never inside burn_cpu: under TSan only safety and
// sample counts are checked, not where the samples land.
bool ThreadSanitized() {
#if defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

// Sanitized builds run the workloads for a quarter of the CPU time (they are several times
// slower and only check safety).
double Cpu(double seconds) { return Sanitized() ? seconds / 4 : seconds; }

TEST(CpuProfilerTest, SeventyThirtySplitAndFramePointerStacks) {
  CpuProfiler profiler;
  ASSERT_TRUE(profiler.Start({.hz = 999}).ok());
  EXPECT_TRUE(profiler.running());
  std::atomic<uint64_t> sink{0};
  std::thread worker([&] { sink += RunSplitWorkload(Cpu(2.0)); });
  sink += RunSplitWorkload(Cpu(2.0));
  worker.join();
  Result<CpuProfile> r = profiler.Stop();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(profiler.running());
  EXPECT_NE(sink, 1u);
  const Profile& p = r->profile;
  EXPECT_EQ(p.period, 1000000000 / 999);
  ASSERT_EQ(p.sample_types.size(), 2u);
  EXPECT_EQ(p.sample_types[1].type, "cpu");
  EXPECT_EQ(r->stats.dropped, 0u);
  EXPECT_GE(r->stats.threads, 3u);  // this thread, the worker, the profiler's
  int64_t total = TotalCpu(p);
  ASSERT_GT(total, 0);
  double burn = static_cast<double>(LeafCpu(p, kBurn)) / static_cast<double>(total);
  double other = static_cast<double>(LeafCpu(p, kOther)) / static_cast<double>(total);
  if (!Sanitized()) {
    // 4 s of CPU at 999 Hz: ~4000 periods; the sampled split must be 70/30 within 5 points.
    EXPECT_GE(total, 3600 * p.period) << r->stats.samples << " signals";
    EXPECT_LE(total, 4400 * p.period) << r->stats.samples << " signals";
    EXPECT_NEAR(burn, 0.70, 0.05);
    EXPECT_NEAR(other, 0.30, 0.05);
  } else if (!ThreadSanitized()) {
    EXPECT_GT(burn, 0.0);
  }
  if (ThreadSanitized()) {
    EXPECT_GT(r->stats.samples, 0u);
    return;
  }
  // Frame pointers: almost every burn_cpu sample has RunSplitWorkload as its caller (the few
  // that do not hit burn_cpu's prologue before it pushed its frame).
  int64_t burn_signals = 0;
  int64_t with_caller = 0;
  for (const Sample& s : p.samples) {
    if (Frame(p, s, 0) != kBurn) continue;
    burn_signals += s.values[0];
    if (Frame(p, s, 1) == kSplit) with_caller += s.values[0];
  }
  ASSERT_GT(burn_signals, 0);
  EXPECT_GE(static_cast<double>(with_caller), 0.95 * static_cast<double>(burn_signals));
  // The folded output carries the same stacks: caller;burn_cpu.
  std::string folded = FoldedStacks(p, 0);
  EXPECT_NE(folded.find(kSplit + ";" + kBurn + " "), std::string::npos) << folded;
}

TEST(CpuProfilerTest, OneProfilerPerProcess) {
  CpuProfiler a;
  CpuProfiler b;
  ASSERT_TRUE(a.Start({.hz = 99}).ok());
  EXPECT_EQ(b.Start({.hz = 99}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(a.Start({.hz = 99}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(a.Stop().ok());
  EXPECT_EQ(a.Stop().status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(b.Start({.hz = 99}).ok());
  ASSERT_TRUE(b.Stop().ok());
}

TEST(CpuProfilerTest, RejectsBadOptions) {
  CpuProfiler p;
  EXPECT_EQ(p.Start({.hz = 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.Start({.hz = CpuProfiler::kMaxHz + 1}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.Start({.hz = 99, .queue_stacks = 1}).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(p.running());
}

TEST(CpuProfilerTest, RefusesForeignSigprofHandler) {
  struct sigaction foreign {};
  foreign.sa_handler = [](int) {};
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGPROF, &foreign, &old), 0);
  CpuProfiler p;
  EXPECT_EQ(p.Start({.hz = 99}).code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(sigaction(SIGPROF, &old, nullptr), 0);
  ASSERT_TRUE(p.Start({.hz = 99}).ok());  // and the claim was released
  ASSERT_TRUE(p.Stop().ok());
}

TEST(CpuProfilerTest, SamplesThreadsBornAfterStart) {
  CpuProfiler profiler;
  ASSERT_TRUE(profiler.Start({.hz = 999, .rescan_interval_ms = 20}).ok());
  // This thread blocks in join() (no CPU, so no samples); all burn_cpu time is the new thread's.
  std::thread t([] { RunSplitWorkload(Cpu(0.6)); });
  t.join();
  Result<CpuProfile> r = profiler.Stop();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GE(r->stats.threads, 3u);
  int64_t burn = LeafCpu(r->profile, kBurn);
  if (ThreadSanitized()) {
    EXPECT_GT(r->stats.samples, 0u);
    return;
  }
  EXPECT_GT(burn, 0);
  if (!Sanitized()) {
    // The thread runs unsampled until the next rescan (20 ms, longer when the machine is
    // loaded and the profiler thread waits for a core): of its 0.42 s in burn_cpu, at least
    // 0.2 s must be seen.
    EXPECT_GE(burn, 200 * 1000000);
  }
}

// rbp holds anything in code built without frame pointers: the unwinder must never fault,
// whatever it holds, and must still record the leaf.
TEST(CpuProfilerTest, BogusFramePointersNeverFault) {
  static char heap_probe[64];
  std::vector<uint64_t> values = {
      0,
      8,
      0xdeadbeefdeadbeefull,
      0x00007ffffffff000ull,                       // top of user space, likely unmapped
      reinterpret_cast<uint64_t>(&values) - 4096,  // below sp: outside the walk
      reinterpret_cast<uint64_t>(&values) + 64,    // inside this stack: garbage "frames"
      reinterpret_cast<uint64_t>(heap_probe),      // a data section
      ~uint64_t{0} - 7,
  };
  CpuProfiler profiler;
  ASSERT_TRUE(profiler.Start({.hz = 999}).ok());
  for (uint64_t v : values) {
    double end = testing::ThreadCpuSeconds() + Cpu(0.05);
    while (testing::ThreadCpuSeconds() < end) testing::SpinWithRbp(v, 1000000);
  }
  Result<CpuProfile> r = profiler.Stop();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(
      LeafCpu(r->profile, "strobe::profile::testing::SpinWithRbp(unsigned long, unsigned long)"),
      0);
}

// The signal lands while threads allocate, lock and fork: no crash, no deadlock, children
// (which inherit no timer) run to completion. Meant for the ASan and TSan builds above all.
TEST(CpuProfilerTest, SafeWhileAllocatingLockingAndForking) {
  CpuProfiler profiler;
  ASSERT_TRUE(profiler.Start({.hz = 999, .rescan_interval_ms = 10}).ok());
  std::atomic<bool> stop{false};
  std::mutex mu;
  uint64_t shared = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::unique_ptr<std::string>> keep;
      uint64_t i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        keep.push_back(std::make_unique<std::string>(static_cast<size_t>(16 + (i * 37) % 4000),
                                                     static_cast<char>('a' + t)));
        if (keep.size() > 64) keep.erase(keep.begin(), keep.begin() + 32);
        void* m = malloc(static_cast<size_t>(1 + (i * 101) % 300000));
        free(m);
        std::lock_guard<std::mutex> lock(mu);
        shared += i++;
      }
    });
  }
  int forked = 0;
  double end = testing::ThreadCpuSeconds() + Cpu(0.2);
  while (testing::ThreadCpuSeconds() < end) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child: allocate and lock (malloc's fork handlers must have left it usable), burn
      // some CPU, exit without running the parent's destructors.
      void* m = malloc(1 << 20);
      memset(m, 1, 1 << 20);
      free(m);
      (void)testing::burn_cpu(2000000);
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    ++forked;
    (void)testing::burn_cpu(500000);
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();
  Result<CpuProfile> r = profiler.Stop();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(forked, 0);
  EXPECT_GT(r->stats.samples, 0u);
  EXPECT_GE(r->stats.threads, 5u);  // this, 3 workers, the profiler's
  EXPECT_GT(shared, 0u);
}

}  // namespace
}  // namespace strobe::profile
