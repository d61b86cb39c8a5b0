#pragma once

// HistogramData: a plain (non-concurrent), mergeable distribution value with the same buckets
// as Histogram — what stream processing keeps per window and key, what a Histogram collects
// into, and what crosses process boundaries inside a snapshot.
//
// Buckets: OTLP base-2 exponential buckets at scale 6 (internal/bucket_math.h), bucket i
// holding base^i < v <= base^(i+1), 64 per power of two. Quantiles are within 0.55% relative
// of the exact order statistic; count, sum, min and max are exact (sum exact for integer
// observations up to 2^64 in total). Values are covered from 2^-64 to 2^64; positive values
// outside that range are clamped into the first/last bucket (min/max/sum stay exact).
// Zero goes to zero_count. Negative, NaN and infinite values are rejected: Record returns
// false and invalid_count() counts them (they are not part of count()).
//
// Memory: one counter per bucket between the lowest and highest bucket used, e.g. ~7 KiB
// for latencies spanning 1 us .. 10 ms, at most 64 KiB.
//
// Thread class: thread-compatible (a value type).

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "strobe/snapshot/snapshot.h"

namespace strobe::metrics {

class HistogramData {
 public:
  // Records `v` `n` times. False (and nothing recorded except invalid_count) for negative,
  // NaN or infinite `v`.
  bool Record(double v, uint64_t n = 1);
  void RecordUnsigned(uint64_t v, uint64_t n = 1);

  // Adds every observation of `other`. Exact: merging then asking a quantile equals
  // recording everything into one HistogramData.
  void Merge(const HistogramData& other);
  void Clear();

  uint64_t count() const { return count_; }
  double sum() const { return static_cast<double>(int_sum_) + double_sum_; }
  double min() const { return count_ == 0 ? 0 : min_; }
  double max() const { return count_ == 0 ? 0 : max_; }
  uint64_t zero_count() const { return zero_count_; }
  uint64_t invalid_count() const { return invalid_; }

  // Quantile q in [0, 1]; see snapshot::QuantileOf. 0 when empty.
  double Quantile(double q) const;

  // Exponential buckets: counts()[k] is bucket offset() + k (scale 6).
  int32_t offset() const { return offset_; }
  std::span<const uint64_t> counts() const { return counts_; }

  // Fills count/sum/min/max/zero/exponential buckets/invalid of `out` (scale 6). Leaves
  // bounds, bucket_counts, quantiles and unit_scale untouched.
  void ToSnapshot(snapshot::HistogramValue* out) const;
  // Replaces this with the distribution in `value`, which may come from another process and
  // is validated: false (and this unchanged) unless scale is 6 (what strobe produces), the
  // buckets lie in the stored range, count == zero_count + sum of buckets, the sum is finite
  // and >= 0, and 0 <= min <= max when count > 0.
  bool FromSnapshot(const snapshot::HistogramValue& value);

  size_t OwnedBytes() const { return counts_.capacity() * sizeof(uint64_t); }

  // Internal (Histogram collection): clears and pre-sizes the buckets to [first, last];
  // adds one already-merged bucket; adds totals.
  void ResetRange(int32_t first, int32_t last);
  void AddBucketCount(int32_t index, uint64_t n);
  void AddTotals(uint64_t count, uint64_t int_sum, double double_sum, double min, double max,
                 uint64_t zero_count, uint64_t invalid);

 private:
  void Grow(int32_t index);

  uint64_t count_ = 0;
  uint64_t int_sum_ = 0;
  double double_sum_ = 0;
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
  uint64_t zero_count_ = 0;
  uint64_t invalid_ = 0;
  int32_t offset_ = 0;
  std::vector<uint64_t> counts_;
};

// Exponential buckets at a lower scale, as OTLP wants when a backend limits bucket count:
// bucket i at `target_scale` is the sum of buckets j at the source scale with
// j >> (scale - target_scale) == i. Exact (no further error than the coarser buckets).
struct ExponentialBuckets {
  int32_t scale = 6;
  int32_t offset = 0;
  std::vector<uint64_t> counts;
};
ExponentialBuckets Downscale(const snapshot::HistogramValue& value, int32_t target_scale);
// The same for any exponential buckets (e.g. one side of an OTLP data point from elsewhere):
// `counts[k]` is bucket `offset + k` at `scale`. A target above `scale` keeps `scale`;
// differences beyond 63 put every bucket into bucket 0 or -1. The result's offset is
// truncated to 32 bits, as OTLP carries it.
ExponentialBuckets Downscale(int32_t scale, int32_t offset, std::span<const uint64_t> counts,
                             int32_t target_scale);
// The largest scale <= value.scale at which the buckets fit in `max_buckets`.
int32_t ScaleForMaxBuckets(const snapshot::HistogramValue& value, size_t max_buckets);

// Fills value->bounds and value->bucket_counts (non-cumulative, last = +Inf) from the
// exponential buckets. `bounds` are in exposed units (recorded * value->unit_scale),
// strictly increasing. An exponential bucket goes to the first bound above its lower edge,
// so an observation up to one bucket width (1.09%) above a bound can be counted at it.
void FillClassicBuckets(std::span<const double> bounds, snapshot::HistogramValue* value);
// Fills value->quantiles for each q (exposed units).
void FillQuantiles(std::span<const double> quantiles, snapshot::HistogramValue* value);

}  // namespace strobe::metrics
