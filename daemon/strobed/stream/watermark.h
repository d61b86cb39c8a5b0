#pragma once

// Event-time progress of a stream operator, tracked per source so that one source's clock
// cannot make another source's data late.
//
//   SourceId     who sent an item: a hash of its resource's service.name, service.instance.id,
//                host.name and process.pid (an OTLP sender, an shm producer); kNoSource when
//                the resource has none of them
//   SourceKeys   the interned keys behind SourceId; Of() computes an item's source
//   Watermark    per source: the largest event time seen and the wall time of its last item;
//                the operator's watermark is the minimum over the active sources, minus the
//                allowed lateness, and never goes backwards
//
// Rules (docs/stream.md, docs/design/windows.md):
//   - A source's progress is its largest event time. When it has sent nothing for
//     idle_timeout of wall time (0: never), its progress moves on with wall time from there,
//     so windows close when traffic stops. Progress never passes the wall clock: a window
//     cannot be complete before its end has come, whatever a fast clock claims.
//   - A source silent for source_idle_timeout no longer holds the watermark back (unless
//     every source is: then all of them count, so the idle rule above still closes windows).
//   - A source more than max_source_lag behind the most advanced counted source holds the
//     watermark back no further than that: a lagging (or hostile) source cannot keep every
//     window open, and in memory, for as long as it lags; its items beyond it are late.
//   - watermark = max(previous,
//                     max(min over counted sources of progress, max − max_source_lag)
//                     − allowed_lateness).
//   - At most max_sources sources are tracked. A new source beyond it evicts the one with the
//     oldest last item (counted in evictions()): the evicted source stops holding the
//     watermark back and is tracked afresh when it sends again.
//
// So a source whose clock runs ahead cannot make anyone's data late: items that arrive within
// allowed_lateness of their event time are never late. A source that lags by more (slow
// export) holds the watermark back, up to max_source_lag, while it is active and loses
// nothing but what it sent before it was first seen, if the watermark had passed that already;
// it delays every window's results by its lag — delay, not loss. A lone source (a replay of
// old data) is never lagging: the lag is measured against the other sources.
//
// Hot path: Observe() takes no lock and allocates only when a new source appears.
// Thread class: owned by one thread (the operator's); sources()/evictions() are relaxed
// atomics that other threads may read.

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "strobed/event/attribute.h"

namespace strobed::stream {

using SourceId = uint64_t;
inline constexpr SourceId kNoSource = 0;

class SourceKeys {
 public:
  // Interns the resource keys that identify a source. A key the table cannot hold is left out.
  static SourceKeys Intern(event::KeyTable& keys);
  // The source of an item with these resource attributes; kNoSource when none of the keys is
  // present. Allocation-free; thread-safe (const).
  SourceId Of(std::span<const event::Attribute> resource) const noexcept;

 private:
  static constexpr std::size_t kKeys = 4;
  std::optional<event::KeyId> keys_[kKeys];
};

struct WatermarkOptions {
  uint64_t allowed_lateness_ns = 0;
  uint64_t idle_timeout_ns = 0;  // 0: progress moves only with events
  uint64_t source_idle_timeout_ns = 30'000'000'000;
  uint64_t max_source_lag_ns = 60'000'000'000;
  std::size_t max_sources = 1'000;  // >= 1
};

class Watermark {
 public:
  explicit Watermark(const WatermarkOptions& options);

  // Records an item of `source` at event time `event_ns`, seen at wall time `wall_ns` (also for
  // items that are late: they tell where the source is).
  void Observe(SourceId source, uint64_t event_ns, uint64_t wall_ns) noexcept {
    SourceState* s = cached_ != nullptr && cached_->id == source ? cached_ : Find(source, wall_ns);
    if (event_ns > s->max_event_ns) s->max_event_ns = event_ns;
    s->last_wall_ns = wall_ns;
    cached_ = s;
  }
  // The watermark at wall time `wall_ns`: never decreases; 0 before the first item.
  uint64_t Current(uint64_t wall_ns) noexcept;

  // Sources tracked now, and sources evicted by the max_sources bound. Relaxed statistics.
  uint64_t sources() const { return sources_count_.load(std::memory_order_relaxed); }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  struct SourceState {
    SourceId id = kNoSource;
    uint64_t max_event_ns = 0;
    uint64_t last_wall_ns = 0;
  };
  SourceState* Find(SourceId source, uint64_t wall_ns) noexcept;

  WatermarkOptions options_;
  std::vector<SourceState> sources_;  // capacity max_sources: pointers stay valid
  std::unordered_map<SourceId, std::size_t> index_;
  SourceState* cached_ = nullptr;  // the source of the previous item
  uint64_t value_ = 0;
  std::atomic<uint64_t> sources_count_{0};
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace strobed::stream
