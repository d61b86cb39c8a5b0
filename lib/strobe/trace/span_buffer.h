#pragma once

// SpanBuffer: the in-process SpanSink. A bounded, lock-free multi-producer queue of SpanRecords
// that one consumer drains (the daemon's pipeline, an exporter thread, a test).
//
// Layout: kShards independent bounded queues (strobe::MpmcQueue, strobe/base/mpmc_queue.h,
// whose cells hold the records in place). Each producing thread is assigned one shard on
// first use (round robin), so threads mostly write different enqueue cursors; with more
// threads than shards, threads share a shard and contend on its cursor with a CAS (no lock,
// no blocking). A full shard drops the record and counts it in dropped() — producers never
// wait.
//
// Thread class: Consume() is thread-safe and hot-path clean (one CAS, one copy of the used
// bytes into the cell, one release store). Drain() is meant for one consumer thread; calls
// from several threads are safe (each record is passed to exactly one call) but interleave.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "strobe/base/cache_line.h"
#include "strobe/base/mpmc_queue.h"
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
  // returns how many it passed. The reference is valid only during the call. If `fn` throws,
  // the record it was given is consumed and the exception propagates.
  size_t Drain(const std::function<void(const SpanRecord&)>& fn, size_t max_records = SIZE_MAX);

  // Records dropped because their shard was full.
  uint64_t dropped() const noexcept;
  size_t capacity_per_shard() const noexcept { return shards_[0].queue.capacity(); }

 private:
  struct Shard {
    explicit Shard(size_t capacity) : queue(capacity) {}
    MpmcQueue<SpanRecord> queue;
    CacheLinePadded<std::atomic<uint64_t>> dropped;  // producers, on a full shard only
  };

  Shard shards_[kShards];
};

}  // namespace strobe::trace
