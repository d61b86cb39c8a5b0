#pragma once

// strobed::pipeline::MpmcQueue<T>: a bounded, lock-free multi-producer multi-consumer queue
// of trivially copyable values (in the pipeline: Batch pointers). Dmitry Vyukov's bounded
// MPMC design: every cell carries a sequence number that says whether it is free for the
// producer of lap n or full for the consumer of lap n; producers and consumers each claim a
// position with one CAS on their own counter.
//
// Capacity is rounded up to a power of two; positions are free-running 64-bit counters masked
// on access. Cells are cache-line padded so that a producer filling cell i and a consumer
// draining cell i-1 never write the same line. TryPush/TryPop never block, allocate or make
// syscalls. Waiting (when full or empty) is the caller's business (see BatchQueue).
//
// Thread class: thread-safe.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "strobe/base/cache_line.h"

namespace strobed::pipeline {

inline std::size_t RoundUpPowerOfTwo(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

template <typename T>
class MpmcQueue {
  static_assert(std::is_trivially_copyable_v<T>, "queue cells are copied with plain stores");

 public:
  explicit MpmcQueue(std::size_t capacity)
      : mask_(RoundUpPowerOfTwo(capacity < 2 ? 2 : capacity) - 1),
        cells_(std::make_unique<Cell[]>(mask_ + 1)) {
    for (std::size_t i = 0; i <= mask_; ++i) {
      cells_[i].seq.store(i, std::memory_order_relaxed);
    }
  }
  MpmcQueue(const MpmcQueue&) = delete;
  MpmcQueue& operator=(const MpmcQueue&) = delete;

  // Returns false when the queue is full. Thread-safe, lock-free.
  bool TryPush(T value) noexcept {
    uint64_t pos = enqueue_pos_.value.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      // Acquire pairs with the consumer's release store of seq (cell freed for this lap).
      uint64_t seq = cell.seq.load(std::memory_order_acquire);
      auto diff = static_cast<int64_t>(seq - pos);
      if (diff == 0) {
        // Relaxed CAS: the cell's seq acquire above already ordered us after its consumer.
        if (enqueue_pos_.value.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          cell.value = value;
          // Release pairs with the consumer's acquire load of seq in TryPop: publishes value.
          cell.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // full: the cell still holds an element of the previous lap
      } else {
        pos = enqueue_pos_.value.load(std::memory_order_relaxed);
      }
    }
  }

  // Returns false when the queue is empty. Thread-safe, lock-free.
  bool TryPop(T& out) noexcept {
    uint64_t pos = dequeue_pos_.value.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      // Acquire pairs with the producer's release store of seq: the value is visible.
      uint64_t seq = cell.seq.load(std::memory_order_acquire);
      auto diff = static_cast<int64_t>(seq - (pos + 1));
      if (diff == 0) {
        if (dequeue_pos_.value.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          out = cell.value;
          // Release pairs with the producer's acquire load of seq: the cell is free for the
          // next lap only after we have read the value.
          cell.seq.store(pos + mask_ + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // empty
      } else {
        pos = dequeue_pos_.value.load(std::memory_order_relaxed);
      }
    }
  }

  std::size_t capacity() const noexcept { return mask_ + 1; }

  // A snapshot that may be stale by the time it is used; for statistics and wake-up hints.
  std::size_t SizeApprox() const noexcept {
    uint64_t head = dequeue_pos_.value.load(std::memory_order_relaxed);
    uint64_t tail = enqueue_pos_.value.load(std::memory_order_relaxed);
    return tail > head ? static_cast<std::size_t>(tail - head) : 0;
  }

 private:
  struct alignas(strobe::kCacheLineBytes) Cell {
    std::atomic<uint64_t> seq;
    T value;
  };

  const std::size_t mask_;
  std::unique_ptr<Cell[]> cells_;
  strobe::CacheLinePadded<std::atomic<uint64_t>> enqueue_pos_;  // producers only
  strobe::CacheLinePadded<std::atomic<uint64_t>> dequeue_pos_;  // consumers only
};

}  // namespace strobed::pipeline
