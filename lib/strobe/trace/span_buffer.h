#pragma once

// SpanBuffer: the in-process SpanSink. A bounded, lock-free multi-producer queue of SpanRecords
// that one consumer drains (the daemon's pipeline, an exporter thread, a test).
//
// Layout: kShards independent bounded MPMC queues (D. Vyukov's sequence-numbered cells). Each
// producing thread is assigned one shard on first use (round robin), so threads mostly write
// different enqueue cursors; with more threads than shards, threads share a shard and contend
// on its cursor with a CAS (no lock, no blocking). A full shard drops the record and counts it
// in dropped() — producers never wait.
//
// Thread class: Consume() is thread-safe and hot-path clean (one CAS, one copy of the used
// bytes, one release store). Drain() is single-consumer: call it from one thread at a time.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "strobe/base/cache_line.h"
#include "strobe/trace/span_sink.h"

namespace strobe::trace {

class SpanBuffer final : public SpanSink {
 public:
  static constexpr size_t kShards = 4;

  // `capacity_per_shard` is rounded up to a power of two (minimum 2).
  explicit SpanBuffer(size_t capacity_per_shard = 1024);
  ~SpanBuffer() override;
  SpanBuffer(const SpanBuffer&) = delete;
  SpanBuffer& operator=(const SpanBuffer&) = delete;

  void Consume(const SpanRecord& record) noexcept override;

  // Calls `fn` for up to `max_records` queued records (oldest first within a shard) and
  // returns how many it passed. The reference is valid only during the call.
  size_t Drain(const std::function<void(const SpanRecord&)>& fn, size_t max_records = SIZE_MAX);

  // Records dropped because their shard was full.
  uint64_t dropped() const noexcept;
  size_t capacity_per_shard() const noexcept { return capacity_; }

 private:
  struct alignas(kCacheLineBytes) Cell {
    std::atomic<uint64_t> sequence{0};
    SpanRecord record;
  };
  struct Shard {
    std::unique_ptr<Cell[]> cells;
    CacheLinePadded<std::atomic<uint64_t>> enqueue_pos;  // producers (CAS)
    CacheLinePadded<std::atomic<uint64_t>> dequeue_pos;  // the one consumer
    CacheLinePadded<std::atomic<uint64_t>> dropped;      // producers, on a full shard only
  };

  size_t capacity_;
  size_t mask_;
  Shard shards_[kShards];
};

}  // namespace strobe::trace
