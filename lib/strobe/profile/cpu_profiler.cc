#include "strobe/profile/cpu_profiler.h"

#include <dirent.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "strobe/base/mpmc_queue.h"
#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobe/profile/symbolizer.h"

namespace strobe::profile {
namespace {

constexpr size_t kMaxFrames = CpuProfiler::kMaxFrames;

// One stack as the signal handler writes it into the queue: 1 KiB with the header.
struct StackRecord {
  uint32_t depth = 0;
  uint32_t periods = 0;       // 1 + the timer's overrun: CPU periods this one signal stands for
  uint64_t top_of_stack = 0;  // the word at the interrupted sp (see LeafCaller), 0 if unread
  uint64_t pcs[kMaxFrames] = {};
};
static_assert(sizeof(StackRecord) == 8 * (kMaxFrames + 2));

// A readable-writable address range of the process (thread stacks are among them), from a
// /proc/self/maps snapshot. Tables are immutable once published.
struct AddressRange {
  uint64_t start;
  uint64_t end;
};
struct RangeTable {
  std::vector<AddressRange> ranges;  // sorted by start, disjoint
};

// What the signal handler may touch. Allocated by Start(), freed after Stop() has seen every
// handler leave (g_in_flight == 0 after g_active was cleared).
struct HandlerState {
  explicit HandlerState(size_t capacity) : queue(capacity) {}
  MpmcQueue<StackRecord> queue;
  // Published by the profiler thread with a seq_cst exchange; see RetireRanges for why the
  // handler's seq_cst load cannot see a table after it was freed.
  std::atomic<const RangeTable*> ranges{nullptr};
  std::atomic<uint64_t> dropped{0};    // relaxed: a statistic read after quiescence
  std::atomic<uint64_t> truncated{0};  // relaxed: likewise
};

// The running profiler's handler state, or null. Process-wide because signal dispositions are.
std::atomic<HandlerState*> g_active{nullptr};
// Handlers between their entry and exit. With g_active it forms a Dekker pair (both seq_cst):
// a handler increments, then loads g_active; Stop clears g_active, then waits for 0. Whichever
// comes first in the single total order, the handler either sees null or is waited for.
std::atomic<int> g_in_flight{0};
// Claimed by Start(), released by Stop(): one profiler per process.
std::atomic<bool> g_claimed{false};

// The range containing `addr`, or null. Binary search; async-signal-safe.
const AddressRange* FindRange(const RangeTable& t, uint64_t addr) noexcept {
  size_t lo = 0;
  size_t hi = t.ranges.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t.ranges[mid].end <= addr) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < t.ranges.size() && t.ranges[lo].start <= addr) return &t.ranges[lo];
  return nullptr;
}

// Walks the frame-pointer chain of the interrupted context into `rec`. Every frame read lies
// in [sp, end of the stack mapping holding sp), which is the interrupted thread's own mapped
// stack, so no read can fault, whatever rbp holds. Not instrumented by the sanitizers: a frame
// may legitimately sit next to an ASan stack redzone, and a bogus rbp may point into one.
__attribute__((no_sanitize("address", "thread", "undefined"))) void Unwind(
    const ucontext_t& uc, const RangeTable* table, StackRecord& rec, bool& truncated) noexcept {
#if defined(__x86_64__)
  const auto& g = uc.uc_mcontext.gregs;
  auto pc = static_cast<uint64_t>(g[REG_RIP]);
  auto sp = static_cast<uint64_t>(g[REG_RSP]);
  auto fp = static_cast<uint64_t>(g[REG_RBP]);
  rec.pcs[0] = pc;
  rec.top_of_stack = 0;
  uint32_t n = 1;
  const AddressRange* stack = table != nullptr ? FindRange(*table, sp) : nullptr;
  if (stack != nullptr) {
    if (sp % 8 == 0 && stack->end - sp >= 8)
      rec.top_of_stack = *reinterpret_cast<const uint64_t*>(sp);
    uint64_t lo = sp;
    uint64_t hi = stack->end;
    while (fp >= lo && fp < hi && hi - fp >= 16 && fp % 8 == 0) {
      const auto* frame = reinterpret_cast<const uint64_t*>(fp);
      uint64_t next = frame[0];
      uint64_t ret = frame[1];
      if (ret == 0) break;
      if (n == kMaxFrames) {
        truncated = true;
        break;
      }
      rec.pcs[n++] = ret;
      if (next <= fp) break;  // frames grow strictly upward; anything else ends the chain
      lo = fp + 16;
      fp = next;
    }
  }
  rec.depth = n;
#else
  (void)uc;
  (void)table;
  (void)truncated;
  rec.depth = 0;
#endif
}

