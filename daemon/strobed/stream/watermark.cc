#include "strobed/stream/watermark.h"

#include <algorithm>

#include "strobed/stream/aggregation.h"
#include "strobed/stream/predicate.h"

namespace strobed::stream {

SourceKeys SourceKeys::Intern(event::KeyTable& keys) {
  SourceKeys k;
  k.keys_[0] = keys.Intern("service.name");
  k.keys_[1] = keys.Intern("service.instance.id");
  k.keys_[2] = keys.Intern("host.name");
  k.keys_[3] = keys.Intern("process.pid");  // the shm receiver's producer
  return k;
}

SourceId SourceKeys::Of(std::span<const event::Attribute> resource) const noexcept {
  if (resource.empty()) return kNoSource;
  uint64_t hash = 0x6a09e667f3bcc909ULL;
  bool any = false;
  char buf[32];
  for (std::size_t i = 0; i < kKeys; ++i) {
    const event::Value* v = keys_[i] ? event::FindAttribute(resource, *keys_[i]) : nullptr;
    // Absent and empty hash differently from each other only through `any`; the key index
    // in the seed keeps "a" as service.name apart from "a" as host.name.
    if (v != nullptr) any = true;
    hash = HashBytes(ValueText(v, buf), hash + i);
  }
  if (!any) return kNoSource;
  return hash == kNoSource ? 1 : hash;
}

Watermark::Watermark(const WatermarkOptions& options) : options_(options) {
  options_.max_sources = std::max<std::size_t>(options_.max_sources, 1);
}

Watermark::SourceState* Watermark::Find(SourceId source, uint64_t wall_ns) noexcept {
  if (auto it = index_.find(source); it != index_.end()) return &sources_[it->second];
  if (sources_.size() >= options_.max_sources) {
    // Evict the source whose last item is oldest: it is the one least likely to hold the
    // watermark back for a reason. O(max_sources), paid only by a new source at the bound.
    std::size_t oldest = 0;
    for (std::size_t i = 1; i < sources_.size(); ++i) {
      if (sources_[i].last_wall_ns < sources_[oldest].last_wall_ns) oldest = i;
    }
    index_.erase(sources_[oldest].id);
    if (oldest != sources_.size() - 1) {
      sources_[oldest] = sources_.back();
      index_[sources_[oldest].id] = oldest;
    }
    sources_.pop_back();
    evictions_.store(evictions_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // A new source: allocates (vector growth, index node) once per source, not per item.
  sources_.push_back({source, 0, wall_ns});
  index_[source] = sources_.size() - 1;
  sources_count_.store(sources_.size(), std::memory_order_relaxed);
  cached_ = nullptr;  // the vector may have moved
  return &sources_.back();
}

uint64_t Watermark::Current(uint64_t wall_ns) noexcept {
  if (sources_.empty()) return value_;
  // Progress of each source: its largest event time, moving on with wall time once the source
  // has been quiet for idle_timeout; never past the wall clock (an event time ahead of it says
  // nothing about what other sources have still to send).
  auto progress = [&](const SourceState& s) {
    const uint64_t quiet = wall_ns > s.last_wall_ns ? wall_ns - s.last_wall_ns : 0;
    uint64_t p = s.max_event_ns;
    if (options_.idle_timeout_ns > 0 && quiet >= options_.idle_timeout_ns) p += quiet;
    return std::min(p, wall_ns);
  };
  uint64_t active_min = UINT64_MAX, active_max = 0;
  uint64_t all_min = UINT64_MAX, all_max = 0;
  for (const SourceState& s : sources_) {
    const uint64_t p = progress(s);
    all_min = std::min(all_min, p);
    all_max = std::max(all_max, p);
    const uint64_t quiet = wall_ns > s.last_wall_ns ? wall_ns - s.last_wall_ns : 0;
    if (quiet < options_.source_idle_timeout_ns) {
      active_min = std::min(active_min, p);
      active_max = std::max(active_max, p);
    }
  }
  // Every source silent for source_idle_timeout: all of them count, so the idle rule still
  // closes the last windows.
  const bool any_active = active_min != UINT64_MAX;
  uint64_t p = any_active ? active_min : all_min;
  // A slow source holds the others back by at most max_source_lag: beyond it, its own items
  // are late rather than every window's panes staying open (memory) for as long as it lags.
  const uint64_t lead = any_active ? active_max : all_max;
  if (lead > options_.max_source_lag_ns) p = std::max(p, lead - options_.max_source_lag_ns);
  if (p > options_.allowed_lateness_ns) value_ = std::max(value_, p - options_.allowed_lateness_ns);
  return value_;
}

}  // namespace strobed::stream
