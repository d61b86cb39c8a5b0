#pragma once

// stream::MetricDeltas: what a metric point contributes to windows. Producers report counters
// and histograms cumulatively (the total since the series started); a window must see the
// observations made during it. MetricDeltas keeps, per series, the previous cumulative point
// and hands each new point to ForEachItem (item.h) as the difference:
//
//   gauge, cumulative non-monotonic sum   the value, as it is (a level, not an increase)
//   monotonic sum (counter)               the increase since the previous point
//                                         (item.counter = true); a point with no increase
//                                         contributes nothing
//   delta sum                             its value, as it is (item.counter = true)
//   histogram, exponential histogram      the observations since the previous point: count
//                                         (item.weight), sum, min/max and bucket counts, as an
//                                         item.distribution; delta points as they are
//   summary                               count and sum since the previous point (its
//                                         quantiles cannot be merged)
//
// Series identity: point type, metric name, resource attributes and point attributes (in
// the order the producer sends them).
//
// Resets (as Prometheus' rate() treats them): a cumulative value, count or bucket count that
// goes down, or a new start time, starts a new run; the new point's full value is then the
// delta. A histogram whose bucket layout changes without a reset (other explicit bounds, a
// finer exponential scale) cannot be differenced: the point becomes the new baseline. A
// coarser exponential scale (OpenTelemetry SDKs downscale as the range grows) is handled by
// downscaling the previous buckets.
//
// The first point of a series counts from zero (its full value is its increase since its
// start time) when its start time is known, not after its time, and at most
// first_point_max_age before it (the engine uses its longest window). Otherwise the increase
// it carries may have happened long before any open window, so it only serves as the
// baseline, as Prometheus treats the first sample of a counter. Points older than the
// series' last point are dropped (out of order).
//
// Bounded memory: state is held for at most max_series series and max_bytes bytes (keys and
// bucket arrays); points of series beyond either are dropped and counted. A series with no
// point for idle_ttl of wall time is forgotten by EvictIdle() (counted); its next point is a
// first point again.
//
// Thread class: thread-compatible (the engine calls it under its processing mutex). Stats
// are relaxed atomics, written by the owner only, readable from any thread.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "strobe/metrics/histogram_data.h"
#include "strobed/event/metric.h"
#include "strobed/stream/item.h"

namespace strobed::stream {

struct MetricDeltaOptions {
  std::size_t max_series = 100'000;
  std::size_t max_bytes = std::size_t{64} << 20;
  uint64_t idle_ttl_ns = 600'000'000'000;  // 10 minutes
  // 0: every first cumulative point is a baseline.
  uint64_t first_point_max_age_ns = 0;
  // Points carrying more buckets than this (both sides of an exponential histogram together)
  // are dropped as invalid: one point must not take a large part of max_bytes.
  std::size_t max_buckets = 16'384;
};

struct MetricDeltaStats {
  // Relaxed: independent statistics written by the owner thread (load + store).
  std::atomic<uint64_t> series{0};                // series held now
  std::atomic<uint64_t> bytes{0};                 // bytes they hold (approximate: keys, buckets)
  std::atomic<uint64_t> evicted_idle{0};          // series forgotten after idle_ttl
  std::atomic<uint64_t> baselines{0};             // points kept only as the baseline of later ones
  std::atomic<uint64_t> resets{0};                // points that started a new run
  std::atomic<uint64_t> dropped_limit{0};         // series refused at max_series / max_bytes
  std::atomic<uint64_t> dropped_invalid{0};       // not finite, negative delta, bad buckets
  std::atomic<uint64_t> dropped_out_of_order{0};  // older than the series' last point
};

class MetricDeltas {
 public:
  explicit MetricDeltas(MetricDeltaOptions options = {});

  // Fills item.value, weight, counter and distribution for `point` (seen at wall time
  // `wall_ns`) and returns true, or returns false when the point contributes nothing now
  // (baseline, no increase, dropped: each counted in stats()). item.distribution points into
  // this object and stays valid until the next call. Allocates only for a new series or a
  // wider bucket range.
  bool ToItem(const event::MetricPoint& point, uint64_t wall_ns, Item& item);

  // Forgets series with no point for idle_ttl before `wall_ns`.
  void EvictIdle(uint64_t wall_ns);

  const MetricDeltaOptions& options() const { return options_; }
  // Replaces the options; call before the first point (limits are not re-applied to state
  // already held).
  void set_options(const MetricDeltaOptions& options) { options_ = options; }
  const MetricDeltaStats& stats() const { return stats_; }
  std::size_t series() const { return series_.size(); }

 private:
  struct State {
    event::MetricType type = event::MetricType::kGauge;
    uint64_t start_ns = 0;
    uint64_t time_ns = 0;
    uint64_t wall_ns = 0;
    uint64_t count = 0;  // histograms, summaries
    double value = 0;    // counter value; histogram and summary sum
    double min = 0;      // histograms with has_min_max
    double max = 0;
    bool has_min_max = false;
    int32_t scale = 0;  // exponential
    uint64_t zero_count = 0;
    int32_t pos_offset = 0;
    int32_t neg_offset = 0;
    std::vector<uint64_t> pos;   // explicit: bucket counts; exponential: positive buckets
    std::vector<uint64_t> neg;   // exponential: negative buckets
    std::vector<double> bounds;  // explicit bounds
    std::size_t bytes = 0;       // heap bytes of the three arrays (Track)
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  // Where the current point's delta goes: a copy of the bucket deltas and totals.
  struct Delta {
    uint64_t count = 0;
    double sum = 0;
    bool reset = false;  // the point is a whole run (first point or reset): min/max are exact
  };

  // The state of `point`'s series; nullptr when a new series does not fit (counted).
  // `fresh` tells whether it was just created.
  State* Lookup(const event::MetricPoint& point, uint64_t wall_ns, bool& fresh);
  // Whether the first point of a series counts from zero (see the header comment).
  bool FirstPointCounts(const event::MetricPoint& point) const;
  bool Counter(const event::MetricPoint& point, State& s, bool fresh, Item& item);
  bool Explicit(const event::MetricPoint& point, State* s, bool fresh, Item& item);
  bool Exponential(const event::MetricPoint& point, State* s, bool fresh, Item& item);
  bool Summary(const event::MetricPoint& point, State& s, bool fresh, Item& item);
  // Fills item weight/value/distribution from delta_ and the buckets recorded in buckets_;
  // min/max from the point when exact, else from the buckets' representative values.
  bool Emit(const Delta& d, bool has_min_max, double min, double max, Item& item);
  void Track(State& s);  // re-accounts the bytes of `s` after its arrays changed
  void Drop(std::atomic<uint64_t>& counter);

  MetricDeltaOptions options_;
  std::unordered_map<std::string, State, StringHash, std::equal_to<>> series_;
  std::size_t bytes_ = 0;
  std::string key_;                         // scratch: the identity of the current point
  strobe::metrics::HistogramData buckets_;  // scratch: the current point's delta buckets
  double lowest_ = 0;                       // representative values of the lowest and highest
  double highest_ = 0;                      // non-empty delta bucket (set by the bucket walk)
  bool any_bucket_ = false;
  Distribution distribution_;
  std::vector<uint64_t> scratch_pos_;  // exponential: previous buckets at the point's scale
  std::vector<uint64_t> scratch_neg_;
  MetricDeltaStats stats_;
};

}  // namespace strobed::stream