void OnSigprof(int /*signo*/, siginfo_t* info, void* context) {
  int saved_errno = errno;
  g_in_flight.fetch_add(1);  // seq_cst: first half of the Dekker pair with Stop
  HandlerState* s = g_active.load();
  // Only our timers' signals: a SIGPROF sent with kill() carries no stack worth recording.
  if (s != nullptr && info != nullptr && info->si_code == SI_TIMER) {
    const RangeTable* table = s->ranges.load();
    bool truncated = false;
    // A CPU-time timer is checked on the scheduler tick, so at a rate above the kernel's HZ one
    // signal stands for several periods; si_overrun says how many more.
    auto periods = static_cast<uint32_t>(1 + std::max(0, info->si_overrun));
    bool pushed = s->queue.TryPushWith([&](StackRecord& rec) noexcept {
      rec.periods = periods;
      Unwind(*static_cast<const ucontext_t*>(context), table, rec, truncated);
    });
    if (!pushed) s->dropped.fetch_add(1, std::memory_order_relaxed);
    if (truncated) s->truncated.fetch_add(1, std::memory_order_relaxed);
  }
  g_in_flight.fetch_sub(1);
  errno = saved_errno;
}

// Reads the read-write mappings of /proc/self/maps (thread stacks are among them) into `rw`
// and the executable ones into `exec`.
void ReadRanges(RangeTable& rw, RangeTable& exec) {
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    uint64_t start = 0;
    uint64_t end = 0;
    char perms[5] = {};
    if (sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %4s", &start, &end, perms) != 3) continue;
    if (perms[0] != 'r') continue;
    RangeTable* t = perms[1] == 'w' ? &rw : perms[2] == 'x' ? &exec : nullptr;
    if (t == nullptr) continue;
    // Adjacent ranges are merged: a stack and the mapping above it still bound the walk by
    // what is mapped, which is all the walk needs.
    if (!t->ranges.empty() && t->ranges.back().end == start) {
      t->ranges.back().end = end;
    } else {
      t->ranges.push_back({start, end});
    }
  }
}

// The caller of a leaf function that keeps no frame, or 0. g++ 12 sets up no frame in a leaf
// function that needs no stack even under -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer,
// so the rbp chain starts at the caller's caller, and the caller is missing; the same holds in
// any function's prologue, before it pushed rbp. In both cases the return address is the word
// at sp. It is taken only when the code proves it: the bytes before it are a direct call
// (e8 rel32) whose target is at or below the leaf pc and within kMaxFunctionBytes of it, and
// the rbp chain did not already yield it. Indirect calls are not recognised (the caller stays
// missing, as before). Runs on the profiler thread, reading code through `exec`.
uint64_t LeafCaller(const StackRecord& rec, const RangeTable& exec) {
  constexpr uint64_t kMaxFunctionBytes = 256 * 1024;
  uint64_t ret = rec.top_of_stack;
  if (rec.depth == 0 || ret < 5 || (rec.depth > 1 && rec.pcs[1] == ret)) return 0;
  const AddressRange* code = FindRange(exec, ret - 5);
  if (code == nullptr || ret > code->end) return 0;
  unsigned char call[5];
  memcpy(call, reinterpret_cast<const void*>(ret - 5), sizeof call);
  if (call[0] != 0xe8) return 0;
  int32_t rel = 0;
  memcpy(&rel, call + 1, sizeof rel);
  uint64_t target = ret + static_cast<uint64_t>(static_cast<int64_t>(rel));
  uint64_t leaf = rec.pcs[0];
  if (target > leaf || leaf - target >= kMaxFunctionBytes) return 0;
  return ret;
}

std::vector<pid_t> ListThreads() {
  std::vector<pid_t> tids;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return tids;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long tid = strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && tid > 0) tids.push_back(static_cast<pid_t>(tid));
  }
  closedir(d);
  return tids;
}

// The CPU-time clock of thread `tid` (what pthread_getcpuclockid returns for a pthread_t; we
// know threads by tid from /proc): the kernel's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED).
clockid_t ThreadCpuClock(pid_t tid) {
  uint32_t bits = (~static_cast<uint32_t>(tid) << 3) | 6u;  // 4 = per-thread, 2 = sched clock
  clockid_t clock = 0;
  memcpy(&clock, &bits, sizeof clock);
  return clock;
}

struct StackHash {
  size_t operator()(const std::vector<uint64_t>& v) const noexcept {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t x : v) h = (h ^ x) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

}  // namespace

