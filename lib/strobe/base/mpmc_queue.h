#pragma once

// strobe::MpmcQueue<T>: the bounded, lock-free multi-producer multi-consumer queue of
// libstrobe and the daemon (SpanBuffer's shards, the daemon's pipeline entry and batch pool).
// Dmitry Vyukov's bounded MPMC design: every cell carries a sequence number that says whether
// it is free for the producer of lap n or full for the consumer of lap n; producers and
// consumers each claim a position with one CAS on their own counter.
//
//   MpmcQueue<Batch*> q(1024);
//   q.TryPush(b);                                   // copy in
//   q.TryPushWith([&](Rec& cell) { Fill(cell); });  // write in place (large T)
//   q.TryPop(b);                                    // copy out
//   q.TryPopWith([&](const Rec& r) { Use(r); });    // read in place, no copy
//
// Capacity is rounded up to a power of two (minimum 2); positions are free-running 64-bit
// counters masked on access. Cells are cache-line aligned so that a producer filling cell i
// and a consumer draining cell i-1 never write the same line. Push and pop never block,
// allocate or make syscalls; waiting (when full or empty) is the caller's business.
//
// Memory orders (STYLE.md section 4). Two sync points per cell, both through `seq`:
//   - publish: the producer's release store of seq = pos + 1 after writing the value pairs
//     with the consumer's acquire load of seq, so the consumer sees the whole value;
//   - free: the consumer's release store of seq = pos + capacity after reading the value
//     pairs with the next lap's producer's acquire load of seq, so the producer does not
//     overwrite the value while it is still being read.
// The position counters are only claims: they are CAS'ed with relaxed order because
// winning the CAS grants no data (the cell's seq does), and a stale load just makes the CAS
// fail or the seq comparison retry. A lost race on a counter costs a retry, never a lost
// or duplicated element.
//
// Not linearizable as a whole: a TryPop may return false while a producer that claimed an
// earlier cell has not published yet (the queue looks empty until it does); SizeApprox() is
// a hint.
//
// Thread class: thread-safe. T must be trivially copyable (cells are copied with plain
// stores) and default constructible.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "strobe/base/cache_line.h"

namespace strobe {

template <typename T>
class MpmcQueue {
  static_assert(std::is_trivially_copyable_v<T>, "queue cells are copied with plain stores");
  static_assert(std::is_default_constructible_v<T>);

 public:
  // `capacity` is rounded up to a power of two (minimum 2). Allocates every cell up front.
  explicit MpmcQueue(std::size_t capacity)
      : mask_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity) - 1),
        cells_(std::make_unique<Cell[]>(mask_ + 1)) {
    for (std::size_t i = 0; i <= mask_; ++i) {
      // Relaxed: construction happens-before any use (the queue is published by the owner).
      cells_[i].seq.store(i, std::memory_order_relaxed);
    }
  }
  MpmcQueue(const MpmcQueue&) = delete;
  MpmcQueue& operator=(const MpmcQueue&) = delete;

  // Copies `value` in. Returns false (and changes nothing) when the queue is full.
  // Thread-safe, lock-free.
  bool TryPush(const T& value) noexcept {
    return TryPushWith([&](T& cell) noexcept { cell = value; });
  }

  // Claims a free cell and calls `fill(T& cell)` to write the element in place (for large T,
  // to copy only what is used). The cell holds whatever the previous lap left there. `fill`
  // must not throw and must not touch the queue. Returns false without calling `fill` when
  // the queue is full. Thread-safe, lock-free.
  template <typename Fill>
  bool TryPushWith(Fill&& fill) noexcept {
    uint64_t pos = enqueue_pos_.value.load(std::memory_order_relaxed);  // a claim hint
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      // Acquire pairs with the consumer's release store of seq in TryPopWith (sync point
      // "free"): the previous lap's value has been read.
      const uint64_t seq = cell.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<int64_t>(seq - pos);
      if (diff == 0) {
        // Relaxed CAS: it only claims the cell; the seq acquire above ordered us after its
        // consumer, the seq release below publishes the value.
        if (enqueue_pos_.value.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          fill(cell.value);
          // Release pairs with the consumer's acquire load of seq (sync point "publish").
          cell.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
        // The failed CAS reloaded `pos`; retry on that cell.
      } else if (diff < 0) {
        return false;  // full: the cell still holds an element of the previous lap
      } else {
        pos = enqueue_pos_.value.load(std::memory_order_relaxed);  // another producer won
      }
    }
  }

  // Copies the oldest element out. Returns false when the queue is empty. Thread-safe,
  // lock-free.
  bool TryPop(T& out) noexcept {
    return TryPopWith([&](const T& value) noexcept { out = value; });
  }

  // Claims the oldest full cell and calls `read(const T&)` on it in place; the cell is
  // handed back to producers when `read` returns (or throws: then the element is consumed
  // and the exception propagates). `read` must not touch the queue. Returns false without
  // calling `read` when the queue is empty. Thread-safe, lock-free (apart from `read`).
  template <typename Read>
  bool TryPopWith(Read&& read) {
    uint64_t pos = dequeue_pos_.value.load(std::memory_order_relaxed);  // a claim hint
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      // Acquire pairs with the producer's release store of seq (sync point "publish").
      const uint64_t seq = cell.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<int64_t>(seq - (pos + 1));
      if (diff == 0) {
        // Relaxed CAS: only a claim, as in TryPushWith.
        if (dequeue_pos_.value.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          Release release{cell, pos + mask_ + 1};
          read(static_cast<const T&>(cell.value));
          return true;
        }
      } else if (diff < 0) {
        return false;  // empty (or the producer of this cell has not published yet)
      } else {
        pos = dequeue_pos_.value.load(std::memory_order_relaxed);  // another consumer won
      }
    }
  }

  std::size_t capacity() const noexcept { return mask_ + 1; }

  // Elements pushed and not yet popped, from two relaxed loads: may be stale by the time it
  // is used and is not a consistent cut. For statistics and wake-up hints. Thread-safe.
  std::size_t SizeApprox() const noexcept {
    const uint64_t head = dequeue_pos_.value.load(std::memory_order_relaxed);
    const uint64_t tail = enqueue_pos_.value.load(std::memory_order_relaxed);
    return tail > head ? static_cast<std::size_t>(tail - head) : 0;
  }

 private:
  struct alignas(kCacheLineBytes) Cell {
    std::atomic<uint64_t> seq;
    T value;
  };
  // Frees a claimed cell for the next lap when the reader is done, even if it throws.
  struct Release {
    Cell& cell;
    uint64_t next_seq;
    // Release pairs with the next lap's producer's acquire load of seq (sync point "free").
    ~Release() { cell.seq.store(next_seq, std::memory_order_release); }
  };

  const std::size_t mask_;
  std::unique_ptr<Cell[]> cells_;
  CacheLinePadded<std::atomic<uint64_t>> enqueue_pos_;  // CAS'ed by producers only
  CacheLinePadded<std::atomic<uint64_t>> dequeue_pos_;  // CAS'ed by consumers only
};

}  // namespace strobe
