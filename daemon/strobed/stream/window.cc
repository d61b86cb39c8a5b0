#include "strobed/stream/window.h"

#include <algorithm>

namespace strobed::stream {
namespace {
constexpr std::size_t kInitialIndex = 64;

// Single-writer counter: only the owner thread writes, so load + store (plain moves on x86)
// replaces a locked read-modify-write; readers on other threads see a recent value.
inline void Bump(std::atomic<uint64_t>& counter, uint64_t n) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
}  // namespace

std::string_view WindowTypeName(WindowType type) {
  switch (type) {
    case WindowType::kTumbling:
      return "tumbling";
    case WindowType::kSliding:
      return "sliding";
    case WindowType::kSession:
      return "session";
  }
  return "?";
}

WindowOperator::WindowOperator(const WindowSpec& spec, ResultSink& sink)
    : spec_(spec),
      sink_(sink),
      watermark_({spec.allowed_lateness_ns, spec.idle_timeout_ns, spec.source_idle_timeout_ns,
                  spec.max_source_lag_ns, spec.max_sources}),
      index_(kInitialIndex, 0),
      scratch_(std::make_unique<AggState>(spec.aggregations)) {
  keys_.reserve(std::min<std::size_t>(spec.max_keys, 1024));
}

WindowOperator::~WindowOperator() = default;

AggState* WindowOperator::AcquireState() {
  if (!free_states_.empty()) {
    AggState* s = free_states_.back();
    free_states_.pop_back();
    return s;
  }
  all_states_.push_back(std::make_unique<AggState>(spec_.aggregations));
  free_states_.reserve(all_states_.size());
  return all_states_.back().get();
}

void WindowOperator::ReleaseState(AggState* s) noexcept {
  s->Reset();
  free_states_.push_back(s);  // capacity reserved in AcquireState: no allocation
}

int32_t WindowOperator::FindOrAddKey(const Item& item, uint64_t wall_ns) noexcept {
  const std::size_t n = spec_.group_keys.size();
  uint64_t hash = 0x9e3779b97f4a7c15ULL;
  for (std::size_t i = 0; i < n; ++i) {
    label_views_[i] = ValueText(item.Find(spec_.group_keys[i]), label_bufs_[i]);
    hash = HashBytes(label_views_[i], hash + i);
  }
  const std::size_t mask = index_.size() - 1;
  std::size_t slot = hash & mask;
  while (index_[slot] != 0) {
    const int32_t k = index_[slot] - 1;
    KeyState& ks = keys_[static_cast<std::size_t>(k)];
    if (ks.hash == hash) {
      bool same = true;
      for (std::size_t i = 0; i < n && same; ++i) same = ks.labels[i] == label_views_[i];
      if (same) {
        ks.last_wall_ns = wall_ns;
        return k;
      }
    }
    slot = (slot + 1) & mask;
  }
  if (keys_.size() >= spec_.max_keys) return -1;
  // New key: allocates its label strings (once per key, not per event).
  KeyState ks;
  ks.hash = hash;
  ks.labels.reserve(n);
  for (std::size_t i = 0; i < n; ++i) ks.labels.emplace_back(label_views_[i]);
  ks.last_wall_ns = wall_ns;
  keys_.push_back(std::move(ks));
  const auto k = static_cast<int32_t>(keys_.size() - 1);
  index_[slot] = k + 1;
  stats_.active_keys.store(keys_.size(), std::memory_order_relaxed);
  if (keys_.size() * 2 > index_.size()) RebuildIndex();
  return k;
}

void WindowOperator::RebuildIndex() {
  std::size_t size = kInitialIndex;
  while (size < keys_.size() * 4) size *= 2;
  index_.assign(size, 0);
  const std::size_t mask = size - 1;
  for (std::size_t k = 0; k < keys_.size(); ++k) {
    std::size_t slot = keys_[k].hash & mask;
    while (index_[slot] != 0) slot = (slot + 1) & mask;
    index_[slot] = static_cast<int32_t>(k + 1);
  }
}

bool WindowOperator::Add(const Item& item, uint64_t wall_ns, SourceId source) noexcept {
  if (!spec_.match.Matches(item)) return false;
  if (item.time_ns > wall_ns + spec_.max_future_ns) {
    Bump(stats_.dropped_future, item.weight);
    return false;
  }
  watermark_.Observe(source, item.time_ns, wall_ns);
  // Late check before the key lookup, so late floods of new keys cost no key slots.
  uint64_t pane_start = 0;
  if (spec_.type != WindowType::kSession) {
    pane_start = PaneStart(item.time_ns);
    if (closed_ != 0 && pane_start + spec_.size_ns <= closed_) {
      Bump(stats_.late, item.weight);
      return false;
    }
  }
  const int32_t k = FindOrAddKey(item, wall_ns);
  if (k < 0) {
    Bump(stats_.dropped_key_limit, item.weight);
    return false;
  }
  KeyState& key = keys_[static_cast<std::size_t>(k)];
  const bool ok = spec_.type == WindowType::kSession ? AddSession(key, item)
                                                     : AddWindowed(key, item, pane_start);
  if (!ok) return false;
  Bump(stats_.accepted, item.weight);
  return true;
}

bool WindowOperator::AddWindowed(KeyState& key, const Item& item, uint64_t start) noexcept {
  auto& panes = key.panes;
  // Newest pane last; in-order input hits the first comparison.
  std::size_t i = panes.size();
  while (i > 0 && panes[i - 1].start > start) --i;
  if (i > 0 && panes[i - 1].start == start) {
    panes[i - 1].state->Add(item);
    return true;
  }
  Pane p{start, start + spec_.slide_ns, AcquireState()};
  panes.insert(panes.begin() + static_cast<std::ptrdiff_t>(i), p);
  // The first window containing this pane ends at start + slide.
  earliest_close_ = std::min(earliest_close_, start + spec_.slide_ns);
  p.state->Add(item);
  return true;
}

bool WindowOperator::AddSession(KeyState& key, const Item& item) noexcept {
  const uint64_t t = item.time_ns;
  const uint64_t gap = spec_.gap_ns;
  auto& s = key.panes;
  // Find a session this event extends: t within gap of [start, end].
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool joins = t + gap > s[i].start && t < s[i].end + gap;
    if (!joins) continue;
    s[i].start = std::min(s[i].start, t);
    s[i].end = std::max(s[i].end, t);
    s[i].state->Add(item);
    // The extension may bridge to the following session: merge them.
    while (i + 1 < s.size() && s[i + 1].start < s[i].end + gap) {
      s[i].state->Merge(*s[i + 1].state);
      s[i].end = std::max(s[i].end, s[i + 1].end);
      ReleaseState(s[i + 1].state);
      s.erase(s.begin() + static_cast<std::ptrdiff_t>(i + 1));
    }
    if (i > 0 && s[i].start < s[i - 1].end + gap) {
      s[i - 1].state->Merge(*s[i].state);
      s[i - 1].end = std::max(s[i - 1].end, s[i].end);
      ReleaseState(s[i].state);
      s.erase(s.begin() + static_cast<std::ptrdiff_t>(i));
    }
    return true;
  }
  if (closed_ != 0 && t + gap <= closed_) {
    Bump(stats_.late, item.weight);
    return false;
  }
  std::size_t pos = 0;
  while (pos < s.size() && s[pos].start < t) ++pos;
  Pane p{t, t, AcquireState()};
  s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), p);
  p.state->Add(item);
  return true;
}

