#pragma once

// Event-time windows keyed by a group-by of attributes: tumbling, sliding and session.
//
//   WindowSpec      what to window: match predicate, group_by keys, type and sizes,
//                   allowed lateness, idle timeout, key limit, aggregations
//   Watermark       event-time progress per source (watermark.h): the minimum over active
//                   sources of their largest event time, minus allowed lateness; a quiet
//                   source's progress moves on with wall time, so windows close when input stops
//   WindowOperator  the per-window state machine: Add() puts an item into its key's pane(s);
//                   Advance() closes every window whose end is <= the watermark and hands a
//                   WindowResult per (key, window) to a ResultSink
//
// Semantics (docs/design/windows.md has the full story):
//   - tumbling: [k*size, (k+1)*size); sliding: windows of `size` every `slide` (size must be a
//     multiple of slide; panes of `slide` are merged at emission); session: per key, a window
//     that extends while events arrive less than `gap` apart, emitted as [first, last + gap).
//   - An event is late when every window it belongs to has already been emitted (its end <=
//     the watermark at the last Advance). Late events are dropped and counted in
//     stats().late — never silently. Out-of-order events within the allowed lateness land in
//     their window.
//   - Events more than max_future_ns ahead of the wall clock are refused and counted in
//     stats().dropped_future (not clamped: a clamped time would land in the wrong window).
//     Within max_future a source's clock only moves its own progress, never another's.
//   - At most max_keys keys are live; items of new keys beyond it are dropped and counted.
//     Keys with no open window for key_ttl_ns of wall time are evicted.
//
// Hot path: Add() takes no lock, does not allocate once panes and keys are warm (panes are
// recycled through a free list), and never logs or throws.
//
// Thread class: a WindowOperator is owned by one thread (thread-compatible). Stats are
// relaxed atomics so other threads may read them.

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "strobed/event/attribute.h"
#include "strobed/stream/aggregation.h"
#include "strobed/stream/item.h"
#include "strobed/stream/predicate.h"
#include "strobed/stream/watermark.h"

namespace strobed::stream {

enum class WindowType : uint8_t { kTumbling, kSliding, kSession };
std::string_view WindowTypeName(WindowType type);

inline constexpr std::size_t kMaxGroupBy = 8;

struct WindowSpec {
  std::string name;
  WindowType type = WindowType::kTumbling;
  uint64_t size_ns = 1'000'000'000;
  uint64_t slide_ns = 1'000'000'000;  // == size_ns for tumbling
  uint64_t gap_ns = 0;                // session only
  uint64_t allowed_lateness_ns = 0;
  uint64_t idle_timeout_ns = 0;  // 0: the watermark advances only with events
  uint64_t max_future_ns = 5'000'000'000;
  uint64_t source_idle_timeout_ns = 30'000'000'000;  // a quieter source stops holding back
  uint64_t max_source_lag_ns = 60'000'000'000;       // a slower one holds back only this far
  std::size_t max_sources = 1'000;                   // sources tracked by the watermark
  uint64_t key_ttl_ns = 300'000'000'000;
  std::size_t max_keys = 10'000;
  std::vector<std::string> group_by;  // attribute names, at most kMaxGroupBy
  std::vector<event::KeyId> group_keys;
  Predicate match;
  AggregationPlan aggregations;
};

// One closed window of one key. Views are valid only during ResultSink::OnWindow.
struct WindowResult {
  const WindowSpec* spec = nullptr;
  std::span<const std::string> labels;  // values, parallel to spec->group_by
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  const AggState* state = nullptr;

  double seconds() const { return static_cast<double>(end_ns - start_ns) * 1e-9; }
  double Value(const AggSpec& spec_) const { return state->Value(spec_, seconds()); }
};

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual void OnWindow(const WindowResult& result) = 0;
};

struct WindowStats {
  // Written only by the operator's owner thread (load + store, no read-modify-write); read
  // relaxed by exposition on other threads. Independent statistics: no ordering needed.
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> late{0};
  std::atomic<uint64_t> dropped_key_limit{0};
  std::atomic<uint64_t> dropped_future{0};
  std::atomic<uint64_t> windows_emitted{0};
  std::atomic<uint64_t> keys_evicted{0};
  std::atomic<uint64_t> active_keys{0};
  std::atomic<uint64_t> watermark_ns{0};
};

