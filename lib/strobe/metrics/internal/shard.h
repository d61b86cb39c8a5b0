#pragma once

// Per-thread shards: where every counter, up-down counter and histogram of the process keeps
// its values. Private to strobe::metrics.
//
// Each thread that records gets one ThreadShard (created on its first record, the only slow
// path): a `cells` array of 64-bit cells, one per counter-like series, and a `hists` array
// of pointers to HistShards, one per histogram series. A series is identified by its cell or
// histogram index, allocated process-wide at registration, so the hot path is a thread_local
// load plus an indexed load and store — no hashing, no lock, no read-modify-write. Only the
// owning thread writes its shard; two threads never write one cache line.
//
// Readers (collection) take `mu_`, which is also taken when a thread creates or retires its
// shard, never by a record. They sum the cell of every live shard plus the retired
// accumulator. A thread's values are folded into the retired accumulator when it exits
// (pthread key destructor, which runs after C++ thread_local destructors), so nothing is
// lost.
//
// Memory: `cells` (mmap MAP_NORESERVE) and `hists` (calloc of a large block, which glibc serves
// with a fresh mmap; on the heap so LeakSanitizer sees the pointers) are zero-filled virtual
// reservations; only pages actually touched become resident. HistShard pages (64 buckets,
// 512 bytes) are allocated per octave on first use, so a latency histogram that spans 12
// octaves costs about 7 KiB per recording thread.
//
// Atomics: every cell is written by its owner with a relaxed load + relaxed store (owner is
// the only writer, so no RMW is needed); the partner is the relaxed load in the collector,
// which may see a stale but never a torn value. Pointers to lazily created HistShards and
// pages are published with a release store, partner: the acquire load in the collector.

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <vector>

#include "strobe/base/thread_annotations.h"
#include "strobe/metrics/internal/mutex.h"

