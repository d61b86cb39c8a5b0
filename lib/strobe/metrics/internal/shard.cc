#include "strobe/metrics/internal/shard.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>

#include "strobe/base/check.h"

namespace strobe::metrics::internal {

thread_local constinit ThreadShard* t_shard __attribute__((tls_model("initial-exec"))) = nullptr;

namespace {

constexpr uint64_t kPageBytes = 4096;

void* MapZeroed(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  STROBE_CHECK(p != MAP_FAILED);  // allocation failure is fatal (STYLE.md section 5)
  return p;
}

uint64_t RoundUpToPage(uint64_t bytes) {
  return (bytes + kPageBytes - 1) / kPageBytes * kPageBytes;
}

double BitsToDouble(uint64_t b) { return std::bit_cast<double>(b); }
uint64_t DoubleToBits(double d) { return std::bit_cast<uint64_t>(d); }

void ThreadExit(void* arg) {
  auto* shard = static_cast<ThreadShard*>(arg);
  Shards::Get().Retire(shard);
}

GlobalCells MakeGlobals() {
  GlobalCells g{};
  STROBE_CHECK(Shards::Get().AllocCell(CellKind::kUnsigned, &g.invalid_observations));
  STROBE_CHECK(Shards::Get().AllocCell(CellKind::kUnsigned, &g.exemplars_dropped));
  return g;
}

void InitHistShard(HistShard* h) {
  h->min_bits.store(DoubleToBits(std::numeric_limits<double>::infinity()),
                    std::memory_order_relaxed);
  h->max_bits.store(DoubleToBits(-std::numeric_limits<double>::infinity()),
                    std::memory_order_relaxed);
}

}  // namespace

const GlobalCells& Globals() noexcept {
  static const GlobalCells globals = MakeGlobals();
  return globals;
}

ThreadShard* CreateThreadShard() noexcept {
  ThreadShard* s = Shards::Get().Register();
  t_shard = s;
  return s;
}

HistShard* CreateHistShard(ThreadShard* shard, uint32_t hist) noexcept {
  // Allocation failure is fatal (STYLE.md section 5): noexcept turns bad_alloc into terminate.
  auto* h = new HistShard{};  // NOLINT(bugprone-unhandled-exception-at-new)
  InitHistShard(h);
  Shards::Get().hist_bytes.fetch_add(sizeof(HistShard), std::memory_order_relaxed);
  // Release: partner is the acquire load in MergeHistLocked / Retire (initialised min/max).
  shard->hists[hist].store(h, std::memory_order_release);
  return h;
}

HistPage* CreateHistPage(HistShard* hist, int octave) noexcept {
  auto* p = new HistPage{};  // NOLINT(bugprone-unhandled-exception-at-new): as above
  Shards::Get().hist_bytes.fetch_add(sizeof(HistPage), std::memory_order_relaxed);
  // Release: partner is the acquire load of pages[] in MergeHistLocked / Retire.
  hist->pages[octave].store(p, std::memory_order_release);
  return p;
}

void HistMerge::Reset() noexcept {
  for (int w = 0; w < kOctaves / 64; ++w) {
    uint64_t mask = octave_mask[w];
    while (mask != 0) {
      const int bit = std::countr_zero(mask);
      mask &= mask - 1;
      std::memset(counts[w * 64 + bit], 0, sizeof counts[0]);
    }
    octave_mask[w] = 0;
  }
  count = int_sum = zero_count = invalid = 0;
  double_sum = 0;
  min = std::numeric_limits<double>::infinity();
  max = -std::numeric_limits<double>::infinity();
}

Shards& Shards::Get() noexcept {
  // Never destroyed: threads may exit after main. Allocation failure is fatal.
  static Shards* shards = new Shards();  // NOLINT(bugprone-unhandled-exception-at-new)
  return *shards;
}

Shards::Shards() {
  STROBE_CHECK(pthread_key_create(&key_, &ThreadExit) == 0);
  retired_ = NewShard();
}

ThreadShard* Shards::NewShard() {
  auto* s = new ThreadShard{};
  s->cells = static_cast<Cell*>(MapZeroed(sizeof(Cell) * kMaxCells));
  // calloc, not mmap: the pointers must stay visible to LeakSanitizer's heap scan. glibc
  // serves a block this large with a fresh zero-filled mmap, so pages still become resident
  // only when touched.
  s->hists = static_cast<std::atomic<HistShard*>*>(
      std::calloc(kMaxHistograms, sizeof(std::atomic<HistShard*>)));
  STROBE_CHECK(s->hists != nullptr);
  return s;
}

void Shards::FreeHistShard(HistShard* h) {
  uint64_t bytes = sizeof(HistShard);
  for (auto& page : h->pages) {
    HistPage* p = page.load(std::memory_order_acquire);
    if (p != nullptr) {
      bytes += sizeof(HistPage);
      delete p;
    }
  }
  delete h;
  hist_bytes.fetch_sub(bytes, std::memory_order_relaxed);
}

void Shards::DeleteShard(ThreadShard* s) {
  munmap(s->cells, sizeof(Cell) * kMaxCells);
  std::free(s->hists);
  delete s;
}

ThreadShard* Shards::Register() {
  ThreadShard* s = NewShard();
  {
    MutexLock lock(mu_);
    s->next = live_;
    if (live_ != nullptr) live_->prev = s;
    live_ = s;
    ++live_count_;
  }
  pthread_setspecific(key_, s);
  return s;
}

void Shards::Retire(ThreadShard* s) {
  {
    MutexLock lock(mu_);
    for (uint32_t c = 0; c < next_cell_; ++c) {
      const uint64_t v = s->cells[c].load(std::memory_order_relaxed);
      if (v == 0) continue;
      Cell& r = retired_->cells[c];
      if (cell_kind_[c] == CellKind::kDouble) {
        r.store(DoubleToBits(BitsToDouble(r.load(std::memory_order_relaxed)) + BitsToDouble(v)),
                std::memory_order_relaxed);
      } else {
        Bump(r, v);
      }
    }
    for (uint32_t i = 0; i < next_hist_; ++i) {
      HistShard* h = s->hists[i].load(std::memory_order_acquire);
      if (h == nullptr) continue;
      HistShard* r = retired_->hists[i].load(std::memory_order_relaxed);
      if (r == nullptr) r = CreateHistShard(retired_, i);
      Bump(r->count, h->count.load(std::memory_order_relaxed));
      Bump(r->int_sum, h->int_sum.load(std::memory_order_relaxed));
      Bump(r->zero_count, h->zero_count.load(std::memory_order_relaxed));
      Bump(r->invalid, h->invalid.load(std::memory_order_relaxed));
      r->double_sum.store(DoubleToBits(BitsToDouble(r->double_sum.load(std::memory_order_relaxed)) +
                                       BitsToDouble(h->double_sum.load(std::memory_order_relaxed))),
                          std::memory_order_relaxed);
      r->min_bits.store(
          DoubleToBits(std::min(BitsToDouble(r->min_bits.load(std::memory_order_relaxed)),
                                BitsToDouble(h->min_bits.load(std::memory_order_relaxed)))),
          std::memory_order_relaxed);
      r->max_bits.store(
          DoubleToBits(std::max(BitsToDouble(r->max_bits.load(std::memory_order_relaxed)),
                                BitsToDouble(h->max_bits.load(std::memory_order_relaxed)))),
          std::memory_order_relaxed);
      for (int o = 0; o < kOctaves; ++o) {
        HistPage* p = h->pages[o].load(std::memory_order_acquire);
        if (p == nullptr) continue;
        HistPage* rp = r->pages[o].load(std::memory_order_relaxed);
        if (rp == nullptr) rp = CreateHistPage(r, o);
        for (int b = 0; b < 64; ++b)
          Bump(rp->counts[b], p->counts[b].load(std::memory_order_relaxed));
      }
      FreeHistShard(h);
    }
    if (s->prev != nullptr) s->prev->next = s->next;
    if (s->next != nullptr) s->next->prev = s->prev;
    if (live_ == s) live_ = s->next;
    --live_count_;
  }
  if (t_shard == s) t_shard = nullptr;
  DeleteShard(s);
}

bool Shards::AllocCell(CellKind kind, uint32_t* cell) {
  MutexLock lock(mu_);
  if (!free_cells_.empty()) {
    *cell = free_cells_.back();
    free_cells_.pop_back();
  } else {
    if (next_cell_ >= kMaxCells) return false;
    *cell = next_cell_++;
    cell_kind_.push_back(kind);
  }
  cell_kind_[*cell] = kind;
  return true;
}

void Shards::FreeCell(uint32_t cell) {
  MutexLock lock(mu_);
  // The series is gone, so no thread writes this cell any more (using a removed series is a
  // contract violation); zero it everywhere so the next owner starts from 0.
  for (ThreadShard* s = live_; s != nullptr; s = s->next) {
    s->cells[cell].store(0, std::memory_order_relaxed);
  }
  retired_->cells[cell].store(0, std::memory_order_relaxed);
  free_cells_.push_back(cell);
}

bool Shards::AllocHist(uint32_t* hist) {
  MutexLock lock(mu_);
  if (!free_hists_.empty()) {
    *hist = free_hists_.back();
    free_hists_.pop_back();
    return true;
  }
  if (next_hist_ >= kMaxHistograms) return false;
  *hist = next_hist_++;
  return true;
}

void Shards::FreeHist(uint32_t hist) {
  MutexLock lock(mu_);
  auto release = [&](ThreadShard* s) {
    HistShard* h = s->hists[hist].load(std::memory_order_acquire);
    if (h == nullptr) return;
    s->hists[hist].store(nullptr, std::memory_order_relaxed);
    FreeHistShard(h);
  };
  for (ThreadShard* s = live_; s != nullptr; s = s->next) release(s);
  release(retired_);
  free_hists_.push_back(hist);
}

uint64_t Shards::SumCellLocked(uint32_t cell) const {
  uint64_t sum = retired_->cells[cell].load(std::memory_order_relaxed);
  for (const ThreadShard* s = live_; s != nullptr; s = s->next) {
    sum += s->cells[cell].load(std::memory_order_relaxed);
  }
  return sum;
}

double Shards::SumDoubleCellLocked(uint32_t cell) const {
  double sum = BitsToDouble(retired_->cells[cell].load(std::memory_order_relaxed));
  for (const ThreadShard* s = live_; s != nullptr; s = s->next) {
    sum += BitsToDouble(s->cells[cell].load(std::memory_order_relaxed));
  }
  return sum;
}

void Shards::MergeHistLocked(uint32_t hist, HistMerge* out) const {
  auto merge = [&](const ThreadShard* s) {
    const HistShard* h = s->hists[hist].load(std::memory_order_acquire);
    if (h == nullptr) return;
    // Read the buckets before count: a concurrent record bumps a bucket then count, so the
    // merged count may lag the bucket total by in-flight records; the caller recomputes count
    // from the buckets to keep them consistent.
    for (int o = 0; o < kOctaves; ++o) {
      const HistPage* p = h->pages[o].load(std::memory_order_acquire);
      if (p == nullptr) continue;
      out->octave_mask[o / 64] |= uint64_t{1} << (o % 64);
      for (int b = 0; b < 64; ++b)
        out->counts[o][b] += p->counts[b].load(std::memory_order_relaxed);
    }
    out->zero_count += h->zero_count.load(std::memory_order_relaxed);
    out->count += h->count.load(std::memory_order_relaxed);
    out->int_sum += h->int_sum.load(std::memory_order_relaxed);
    out->invalid += h->invalid.load(std::memory_order_relaxed);
    out->double_sum += BitsToDouble(h->double_sum.load(std::memory_order_relaxed));
    out->min = std::min(out->min, BitsToDouble(h->min_bits.load(std::memory_order_relaxed)));
    out->max = std::max(out->max, BitsToDouble(h->max_bits.load(std::memory_order_relaxed)));
  };
  merge(retired_);
  for (const ThreadShard* s = live_; s != nullptr; s = s->next) merge(s);
}

uint64_t Shards::SumCell(uint32_t cell) {
  ReadLock lock(*this);
  return SumCellLocked(cell);
}

double Shards::SumDoubleCell(uint32_t cell) {
  ReadLock lock(*this);
  return SumDoubleCellLocked(cell);
}

uint64_t Shards::OwnedBytes() {
  MutexLock lock(mu_);
  const uint64_t per_shard = sizeof(ThreadShard) +
                             RoundUpToPage(uint64_t{next_cell_} * sizeof(Cell)) +
                             RoundUpToPage(uint64_t{next_hist_} * sizeof(void*));
  return per_shard * (live_count_ + 1) + hist_bytes.load(std::memory_order_relaxed) +
         cell_kind_.capacity() +
         (free_cells_.capacity() + free_hists_.capacity()) * sizeof(uint32_t);
}

size_t Shards::LiveThreadsForTest() {
  MutexLock lock(mu_);
  return live_count_;
}

}  // namespace strobe::metrics::internal