class WindowOperator {
 public:
  // `spec` and `sink` must outlive the operator.
  WindowOperator(const WindowSpec& spec, ResultSink& sink);
  ~WindowOperator();
  WindowOperator(const WindowOperator&) = delete;
  WindowOperator& operator=(const WindowOperator&) = delete;

  // Adds `item` if it matches the spec. `wall_ns` is the current wall time (Unix ns);
  // `source` is who sent it (SourceKeys::Of; its clock moves only its own watermark).
  // Returns false when the item was dropped (late, key limit, future); each is counted.
  bool Add(const Item& item, uint64_t wall_ns, SourceId source = kNoSource) noexcept;

  // Closes and emits every window whose end is <= the watermark at `wall_ns`; evicts idle
  // keys. Call after each batch and periodically (idle watermarks need the calls).
  void Advance(uint64_t wall_ns);

  // Emits every open window regardless of the watermark (shutdown).
  void FlushAll();

  const WindowSpec& spec() const { return spec_; }
  const WindowStats& stats() const { return stats_; }
  // Sources tracked and evicted (relaxed statistics, readable from any thread).
  const Watermark& watermark() const { return watermark_; }
  std::size_t active_keys() const { return keys_.size(); }
  // The event time up to which windows are closed.
  uint64_t closed_ns() const { return closed_; }
  // Heap bytes of keys, panes and the index (for the memory-per-key figure).
  std::size_t bytes() const;

 private:
  struct Pane {
    uint64_t start;
    uint64_t end;  // session: last event time
    AggState* state;
  };
  struct KeyState {
    uint64_t hash = 0;
    std::vector<std::string> labels;
    std::vector<Pane> panes;  // sorted by start
    uint64_t last_wall_ns = 0;
  };

  int32_t FindOrAddKey(const Item& item, uint64_t wall_ns) noexcept;
  AggState* AcquireState();
  void ReleaseState(AggState* s) noexcept;
  bool AddWindowed(KeyState& key, const Item& item, uint64_t start) noexcept;
  uint64_t PaneStart(uint64_t t) noexcept {
    if (t >= cached_pane_start_ && t < cached_pane_end_) return cached_pane_start_;
    cached_pane_start_ = t - t % spec_.slide_ns;
    cached_pane_end_ = cached_pane_start_ + spec_.slide_ns;
    return cached_pane_start_;
  }
  bool AddSession(KeyState& key, const Item& item) noexcept;
  void CloseUpTo(uint64_t watermark);
  void Emit(const KeyState& key, uint64_t start, uint64_t end, const AggState& state);
  void RebuildIndex();

  const WindowSpec& spec_;
  ResultSink& sink_;
  Watermark watermark_;
  uint64_t closed_ = 0;  // every window with end <= closed_ has been emitted
  // Tumbling/sliding: no pane can close before this watermark (lets Advance skip the key scan
  // between window boundaries). UINT64_MAX when no pane is open.
  uint64_t earliest_close_ = UINT64_MAX;
  uint64_t next_evict_scan_ns_ = 0;  // wall time of the next idle-key scan
  // The pane of the previous item: items usually fall in it, saving a 64-bit division.
  uint64_t cached_pane_start_ = 1;
  uint64_t cached_pane_end_ = 0;
  std::vector<KeyState> keys_;
  std::vector<int32_t> index_;  // open addressing: key index + 1, 0 = empty
  std::vector<std::unique_ptr<AggState>> all_states_;
  std::vector<AggState*> free_states_;
  std::unique_ptr<AggState> scratch_;  // merge target for sliding windows
  std::vector<uint64_t> ends_;         // scratch for CloseUpTo
  std::string_view label_views_[kMaxGroupBy];
  char label_bufs_[kMaxGroupBy][32];
  WindowStats stats_;
};

}  // namespace strobed::stream
