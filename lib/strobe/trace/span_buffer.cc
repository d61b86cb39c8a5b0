#include "strobe/trace/span_buffer.h"

#include <cstring>

namespace strobe::trace {
namespace {

std::atomic<uint32_t> g_next_shard{0};

size_t ThreadShard() noexcept {
  // Round-robin assignment once per thread; relaxed: only uniqueness of the increment matters.
  thread_local const size_t shard =
      g_next_shard.fetch_add(1, std::memory_order_relaxed) % SpanBuffer::kShards;
  return shard;
}

}  // namespace

void CopyUsed(const SpanRecord& src, SpanRecord& dst) noexcept {
  // Header fields up to the slot tables.
  std::memcpy(static_cast<void*>(&dst), &src, offsetof(SpanRecord, attrs));
  std::memcpy(dst.attrs, src.attrs, sizeof(AttrSlot) * src.attr_count);
  std::memcpy(dst.events, src.events, sizeof(EventSlot) * src.event_count);
  std::memcpy(static_cast<void*>(dst.links), src.links, sizeof(LinkSlot) * src.link_count);
  std::memcpy(dst.arena, src.arena, src.arena_used);
}

static_assert(SpanBuffer::kShards == 4, "one initialiser per shard below");

// Shards are neither copyable nor movable: each is built in place from its prvalue.
SpanBuffer::SpanBuffer(size_t capacity_per_shard)
    : shards_{Shard(capacity_per_shard), Shard(capacity_per_shard), Shard(capacity_per_shard),
              Shard(capacity_per_shard)} {}

SpanBuffer::~SpanBuffer() = default;

void SpanBuffer::Consume(const SpanRecord& record) noexcept {
  Shard& s = shards_[ThreadShard()];
  // Only the used bytes are copied into the cell (a SpanRecord is ~2 KiB, most of it arena
  // and slot tables that a typical span leaves empty).
  if (!s.queue.TryPushWith([&](SpanRecord& cell) noexcept { CopyUsed(record, cell); })) {
    // Full. Relaxed: a statistic read by dropped().
    s.dropped.value.fetch_add(1, std::memory_order_relaxed);
  }
}

size_t SpanBuffer::Drain(const std::function<void(const SpanRecord&)>& fn, size_t max_records) {
  size_t n = 0;
  for (Shard& s : shards_) {
    while (n < max_records && s.queue.TryPopWith(fn)) ++n;
  }
  return n;
}

uint64_t SpanBuffer::dropped() const noexcept {
  uint64_t total = 0;
  for (const Shard& s : shards_) total += s.dropped.value.load(std::memory_order_relaxed);
  return total;
}

}  // namespace strobe::trace