namespace strobe::metrics::internal {

inline constexpr uint32_t kMaxCells = uint32_t{1} << 20;       // 8 MiB virtual per thread
inline constexpr uint32_t kMaxHistograms = uint32_t{1} << 16;  // 512 KiB virtual per thread
inline constexpr int kOctaves = 128;                           // bucket indices -4096..4095
inline constexpr int32_t kMinBucketIndex = -(kOctaves / 2) * 64;
inline constexpr int32_t kMaxBucketIndex = (kOctaves / 2) * 64 - 1;

using Cell = std::atomic<uint64_t>;

struct HistPage {
  Cell counts[64];
};

struct HistShard {
  Cell count;       // accepted observations, zero_count included
  Cell int_sum;     // sum of Record(uint64_t) values (wraps after 2^64)
  Cell double_sum;  // bit pattern of the double sum of Record(double) values
  Cell min_bits;    // bit pattern of a double; +inf when empty
  Cell max_bits;    // bit pattern of a double; -inf when empty
  Cell zero_count;
  Cell invalid;  // rejected: negative, NaN, infinite
  std::atomic<HistPage*> pages[kOctaves];
};

struct ThreadShard {
  Cell* cells = nullptr;                     // kMaxCells
  std::atomic<HistShard*>* hists = nullptr;  // kMaxHistograms
  ThreadShard* next = nullptr;               // guarded by Shards::mu_
  ThreadShard* prev = nullptr;
};

// The calling thread's shard; nullptr until its first record and after it retired.
// constinit: no TLS init wrapper call on the hot path. initial-exec: a direct %fs-relative
// load even when libstrobe is linked into a shared object (the Python extension) instead of
// a __tls_get_addr call; 8 bytes fit in glibc's static TLS reserve for dlopen.
extern thread_local constinit ThreadShard* t_shard __attribute__((tls_model("initial-exec")));

ThreadShard* CreateThreadShard() noexcept;
HistShard* CreateHistShard(ThreadShard* shard, uint32_t hist) noexcept;
HistPage* CreateHistPage(HistShard* hist, int octave) noexcept;

// Owner-thread increment of a cell (see the header comment for why load + store suffices).
inline void Bump(Cell& c, uint64_t delta) noexcept {
  c.store(c.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

inline ThreadShard* LocalShard() noexcept {
  ThreadShard* s = t_shard;
  if (__builtin_expect(s == nullptr, 0)) s = CreateThreadShard();
  return s;
}

inline Cell& LocalCell(uint32_t cell) noexcept { return LocalShard()->cells[cell]; }

inline HistShard* LocalHist(uint32_t hist) noexcept {
  ThreadShard* s = LocalShard();
  // Relaxed: this thread is the only writer of its own slot.
  HistShard* h = s->hists[hist].load(std::memory_order_relaxed);
  if (__builtin_expect(h == nullptr, 0)) h = CreateHistShard(s, hist);
  return h;
}

enum class CellKind : uint8_t { kUnsigned, kDouble };

// Process-wide cells the library itself counts into.
struct GlobalCells {
  uint32_t invalid_observations;  // negative / NaN / infinite values rejected
  uint32_t exemplars_dropped;     // exemplar writes lost to a concurrent exemplar write
};
const GlobalCells& Globals() noexcept;

// Merged view of one histogram across all shards, in a reusable scratch buffer.
struct HistMerge {
  uint64_t count = 0;
  uint64_t int_sum = 0;
  double double_sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  uint64_t zero_count = 0;
  uint64_t invalid = 0;
  uint64_t octave_mask[kOctaves / 64] = {};  // octaves with at least one page
  uint64_t counts[kOctaves][64] = {};

  // Clears what the last merge touched.
  void Reset() noexcept;
};

class Shards {
 public:
  static Shards& Get() noexcept;  // process-wide, never destroyed

  // Control plane (registration). Indices are reused after Free; freed cells are zeroed in
  // every shard first. Return false when the limit is reached.
  bool AllocCell(CellKind kind, uint32_t* cell);
  void FreeCell(uint32_t cell);
  bool AllocHist(uint32_t* hist);
  void FreeHist(uint32_t hist);

  // Reader side: hold a ReadLock while calling the Sum/Merge functions.
  class STROBE_THREAD_ANNOTATION_(scoped_lockable) ReadLock {
   public:
    explicit ReadLock(Shards& s) STROBE_ACQUIRE(s.mu_) : lock_(s.mu_) {}
    ~ReadLock() STROBE_RELEASE() = default;

   private:
    MutexLock lock_;
  };
  // Callers hold a ReadLock (clang cannot follow Get() across calls, hence no REQUIRES).
  uint64_t SumCellLocked(uint32_t cell) const STROBE_NO_THREAD_SAFETY_ANALYSIS;
  double SumDoubleCellLocked(uint32_t cell) const STROBE_NO_THREAD_SAFETY_ANALYSIS;
  void MergeHistLocked(uint32_t hist, HistMerge* out) const STROBE_NO_THREAD_SAFETY_ANALYSIS;

  // Convenience: lock + sum.
  uint64_t SumCell(uint32_t cell);
  double SumDoubleCell(uint32_t cell);

  // Bytes owned by the shards of all threads (resident upper bound) plus retired values.
  uint64_t OwnedBytes();
  size_t LiveThreadsForTest();

  // Thread exit (pthread key destructor) and creation.
  ThreadShard* Register();
  void Retire(ThreadShard* shard);

 private:
  Shards();
  ThreadShard* NewShard();
  void DeleteShard(ThreadShard* shard);
  void FreeHistShard(HistShard* h);

  Mutex mu_;
  ThreadShard* live_ STROBE_GUARDED_BY(mu_) = nullptr;
  size_t live_count_ STROBE_GUARDED_BY(mu_) = 0;
  ThreadShard* retired_ = nullptr;  // written only under mu_
  uint32_t next_cell_ STROBE_GUARDED_BY(mu_) = 0;
  uint32_t next_hist_ STROBE_GUARDED_BY(mu_) = 0;
  std::vector<uint32_t> free_cells_ STROBE_GUARDED_BY(mu_);
  std::vector<uint32_t> free_hists_ STROBE_GUARDED_BY(mu_);
  std::vector<CellKind> cell_kind_ STROBE_GUARDED_BY(mu_);
  pthread_key_t key_;

 public:
  // Bytes of HistShards and pages of all shards, updated by their creators.
  std::atomic<uint64_t> hist_bytes{0};
};

}  // namespace strobe::metrics::internal
