#include "strobed/stream/metric_deltas.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>

#include "strobed/stream/aggregation.h"

namespace strobed::stream {
namespace {

using event::MetricType;
using event::Temporality;

// Map node, bucket pointer and string header of one series, beyond its key and State.
constexpr std::size_t kEntryOverhead = 64;
// Nested attribute values (arrays, kv lists) deeper than this add only their type to the key.
constexpr int kMaxKeyDepth = 8;

template <typename T>
void AppendRaw(std::string& out, const T& v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

void AppendAttributes(std::string& out, std::span<const event::Attribute> attrs, int depth);

// Type tag, then a self-delimiting encoding: distinct values give distinct keys.
void AppendValue(std::string& out, const event::Value& v, int depth) {
  out.push_back(static_cast<char>(v.type()));
  switch (v.type()) {
    case event::ValueType::kEmpty:
      break;
    case event::ValueType::kString:
      AppendRaw(out, static_cast<uint32_t>(v.AsString().size()));
      out.append(v.AsString());
      break;
    case event::ValueType::kBytes: {
      const std::span<const uint8_t> b = v.AsBytes();
      AppendRaw(out, static_cast<uint32_t>(b.size()));
      out.append(reinterpret_cast<const char*>(b.data()), b.size());
      break;
    }
    case event::ValueType::kBool:
      out.push_back(v.AsBool() ? '\1' : '\0');
      break;
    case event::ValueType::kInt:
      AppendRaw(out, v.AsInt());
      break;
    case event::ValueType::kDouble:
      AppendRaw(out, v.AsDouble());
      break;
    case event::ValueType::kArray:
      if (depth >= kMaxKeyDepth) break;
      AppendRaw(out, static_cast<uint32_t>(v.AsArray().size()));
      for (const event::Value& e : v.AsArray()) AppendValue(out, e, depth + 1);
      break;
    case event::ValueType::kKvList:
      if (depth >= kMaxKeyDepth) break;
      AppendAttributes(out, v.AsKvList(), depth + 1);
      break;
  }
}

void AppendAttributes(std::string& out, std::span<const event::Attribute> attrs, int depth) {
  AppendRaw(out, static_cast<uint32_t>(attrs.size()));
  for (const event::Attribute& a : attrs) {
    AppendRaw(out, a.key.index);
    AppendValue(out, a.value, depth);
  }
}

// Geometric midpoint of exponential bucket `index` at `scale`: (base^i, base^(i+1)] with
// base = 2^(2^-scale). Every value of the bucket is within a factor base^(1/2) of it.
double ExpMidpoint(int64_t index, int32_t scale) {
  return std::exp2((static_cast<double>(index) + 0.5) * std::ldexp(1.0, -scale));
}

// The count of bucket `index` in (offset, counts); 0 outside.
uint64_t CountAt(int32_t offset, std::span<const uint64_t> counts, int64_t index) {
  const int64_t k = index - offset;
  return k >= 0 && k < static_cast<int64_t>(counts.size()) ? counts[static_cast<std::size_t>(k)]
                                                           : 0;
}

// True when every bucket of `prev` is <= the same bucket of `cur` (no bucket went down).
bool Covers(int32_t cur_offset, std::span<const uint64_t> cur, int32_t prev_offset,
            std::span<const uint64_t> prev) {
  for (std::size_t j = 0; j < prev.size(); ++j) {
    if (prev[j] == 0) continue;
    if (CountAt(cur_offset, cur, int64_t{prev_offset} + static_cast<int64_t>(j)) < prev[j]) {
      return false;
    }
  }
  return true;
}

bool ValidExplicit(const event::HistogramData* h, std::size_t max_buckets) {
  if (h == nullptr || !std::isfinite(h->sum)) return false;
  if (h->explicit_bounds.size() + 1 > max_buckets) return false;
  if (!h->bucket_counts.empty() && h->bucket_counts.size() != h->explicit_bounds.size() + 1) {
    return false;
  }
  for (std::size_t i = 0; i < h->explicit_bounds.size(); ++i) {
    if (!std::isfinite(h->explicit_bounds[i])) return false;
    if (i > 0 && !(h->explicit_bounds[i] > h->explicit_bounds[i - 1])) return false;
  }
  return true;
}

bool ValidExponential(const event::ExponentialHistogramData* e, std::size_t max_buckets) {
  return e != nullptr && std::isfinite(e->sum) && e->scale >= -10 && e->scale <= 20 &&
         e->positive.counts.size() + e->negative.counts.size() <= max_buckets;
}

}  // namespace

std::size_t MetricDeltas::StringHash::operator()(std::string_view s) const noexcept {
  return static_cast<std::size_t>(HashBytes(s));
}

MetricDeltas::MetricDeltas(MetricDeltaOptions options) : options_(options) {}

void MetricDeltas::Drop(std::atomic<uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

bool MetricDeltas::FirstPointCounts(const event::MetricPoint& p) const {
  return p.start_time_ns != 0 && p.start_time_ns <= p.time_ns &&
         p.time_ns - p.start_time_ns <= options_.first_point_max_age_ns;
}

MetricDeltas::State* MetricDeltas::Lookup(const event::MetricPoint& p, uint64_t wall_ns,
                                          bool& fresh) {
  key_.clear();
  key_.push_back(static_cast<char>(p.type));
  AppendRaw(key_, static_cast<uint32_t>(p.name.size()));
  key_.append(p.name);
  AppendAttributes(
      key_, p.resource != nullptr ? p.resource->attributes : std::span<const event::Attribute>{},
      0);
  AppendAttributes(key_, p.labels, 0);
  auto it = series_.find(std::string_view(key_));
  if (it != series_.end()) {
    fresh = false;
    it->second.wall_ns = wall_ns;
    return &it->second;
  }
  const std::size_t need = key_.size() + sizeof(State) + kEntryOverhead;
  if (series_.size() >= options_.max_series || bytes_ + need > options_.max_bytes) {
    Drop(stats_.dropped_limit);
    return nullptr;
  }
  it = series_.emplace(key_, State{}).first;
  bytes_ += need;
  State& s = it->second;
  s.type = p.type;
  s.wall_ns = wall_ns;
  fresh = true;
  stats_.series.store(series_.size(), std::memory_order_relaxed);
  stats_.bytes.store(bytes_, std::memory_order_relaxed);
  return &s;
}

void MetricDeltas::Track(State& s) {
  // The bytes of the arrays; the entry itself was counted in Lookup.
  const std::size_t now = (s.pos.capacity() + s.neg.capacity()) * sizeof(uint64_t) +
                          s.bounds.capacity() * sizeof(double);
  const std::size_t before = s.bytes;
  bytes_ = bytes_ - before + now;
  s.bytes = now;
  stats_.bytes.store(bytes_, std::memory_order_relaxed);
}

void MetricDeltas::EvictIdle(uint64_t wall_ns) {
  uint64_t evicted = 0;
  for (auto it = series_.begin(); it != series_.end();) {
    if (it->second.wall_ns + options_.idle_ttl_ns < wall_ns) {
      bytes_ -= it->first.size() + sizeof(State) + kEntryOverhead + it->second.bytes;
      it = series_.erase(it);
      ++evicted;
    } else {
      ++it;
    }
  }
  if (evicted == 0) return;
  stats_.evicted_idle.store(stats_.evicted_idle.load(std::memory_order_relaxed) + evicted,
                            std::memory_order_relaxed);
  stats_.series.store(series_.size(), std::memory_order_relaxed);
  stats_.bytes.store(bytes_, std::memory_order_relaxed);
}

bool MetricDeltas::ToItem(const event::MetricPoint& p, uint64_t wall_ns, Item& item) {
  bool fresh = false;
  switch (p.type) {
    case MetricType::kGauge: {
      const double v = p.Number();
      if (!std::isfinite(v)) break;
      item.value = v;
      return true;
    }
    case MetricType::kSum: {
      const double v = p.Number();
      if (!std::isfinite(v)) break;
      if (p.temporality == Temporality::kDelta) {
        if (p.is_monotonic && v < 0) break;
        if (v == 0) return false;  // nothing happened
        item.value = v;
        item.counter = true;
        return true;
      }
      if (!p.is_monotonic) {
        item.value = v;  // an up-down sum reports a level, like a gauge
        return true;
      }
      if (p.temporality != Temporality::kCumulative || v < 0) break;
      State* s = Lookup(p, wall_ns, fresh);
      return s != nullptr && Counter(p, *s, fresh, item);
    }
    case MetricType::kHistogram: {
      if (!ValidExplicit(p.histogram, options_.max_buckets)) break;
      if (p.temporality == Temporality::kDelta) return Explicit(p, nullptr, false, item);
      if (p.temporality != Temporality::kCumulative) break;
      State* s = Lookup(p, wall_ns, fresh);
      return s != nullptr && Explicit(p, s, fresh, item);
    }
    case MetricType::kExponentialHistogram: {
      if (!ValidExponential(p.exp_histogram, options_.max_buckets)) break;
      if (p.temporality == Temporality::kDelta) return Exponential(p, nullptr, false, item);
      if (p.temporality != Temporality::kCumulative) break;
      State* s = Lookup(p, wall_ns, fresh);
      return s != nullptr && Exponential(p, s, fresh, item);
    }
    case MetricType::kSummary: {
      // OTLP summaries are cumulative by definition (they carry no temporality).
      if (p.summary == nullptr || !std::isfinite(p.summary->sum)) break;
      State* s = Lookup(p, wall_ns, fresh);
      return s != nullptr && Summary(p, *s, fresh, item);
    }
  }
  Drop(stats_.dropped_invalid);
  return false;
}

bool MetricDeltas::Counter(const event::MetricPoint& p, State& s, bool fresh, Item& item) {
  const double v = p.Number();
  if (!fresh && p.time_ns < s.time_ns) {
    Drop(stats_.dropped_out_of_order);
    return false;
  }
  double delta = 0;
  if (fresh) {
    if (FirstPointCounts(p)) {
      delta = v;
    } else {
      Drop(stats_.baselines);
    }
  } else if ((p.start_time_ns != 0 && s.start_ns != 0 && p.start_time_ns != s.start_ns) ||
             v < s.value) {
    Drop(stats_.resets);
    delta = v;
  } else {
    delta = v - s.value;
  }
  s.value = v;
  s.start_ns = p.start_time_ns;
  s.time_ns = p.time_ns;
  if (!(delta > 0)) return false;
  item.value = delta;
  item.counter = true;
  return true;
}

bool MetricDeltas::Emit(const Delta& d, bool has_min_max, double min, double max, Item& item) {
  if (d.count == 0) return false;
  const double mean = d.sum / static_cast<double>(d.count);
  distribution_.sum = d.sum;
  if (has_min_max) {
    distribution_.min = min;
    distribution_.max = max;
  } else if (any_bucket_) {
    distribution_.min = lowest_;
    distribution_.max = highest_;
  } else {
    distribution_.min = distribution_.max = mean;  // no buckets (summary): only the mean
  }
  distribution_.buckets = &buckets_;
  item.weight = d.count;
  item.value = mean;
  item.distribution = &distribution_;
  return true;
}

bool MetricDeltas::Explicit(const event::MetricPoint& p, State* s, bool fresh, Item& item) {
  const event::HistogramData& h = *p.histogram;
  const std::span<const double> bounds = h.explicit_bounds;
  const std::span<const uint64_t> cur = h.bucket_counts;
  Delta d;
  bool whole = true;  // the point is a whole run (else: minus `prev`)
  bool contributes = true;
  std::span<const uint64_t> prev;
  bool prev_min_max = false;
  double prev_min = 0;
  double prev_max = 0;
  if (s == nullptr) {
    d.reset = true;  // delta temporality
  } else if (fresh) {
    d.reset = FirstPointCounts(p);
    if (!d.reset) {
      Drop(stats_.baselines);
      contributes = false;
    }
  } else {
    if (p.time_ns < s->time_ns) {
      Drop(stats_.dropped_out_of_order);
      return false;
    }
    const bool same_layout =
        std::equal(bounds.begin(), bounds.end(), s->bounds.begin(), s->bounds.end()) &&
        cur.size() == s->pos.size();
    bool down = h.count < s->count ||
                (p.start_time_ns != 0 && s->start_ns != 0 && p.start_time_ns != s->start_ns);
    for (std::size_t i = 0; same_layout && !down && i < cur.size(); ++i) {
      down = cur[i] < s->pos[i];
    }
    if (down) {
      Drop(stats_.resets);
      d.reset = true;
    } else if (!same_layout) {
      Drop(stats_.baselines);  // other bounds: cannot be differenced
      contributes = false;
    } else {
      whole = false;
      prev = s->pos;
      prev_min_max = s->has_min_max;
      prev_min = s->min;
      prev_max = s->max;
    }
  }
  if (contributes) {
    d.count = whole ? h.count : h.count - s->count;
    d.sum = whole ? h.sum : h.sum - s->value;
    // Each bucket's count at its representative value: the midpoint of (lower, upper]; the
    // first bucket's lower bound is 0 when its upper bound is positive (as Prometheus'
    // histogram_quantile assumes); the +Inf bucket is reported at the highest finite bound.
    buckets_.Clear();
    any_bucket_ = false;
    const std::size_t k = bounds.size();
    for (std::size_t i = 0; k > 0 && i < cur.size(); ++i) {
      const uint64_t n = cur[i] - (whole ? 0 : prev[i]);
      if (n == 0) continue;
      double rep = 0;
      if (i == 0) {
        rep = bounds[0] > 0 ? bounds[0] / 2 : bounds[0];
      } else if (i == k) {
        rep = bounds[k - 1];
      } else {
        rep = bounds[i - 1] + (bounds[i] - bounds[i - 1]) / 2;
      }
      if (!any_bucket_) lowest_ = rep;
      highest_ = rep;
      any_bucket_ = true;
      if (rep >= 0) buckets_.Record(rep, n);  // negative observations: count and sum only
    }
  }
  if (s != nullptr) {
    if (s->bounds.size() != bounds.size() || s->pos.size() != cur.size()) {
      const std::size_t grow = (bounds.size() + cur.size()) * 8;
      if (grow > s->bytes && bytes_ + (grow - s->bytes) > options_.max_bytes) {
        Drop(stats_.dropped_limit);
        return false;
      }
    }
    s->bounds.assign(bounds.begin(), bounds.end());
    s->pos.assign(cur.begin(), cur.end());
    Track(*s);
    s->count = h.count;
    s->value = h.sum;
    s->has_min_max = h.has_min_max;
    s->min = h.min;
    s->max = h.max;
    s->start_ns = p.start_time_ns;
    s->time_ns = p.time_ns;
  }
  if (!contributes) return false;
  if (h.has_min_max && whole) return Emit(d, true, h.min, h.max, item);
  if (h.has_min_max && any_bucket_) {
    // A new extreme was observed in this interval: exact. Otherwise the bucket estimate,
    // which cannot lie beyond the series' extremes.
    const double max = prev_min_max && h.max > prev_max ? h.max : std::min(highest_, h.max);
    const double min = prev_min_max && h.min < prev_min ? h.min : std::max(lowest_, h.min);
    return Emit(d, true, min, max, item);
  }
  return Emit(d, false, 0, 0, item);
}

bool MetricDeltas::Exponential(const event::MetricPoint& p, State* s, bool fresh, Item& item) {
  const event::ExponentialHistogramData& e = *p.exp_histogram;
  Delta d;
  bool whole = true;
  int32_t prev_pos_offset = 0;
  int32_t prev_neg_offset = 0;
  std::span<const uint64_t> prev_pos;
  std::span<const uint64_t> prev_neg;
  uint64_t prev_zero = 0;
  bool prev_min_max = false;
  double prev_min = 0;
  double prev_max = 0;
  bool contributes = true;
  if (s == nullptr) {
    d.reset = true;
  } else if (fresh) {
    d.reset = FirstPointCounts(p);
    if (!d.reset) {
      Drop(stats_.baselines);
      contributes = false;
    }
  } else {
    if (p.time_ns < s->time_ns) {
      Drop(stats_.dropped_out_of_order);
      return false;
    }
    bool down = e.count < s->count || e.zero_count < s->zero_count ||
                (p.start_time_ns != 0 && s->start_ns != 0 && p.start_time_ns != s->start_ns);
    if (!down && e.scale > s->scale) {
      Drop(stats_.baselines);  // finer than before without a reset: cannot be differenced
      contributes = false;
    } else if (!down) {
      if (e.scale < s->scale) {
        // OpenTelemetry SDKs lower the scale as the range grows: previous buckets, coarser.
        strobe::metrics::ExponentialBuckets pos =
            strobe::metrics::Downscale(s->scale, s->pos_offset, s->pos, e.scale);
        strobe::metrics::ExponentialBuckets neg =
            strobe::metrics::Downscale(s->scale, s->neg_offset, s->neg, e.scale);
        scratch_pos_ = std::move(pos.counts);
        scratch_neg_ = std::move(neg.counts);
        prev_pos_offset = pos.offset;
        prev_neg_offset = neg.offset;
        prev_pos = scratch_pos_;
        prev_neg = scratch_neg_;
      } else {
        prev_pos_offset = s->pos_offset;
        prev_neg_offset = s->neg_offset;
        prev_pos = s->pos;
        prev_neg = s->neg;
      }
      down = !Covers(e.positive.offset, e.positive.counts, prev_pos_offset, prev_pos) ||
             !Covers(e.negative.offset, e.negative.counts, prev_neg_offset, prev_neg);
    }
    if (down) {
      Drop(stats_.resets);
      d.reset = true;
    } else if (contributes) {
      whole = false;
      prev_zero = s->zero_count;
      prev_min_max = s->has_min_max;
      prev_min = s->min;
      prev_max = s->max;
    }
  }
  if (contributes) {
    d.count = whole ? e.count : e.count - s->count;
    d.sum = whole ? e.sum : e.sum - s->value;
    buckets_.Clear();
    any_bucket_ = false;
    // Walk from the lowest value up: negative buckets by descending index, zero, positive.
    const std::span<const uint64_t> neg = e.negative.counts;
    for (std::size_t j = neg.size(); j-- > 0;) {
      const int64_t index = int64_t{e.negative.offset} + static_cast<int64_t>(j);
      const uint64_t n = neg[j] - (whole ? 0 : CountAt(prev_neg_offset, prev_neg, index));
      if (n == 0) continue;
      const double rep = -ExpMidpoint(index, e.scale);
      if (!std::isfinite(rep)) continue;  // an absurd index: counted, not placed
      if (!any_bucket_) lowest_ = rep;
      highest_ = rep;
      any_bucket_ = true;
    }
    const uint64_t zeros = e.zero_count - prev_zero;
    if (zeros != 0) {
      if (!any_bucket_) lowest_ = 0;
      highest_ = 0;
      any_bucket_ = true;
      buckets_.Record(0, zeros);
    }
    const std::span<const uint64_t> pos = e.positive.counts;
    for (std::size_t j = 0; j < pos.size(); ++j) {
      const int64_t index = int64_t{e.positive.offset} + static_cast<int64_t>(j);
      const uint64_t n = pos[j] - (whole ? 0 : CountAt(prev_pos_offset, prev_pos, index));
      if (n == 0) continue;
      const double rep = ExpMidpoint(index, e.scale);
      if (!std::isfinite(rep)) continue;  // an absurd index: counted, not placed
      if (!any_bucket_) lowest_ = rep;
      highest_ = rep;
      any_bucket_ = true;
      buckets_.Record(rep, n);
    }
  }
  if (s != nullptr) {
    const std::size_t need = (e.positive.counts.size() + e.negative.counts.size()) * 8;
    if (need > s->bytes && bytes_ + (need - s->bytes) > options_.max_bytes) {
      Drop(stats_.dropped_limit);
      return false;
    }
    s->scale = e.scale;
    s->zero_count = e.zero_count;
    s->pos_offset = e.positive.offset;
    s->neg_offset = e.negative.offset;
    s->pos.assign(e.positive.counts.begin(), e.positive.counts.end());
    s->neg.assign(e.negative.counts.begin(), e.negative.counts.end());
    Track(*s);
    s->count = e.count;
    s->value = e.sum;
    s->has_min_max = e.has_min_max;
    s->min = e.min;
    s->max = e.max;
    s->start_ns = p.start_time_ns;
    s->time_ns = p.time_ns;
  }
  if (!contributes) return false;
  if (e.has_min_max && whole) return Emit(d, true, e.min, e.max, item);
  if (e.has_min_max && any_bucket_) {
    const double max = prev_min_max && e.max > prev_max ? e.max : std::min(highest_, e.max);
    const double min = prev_min_max && e.min < prev_min ? e.min : std::max(lowest_, e.min);
    return Emit(d, true, min, max, item);
  }
  return Emit(d, false, 0, 0, item);
}

bool MetricDeltas::Summary(const event::MetricPoint& p, State& s, bool fresh, Item& item) {
  const event::SummaryData& sm = *p.summary;
  Delta d;
  bool whole = true;
  bool contributes = true;
  if (fresh) {
    contributes = FirstPointCounts(p);
    if (!contributes) Drop(stats_.baselines);
  } else {
    if (p.time_ns < s.time_ns) {
      Drop(stats_.dropped_out_of_order);
      return false;
    }
    if (sm.count < s.count ||
        (p.start_time_ns != 0 && s.start_ns != 0 && p.start_time_ns != s.start_ns)) {
      Drop(stats_.resets);
    } else {
      whole = false;
    }
  }
  d.count = whole ? sm.count : sm.count - s.count;
  d.sum = whole ? sm.sum : sm.sum - s.value;
  s.count = sm.count;
  s.value = sm.sum;
  s.start_ns = p.start_time_ns;
  s.time_ns = p.time_ns;
  if (!contributes) return false;
  buckets_.Clear();
  any_bucket_ = false;
  if (!Emit(d, false, 0, 0, item)) return false;
  distribution_.buckets = nullptr;  // a summary's quantiles cannot be merged
  return true;
}

}  // namespace strobed::stream