void WindowOperator::Emit(const KeyState& key, uint64_t start, uint64_t end,
                          const AggState& state) {
  WindowResult r;
  r.spec = &spec_;
  r.labels = key.labels;
  r.start_ns = start;
  r.end_ns = end;
  r.state = &state;
  sink_.OnWindow(r);
  Bump(stats_.windows_emitted, 1);
}

void WindowOperator::CloseUpTo(uint64_t watermark) {
  if (watermark <= closed_) return;
  if (spec_.type != WindowType::kSession && watermark < earliest_close_) {
    closed_ = watermark;  // no window ends in (closed_, watermark]: nothing to scan
    return;
  }
  uint64_t earliest = UINT64_MAX;
  for (KeyState& key : keys_) {
    auto& panes = key.panes;
    if (panes.empty()) continue;
    if (spec_.type == WindowType::kSession) {
      std::size_t kept = 0;
      for (std::size_t i = 0; i < panes.size(); ++i) {
        if (panes[i].end + spec_.gap_ns <= watermark) {
          Emit(key, panes[i].start, panes[i].end + spec_.gap_ns, *panes[i].state);
          ReleaseState(panes[i].state);
        } else {
          panes[kept++] = panes[i];
        }
      }
      panes.resize(kept);
      continue;
    }
    if (spec_.slide_ns == spec_.size_ns) {  // tumbling: a pane is a window
      std::size_t kept = 0;
      for (std::size_t i = 0; i < panes.size(); ++i) {
        const uint64_t end = panes[i].start + spec_.size_ns;
        if (end <= watermark) {
          Emit(key, panes[i].start, end, *panes[i].state);
          ReleaseState(panes[i].state);
        } else {
          earliest = std::min(earliest, end);
          panes[kept++] = panes[i];
        }
      }
      panes.resize(kept);
      continue;
    }
    // Sliding: every window end in (closed_, watermark] that covers at least one pane.
    ends_.clear();
    for (const Pane& p : panes) {
      for (uint64_t e = p.start + spec_.slide_ns; e <= p.start + spec_.size_ns;
           e += spec_.slide_ns) {
        if (e > closed_ && e <= watermark) ends_.push_back(e);
      }
    }
    std::sort(ends_.begin(), ends_.end());
    ends_.erase(std::unique(ends_.begin(), ends_.end()), ends_.end());
    for (uint64_t end : ends_) {
      const uint64_t start = end - spec_.size_ns;
      scratch_->Reset();
      for (const Pane& p : panes) {
        if (p.start >= start && p.start < end) scratch_->Merge(*p.state);
      }
      if (scratch_->count() > 0) Emit(key, start, end, *scratch_);
    }
    std::size_t kept = 0;
    for (std::size_t i = 0; i < panes.size(); ++i) {
      if (panes[i].start + spec_.size_ns <= watermark) {
        ReleaseState(panes[i].state);
      } else {
        // Next window end containing this pane after the watermark.
        const uint64_t first_end = panes[i].start + spec_.slide_ns;
        uint64_t next = first_end;
        if (next <= watermark) {
          next += ((watermark - first_end) / spec_.slide_ns + 1) * spec_.slide_ns;
        }
        earliest = std::min(earliest, next);
        panes[kept++] = panes[i];
      }
    }
    panes.resize(kept);
  }
  earliest_close_ = earliest;
  closed_ = watermark;
}