struct CpuProfiler::State {
  explicit State(const CpuProfilerOptions& o) : options(o), handler(o.queue_stacks) {}

  CpuProfilerOptions options;
  HandlerState handler;
  int64_t period_ns = 0;
  int64_t start_wall_ns = 0;
  std::chrono::steady_clock::time_point start_steady;
  std::thread thread;

  Mutex mu;
  CondVar cv;
  bool stop STROBE_GUARDED_BY(mu) = false;

  // Owned by the profiler thread (and by Start() before it exists, Stop() after it is joined).
  std::unordered_map<pid_t, timer_t> timers;
  std::vector<std::unique_ptr<RangeTable>> tables;   // the published table is tables.back()
  std::vector<std::unique_ptr<RangeTable>> retired;  // replaced; freed once no handler runs
  RangeTable exec_ranges;  // executable mappings at the last rescan (LeafCaller reads code)
  struct Counts {
    int64_t signals = 0;
    int64_t periods = 0;
  };
  std::unordered_map<std::vector<uint64_t>, Counts, StackHash> stacks;
  CpuProfilerStats stats;

  // Gives every thread without a timer one; forgets threads that exited. A fresh maps snapshot
  // is published before any new thread's timer exists, so its stack is in the table.
  void Rescan() {
    std::vector<pid_t> tids = ListThreads();
    std::sort(tids.begin(), tids.end());
    std::vector<pid_t> fresh;
    for (pid_t t : tids) {
      if (!timers.contains(t)) fresh.push_back(t);
    }
    for (auto it = timers.begin(); it != timers.end();) {
      if (!std::binary_search(tids.begin(), tids.end(), it->first)) {
        timer_delete(it->second);
        it = timers.erase(it);
      } else {
        ++it;
      }
    }
    if (fresh.empty()) return;
    auto table = std::make_unique<RangeTable>();
    exec_ranges.ranges.clear();
    ReadRanges(*table, exec_ranges);
    handler.ranges.store(table.get());  // seq_cst: see RetireRanges
    if (!tables.empty()) retired.push_back(std::move(tables.back()));
    tables.clear();
    tables.push_back(std::move(table));
    for (pid_t t : fresh) {
      sigevent sev{};
      sev.sigev_notify = SIGEV_THREAD_ID;
      sev.sigev_signo = SIGPROF;
      sev._sigev_un._tid = t;  // sigev_notify_thread_id: glibc 2.36 lacks the macro
      timer_t timer{};
      if (timer_create(ThreadCpuClock(t), &sev, &timer) != 0) {
        ++stats.timer_errors;  // the thread exited since the listing, or a resource limit
        continue;
      }
      itimerspec spec{};
      spec.it_interval.tv_sec = period_ns / 1000000000;
      spec.it_interval.tv_nsec = period_ns % 1000000000;
      spec.it_value = spec.it_interval;
      if (timer_settime(timer, 0, &spec, nullptr) != 0) {
        timer_delete(timer);
        ++stats.timer_errors;
        continue;
      }
      timers.emplace(t, timer);
      ++stats.threads;
    }
  }

  // Frees replaced range tables once no handler can hold one. A handler loads the table after
  // incrementing g_in_flight; the table was replaced (seq_cst store) before this seq_cst load
  // of g_in_flight. If the load sees 0, every handler that could have loaded an old table has
  // left, and every later one loads the new table.
  void RetireRanges() {
    if (!retired.empty() && g_in_flight.load() == 0) retired.clear();
  }

  void Drain() {
    std::vector<uint64_t> key;
    uint32_t periods = 0;
    while (handler.queue.TryPopWith([&](const StackRecord& rec) {
      key.assign(rec.pcs, rec.pcs + std::min<size_t>(rec.depth, kMaxFrames));
      if (uint64_t caller = LeafCaller(rec, exec_ranges); caller != 0) {
        key.insert(key.begin() + 1, caller);
        if (key.size() > kMaxFrames) key.pop_back();
      }
      periods = rec.periods;
    })) {
      Counts& c = stacks[key];
      c.signals += 1;
      c.periods += periods;
    }
  }

  void Run() {
    auto next_scan =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options.rescan_interval_ms);
    for (;;) {
      {
        MutexLock lock(mu);
        if (cv.WaitFor(mu, std::chrono::milliseconds(10),
                       [&]() STROBE_REQUIRES(mu) { return stop; })) {
          break;
        }
      }
      Drain();
      RetireRanges();
      if (std::chrono::steady_clock::now() >= next_scan) {
        Rescan();
        next_scan = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(options.rescan_interval_ms);
      }
    }
    // Quiesce: no timer fires after its deletion (a signal already pending still may be
    // delivered, and finds g_active null); then wait for handlers already running.
    for (auto& [tid, timer] : timers) timer_delete(timer);
    timers.clear();
    g_active.store(nullptr);  // seq_cst: second half of the Dekker pair with OnSigprof
    while (g_in_flight.load() != 0) std::this_thread::yield();
    Drain();
    retired.clear();
  }
};

