#pragma once

// strobe::SpscRing<T>: a bounded, lock-free single-producer single-consumer ring of trivially
// copyable values. Cheaper than MpmcQueue (mpmc_queue.h) when exactly one thread pushes and
// one pops: no CAS, and each side keeps a private cached copy of the other side's index so
// that it touches the shared line only when the cache says full/empty (the classic Lamport
// ring with index caching, as in rte_ring SP/SC mode and iceoryx's spsc_fifo).
//
// Capacity is rounded up to a power of two (minimum 2); indices are free-running 64-bit
// counters masked on access. Each index is written by one side only and lives on its own
// cache line together with that side's cache of the other index.
//
// Memory orders (STYLE.md section 4). Two sync points:
//   - publish: the producer's release store of `tail` after writing the slot pairs with the
//     consumer's acquire load of `tail`, so the consumer sees the slot's value;
//   - free: the consumer's release store of `head` after reading the slot pairs with the
//     producer's acquire load of `head`, so the producer does not overwrite a slot that is
//     still being read.
// Each side loads its own index relaxed (it is the only writer). SizeApprox's relaxed loads
// may see stale values (benign: it is a hint).
//
// Thread class: TryPush from one producer thread and TryPop from one consumer thread at a
// time (the roles may move between threads only with external synchronisation);
// capacity() and SizeApprox() from any thread.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "strobe/base/cache_line.h"

namespace strobe {

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "slots are copied with plain stores");

 public:
  // `capacity` is rounded up to a power of two (minimum 2). Allocates every slot up front.
  explicit SpscRing(std::size_t capacity)
      : mask_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity) - 1),
        slots_(std::make_unique<T[]>(mask_ + 1)) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer only. Returns false (and changes nothing) when full. Never blocks.
  bool TryPush(T value) noexcept {
    Producer& p = producer_;
    const uint64_t tail = p.tail.load(std::memory_order_relaxed);  // we are its only writer
    if (tail - p.cached_head > mask_) {
      // Acquire pairs with the consumer's release store of head (sync point "free").
      p.cached_head = consumer_.head.load(std::memory_order_acquire);
      if (tail - p.cached_head > mask_) return false;
    }
    slots_[tail & mask_] = value;
    // Release pairs with the consumer's acquire load of tail (sync point "publish").
    p.tail.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer only. Returns false when empty. Never blocks.
  bool TryPop(T& out) noexcept {
    Consumer& c = consumer_;
    const uint64_t head = c.head.load(std::memory_order_relaxed);  // we are its only writer
    if (head == c.cached_tail) {
      // Acquire pairs with the producer's release store of tail (sync point "publish").
      c.cached_tail = producer_.tail.load(std::memory_order_acquire);
      if (head == c.cached_tail) return false;
    }
    out = slots_[head & mask_];
    // Release pairs with the producer's acquire load of head (sync point "free").
    c.head.store(head + 1, std::memory_order_release);
    return true;
  }

  std::size_t capacity() const noexcept { return mask_ + 1; }

  // Elements pushed and not yet popped; may be stale. For statistics and wake-up hints.
  // Thread-safe.
  std::size_t SizeApprox() const noexcept {
    const uint64_t head = consumer_.head.load(std::memory_order_relaxed);
    const uint64_t tail = producer_.tail.load(std::memory_order_relaxed);
    return tail > head ? static_cast<std::size_t>(tail - head) : 0;
  }

 private:
  struct alignas(kCacheLineBytes) Producer {
    std::atomic<uint64_t> tail{0};
    uint64_t cached_head = 0;  // producer-private
  };
  struct alignas(kCacheLineBytes) Consumer {
    std::atomic<uint64_t> head{0};
    uint64_t cached_tail = 0;  // consumer-private
  };

  const std::size_t mask_;
  std::unique_ptr<T[]> slots_;
  Producer producer_;
  Consumer consumer_;
};

}  // namespace strobe