void WindowOperator::Advance(uint64_t wall_ns) {
  const uint64_t w = watermark_.Current(wall_ns);
  stats_.watermark_ns.store(w, std::memory_order_relaxed);
  CloseUpTo(w);
  // Evict keys with no open window that have been idle for key_ttl (scan at most once per
  // second of wall time: the scan touches every key).
  if (wall_ns < next_evict_scan_ns_) return;
  next_evict_scan_ns_ = wall_ns + 1'000'000'000;
  bool evicted = false;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    KeyState& k = keys_[i];
    if (k.panes.empty() && wall_ns > k.last_wall_ns + spec_.key_ttl_ns) {
      evicted = true;
      Bump(stats_.keys_evicted, 1);
      continue;
    }
    if (kept != i) keys_[kept] = std::move(k);
    ++kept;
  }
  if (evicted) {
    keys_.resize(kept);
    RebuildIndex();
    stats_.active_keys.store(keys_.size(), std::memory_order_relaxed);
  }
}

void WindowOperator::FlushAll() { CloseUpTo(UINT64_MAX - spec_.size_ns - spec_.gap_ns); }

std::size_t WindowOperator::bytes() const {
  std::size_t b = index_.capacity() * sizeof(int32_t) + keys_.capacity() * sizeof(KeyState);
  for (const KeyState& k : keys_) {
    b += k.panes.capacity() * sizeof(Pane) + k.labels.capacity() * sizeof(std::string);
    for (const std::string& l : k.labels) b += l.capacity() > 15 ? l.capacity() + 1 : 0;
  }
  for (const auto& s : all_states_) b += s->bytes();
  return b;
}

}  // namespace strobed::stream
