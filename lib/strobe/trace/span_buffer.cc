#include "strobe/trace/span_buffer.h"

#include <bit>
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

SpanBuffer::SpanBuffer(size_t capacity_per_shard)
    : capacity_(std::bit_ceil(capacity_per_shard < 2 ? size_t{2} : capacity_per_shard)),
      mask_(capacity_ - 1) {
  for (Shard& s : shards_) {
    s.cells = std::make_unique<Cell[]>(capacity_);
    for (size_t i = 0; i < capacity_; ++i) s.cells[i].sequence.store(i, std::memory_order_relaxed);
  }
}

SpanBuffer::~SpanBuffer() = default;

void SpanBuffer::Consume(const SpanRecord& record) noexcept {
  Shard& s = shards_[ThreadShard()];
  // Relaxed: the cursor is only a hint; the cell's sequence (acquire) decides ownership.
  uint64_t pos = s.enqueue_pos.value.load(std::memory_order_relaxed);
  Cell* cell;
  while (true) {
    cell = &s.cells[pos & mask_];
    // Acquire pairs with the consumer's release store in Drain(): the cell is free to reuse.
    uint64_t seq = cell->sequence.load(std::memory_order_acquire);
    auto diff = static_cast<int64_t>(seq - pos);
    if (diff == 0) {
      // Relaxed CAS: winning it only claims the cell; publication is the release store below.
      if (s.enqueue_pos.value.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        break;
      }
    } else if (diff < 0) {
      // Full. Relaxed: a statistic read by dropped().
      s.dropped.value.fetch_add(1, std::memory_order_relaxed);
      return;
    } else {
      pos = s.enqueue_pos.value.load(std::memory_order_relaxed);
    }
  }
  CopyUsed(record, cell->record);
  // Release pairs with the consumer's acquire load in Drain(): the record bytes are visible.
  cell->sequence.store(pos + 1, std::memory_order_release);
}

size_t SpanBuffer::Drain(const std::function<void(const SpanRecord&)>& fn, size_t max_records) {
  size_t n = 0;
  for (Shard& s : shards_) {
    uint64_t pos = s.dequeue_pos.value.load(std::memory_order_relaxed);  // consumer-owned
    while (n < max_records) {
      Cell& cell = s.cells[pos & mask_];
      // Acquire pairs with the producer's release store in Consume().
      uint64_t seq = cell.sequence.load(std::memory_order_acquire);
      if (static_cast<int64_t>(seq - (pos + 1)) < 0) break;  // empty (or still being written)
      fn(cell.record);
      // Release pairs with the producer's acquire load: the cell may be overwritten now.
      cell.sequence.store(pos + capacity_, std::memory_order_release);
      ++pos;
      ++n;
    }
    s.dequeue_pos.value.store(pos, std::memory_order_relaxed);  // consumer-owned
  }
  return n;
}

uint64_t SpanBuffer::dropped() const noexcept {
  uint64_t total = 0;
  for (const Shard& s : shards_) total += s.dropped.value.load(std::memory_order_relaxed);
  return total;
}

}  // namespace strobe::trace
