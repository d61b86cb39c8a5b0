#pragma once

// strobed::pipeline::SpscRing<T>: a bounded, lock-free single-producer single-consumer ring of
// trivially copyable values. Cheaper than MpmcQueue when exactly one thread pushes: no CAS,
// and each side keeps a private cached copy of the other side's index so that it touches the
// shared line only when the cache says full/empty (the classic Lamport ring with index
// caching, as in rte_ring SP/SC mode and iceoryx's spsc_fifo).
//
// Capacity is a power of two; indices are free-running and masked on access. Each index is
// written by one side only and lives on its own cache line together with that side's cache.
//
// Thread class: one producer thread and one consumer thread at a time.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "strobe/base/cache_line.h"
#include "strobed/pipeline/mpmc_queue.h"

namespace strobed::pipeline {

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  explicit SpscRing(std::size_t capacity)
      : mask_(RoundUpPowerOfTwo(capacity < 2 ? 2 : capacity) - 1),
        slots_(std::make_unique<T[]>(mask_ + 1)) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer only. Returns false when full.
  bool TryPush(T value) noexcept {
    Producer& p = producer_;
    uint64_t tail = p.tail.load(std::memory_order_relaxed);  // we are its only writer
    if (tail - p.cached_head > mask_) {
      // Acquire pairs with the consumer's release store of head: the slot is free.
      p.cached_head = consumer_.head.load(std::memory_order_acquire);
      if (tail - p.cached_head > mask_) return false;
    }
    slots_[tail & mask_] = value;
    // Release pairs with the consumer's acquire load of tail: publishes the slot.
    p.tail.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer only. Returns false when empty.
  bool TryPop(T& out) noexcept {
    Consumer& c = consumer_;
    uint64_t head = c.head.load(std::memory_order_relaxed);  // we are its only writer
    if (head == c.cached_tail) {
      // Acquire pairs with the producer's release store of tail.
      c.cached_tail = producer_.tail.load(std::memory_order_acquire);
      if (head == c.cached_tail) return false;
    }
    out = slots_[head & mask_];
    // Release pairs with the producer's acquire load of head: the slot may be reused.
    c.head.store(head + 1, std::memory_order_release);
    return true;
  }

  std::size_t capacity() const noexcept { return mask_ + 1; }

  // May be stale; for statistics and wake-up hints. Thread-safe.
  std::size_t SizeApprox() const noexcept {
    uint64_t head = consumer_.head.load(std::memory_order_relaxed);
    uint64_t tail = producer_.tail.load(std::memory_order_relaxed);
    return tail > head ? static_cast<std::size_t>(tail - head) : 0;
  }

 private:
  struct alignas(strobe::kCacheLineBytes) Producer {
    std::atomic<uint64_t> tail{0};
    uint64_t cached_head = 0;  // producer-private
  };
  struct alignas(strobe::kCacheLineBytes) Consumer {
    std::atomic<uint64_t> head{0};
    uint64_t cached_tail = 0;  // consumer-private
  };

  const std::size_t mask_;
  std::unique_ptr<T[]> slots_;
  Producer producer_;
  Consumer consumer_;
};

}  // namespace strobed::pipeline