CpuProfiler::CpuProfiler() = default;

CpuProfiler::~CpuProfiler() {
  if (running()) (void)Stop();
}

Status CpuProfiler::Start(const CpuProfilerOptions& options) {
#if !defined(__x86_64__) || !defined(__linux__)
  (void)options;
  return Unimplemented("CpuProfiler: only x86-64 Linux is supported");
#else
  if (options.hz < 1 || options.hz > kMaxHz) {
    return InvalidArgument("CpuProfiler: hz must be 1.." + std::to_string(kMaxHz) + ", got " +
                           std::to_string(options.hz));
  }
  if (options.rescan_interval_ms < 1 || options.queue_stacks < 2) {
    return InvalidArgument("CpuProfiler: rescan_interval_ms >= 1 and queue_stacks >= 2");
  }
  if (running() || g_claimed.exchange(true)) {
    return FailedPrecondition("CpuProfiler: a CPU profile is already running in this process");
  }
  struct sigaction current {};
  sigaction(SIGPROF, nullptr, &current);
  bool ours = (current.sa_flags & SA_SIGINFO) != 0 && current.sa_sigaction == &OnSigprof;
  if (!ours) {
    if ((current.sa_flags & SA_SIGINFO) != 0 ||
        (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN)) {
      g_claimed.store(false);
      return FailedPrecondition("CpuProfiler: SIGPROF already has a handler (another profiler?)");
    }
    struct sigaction sa {};
    sa.sa_sigaction = &OnSigprof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, nullptr) != 0) {
      g_claimed.store(false);
      return Internal(std::string("CpuProfiler: sigaction: ") + strerror(errno));
    }
  }
  auto state = std::make_unique<State>(options);
  state->period_ns = 1000000000 / options.hz;
  state->start_wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  state->start_steady = std::chrono::steady_clock::now();
  g_active.store(&state->handler);
  // The first scan runs here, before the profiler thread exists (which then owns `timers`), so
  // that Start() returning means every thread alive now is sampled.
  state->Rescan();
  if (state->timers.empty()) {
    g_active.store(nullptr);
    while (g_in_flight.load() != 0) std::this_thread::yield();
    g_claimed.store(false);
    return Internal("CpuProfiler: no thread timer could be created");
  }
  State* s = state.get();
  s->thread = std::thread([s] { s->Run(); });
  state_ = std::move(state);
  return OkStatus();
#endif
}

Result<CpuProfile> CpuProfiler::Stop() {
  if (!running()) return FailedPrecondition("CpuProfiler: not running");
  std::unique_ptr<State> s = std::move(state_);
  {
    MutexLock lock(s->mu);
    s->stop = true;
  }
  s->cv.NotifyAll();
  s->thread.join();
  int64_t duration_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now() - s->start_steady)
                            .count();
  CpuProfile out;
  out.stats = s->stats;
  out.stats.dropped = s->handler.dropped.load(std::memory_order_relaxed);
  out.stats.truncated = s->handler.truncated.load(std::memory_order_relaxed);
  std::vector<RawSample> raw;
  raw.reserve(s->stacks.size());
  for (auto& [pcs, c] : s->stacks) {
    out.stats.samples += static_cast<uint64_t>(c.signals);
    raw.push_back({pcs, {c.signals, c.periods * s->period_ns}});
  }
  // The handler state is no longer reachable (quiesced in Run), so the claim can go.
  int64_t period_ns = s->period_ns;
  int64_t start_wall_ns = s->start_wall_ns;
  s.reset();
  g_claimed.store(false);

  Profile header;
  header.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  header.period_type = {"cpu", "nanoseconds"};
  header.period = period_ns;
  header.time_nanos = start_wall_ns;
  header.duration_nanos = duration_ns;
  header.comments.push_back(
      "strobe CpuProfiler: dropped_samples=" + std::to_string(out.stats.dropped) +
      " truncated_stacks=" + std::to_string(out.stats.truncated) +
      " threads=" + std::to_string(out.stats.threads));
  STROBE_ASSIGN_OR_RETURN(out.profile, Symbolize(raw, std::move(header)));
  return out;
}

}  // namespace strobe::profile
