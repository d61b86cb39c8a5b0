#include "strobe/metrics/histogram_data.h"

#include <algorithm>
#include <cmath>

#include "strobe/metrics/internal/bucket_math.h"
#include "strobe/metrics/internal/shard.h"

namespace strobe::metrics {

using internal::kMaxBucketIndex;
using internal::kMinBucketIndex;

namespace {

int32_t ClampedIndexOfDouble(double v) {
  if (v <= 0x1p-64) return kMinBucketIndex;
  if (v > 0x1p64) return kMaxBucketIndex;
  return internal::BucketIndexOfDouble(v);
}

}  // namespace

void HistogramData::Grow(int32_t index) {
  if (counts_.empty()) {
    offset_ = index;
    counts_.assign(1, 0);
    return;
  }
  const int32_t end = offset_ + static_cast<int32_t>(counts_.size());
  if (index < offset_) {
    // Headroom of a quarter octave below avoids re-shifting on every new minimum.
    const int32_t new_offset = std::max(kMinBucketIndex, index - 16);
    counts_.insert(counts_.begin(), static_cast<size_t>(offset_ - new_offset), 0);
    offset_ = new_offset;
  } else if (index >= end) {
    counts_.resize(static_cast<size_t>(int64_t{index} - offset_ + 1), 0);
  }
}

void HistogramData::ResetRange(int32_t first, int32_t last) {
  Clear();
  offset_ = first;
  counts_.assign(static_cast<size_t>(int64_t{last} - first + 1), 0);
}

void HistogramData::AddBucketCount(int32_t index, uint64_t n) {
  const int32_t end = offset_ + static_cast<int32_t>(counts_.size());
  if (counts_.empty() || index < offset_ || index >= end) Grow(index);
  counts_[static_cast<size_t>(index - offset_)] += n;
}

void HistogramData::AddTotals(uint64_t count, uint64_t int_sum, double double_sum, double min,
                              double max, uint64_t zero_count, uint64_t invalid) {
  count_ += count;
  int_sum_ += int_sum;
  double_sum_ += double_sum;
  min_ = std::min(min_, min);
  max_ = std::max(max_, max);
  zero_count_ += zero_count;
  invalid_ += invalid;
}

bool HistogramData::Record(double v, uint64_t n) {
  if (!(v >= 0) || std::isinf(v)) {
    invalid_ += n;
    return false;
  }
  if (n == 0) return true;
  if (v == 0) {
    zero_count_ += n;
  } else {
    AddBucketCount(ClampedIndexOfDouble(v), n);
  }
  count_ += n;
  double_sum_ += v * static_cast<double>(n);
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
  return true;
}

void HistogramData::RecordUnsigned(uint64_t v, uint64_t n) {
  if (n == 0) return;
  if (v == 0) {
    zero_count_ += n;
  } else {
    AddBucketCount(internal::BucketIndex(v), n);
  }
  count_ += n;
  int_sum_ += v * n;
  const auto d = static_cast<double>(v);
  min_ = std::min(min_, d);
  max_ = std::max(max_, d);
}

void HistogramData::Merge(const HistogramData& other) {
  if (!other.counts_.empty()) {
    Grow(other.offset_);
    Grow(other.offset_ + static_cast<int32_t>(other.counts_.size()) - 1);
    const size_t base = static_cast<size_t>(other.offset_ - offset_);
    for (size_t i = 0; i < other.counts_.size(); ++i) counts_[base + i] += other.counts_[i];
  }
  AddTotals(other.count_, other.int_sum_, other.double_sum_, other.min_, other.max_,
            other.zero_count_, other.invalid_);
}

void HistogramData::Clear() {
  counts_.clear();  // keeps capacity: collectors reuse one HistogramData
  count_ = int_sum_ = zero_count_ = invalid_ = 0;
  double_sum_ = 0;
  min_ = std::numeric_limits<double>::infinity();
  max_ = -std::numeric_limits<double>::infinity();
  offset_ = 0;
}

double HistogramData::Quantile(double q) const {
  snapshot::HistogramValue v;
  v.count = count_;
  v.min = min();
  v.max = max();
  v.zero_count = zero_count_;
  v.positive_offset = offset_;
  // QuantileOf only reads; avoid copying the buckets by walking them here.
  if (count_ == 0) return 0;
  if (!(q > 0)) return v.min;
  if (q >= 1) return v.max;
  const auto rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  if (rank <= zero_count_) return 0;
  uint64_t seen = zero_count_;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::clamp(internal::BucketMidpoint(offset_ + static_cast<int32_t>(i)), v.min, v.max);
    }
  }
  return v.max;
}

void HistogramData::ToSnapshot(snapshot::HistogramValue* out) const {
  out->count = count_;
  out->sum = sum();
  out->min = min();
  out->max = max();
  out->scale = internal::kScale;
  out->zero_count = zero_count_;
  out->positive_offset = offset_;
  // Trim empty edges so the exported range is tight.
  size_t first = 0;
  size_t last = counts_.size();
  while (first < last && counts_[first] == 0) ++first;
  while (last > first && counts_[last - 1] == 0) --last;
  out->positive_offset = offset_ + static_cast<int32_t>(first);
  out->positive_counts.assign(counts_.begin() + static_cast<std::ptrdiff_t>(first),
                              counts_.begin() + static_cast<std::ptrdiff_t>(last));
  out->invalid_count = invalid_;
}

bool HistogramData::FromSnapshot(const snapshot::HistogramValue& value) {
  // Snapshots may come from another process: validate before trusting any index or total.
  if (value.scale != internal::kScale) return false;
  const auto n = static_cast<int64_t>(value.positive_counts.size());
  if (n > 0 && (value.positive_offset < kMinBucketIndex ||
                int64_t{value.positive_offset} + n - 1 > kMaxBucketIndex)) {
    return false;
  }
  uint64_t total = value.zero_count;
  for (const uint64_t c : value.positive_counts) {
    if (__builtin_add_overflow(total, c, &total)) return false;
  }
  if (total != value.count || !std::isfinite(value.sum) || value.sum < 0) return false;
  if (value.count > 0 && !(value.min >= 0 && value.min <= value.max && std::isfinite(value.max))) {
    return false;
  }
  Clear();
  if (n > 0) {
    offset_ = value.positive_offset;
    counts_ = value.positive_counts;
  }
  count_ = value.count;
  double_sum_ = value.sum;
  if (value.count > 0) {
    min_ = value.min;
    max_ = value.max;
  }
  zero_count_ = value.zero_count;
  invalid_ = value.invalid_count;
  return true;
}

ExponentialBuckets Downscale(const snapshot::HistogramValue& value, int32_t target_scale) {
  return Downscale(value.scale, value.positive_offset, value.positive_counts, target_scale);
}

ExponentialBuckets Downscale(int32_t scale, int32_t offset, std::span<const uint64_t> counts,
                             int32_t target_scale) {
  ExponentialBuckets out;
  target_scale = std::min(target_scale, scale);
  out.scale = target_scale;
  if (counts.empty()) return out;
  // 64-bit index arithmetic: the buckets may come from elsewhere with any offset. Shifts are
  // capped at 63 (every index then lands in bucket 0 or -1).
  const int shift = static_cast<int>(std::min<int64_t>(int64_t{scale} - target_scale, 63));
  const int64_t first = offset;
  const int64_t last = first + static_cast<int64_t>(counts.size()) - 1;
  // Arithmetic shift floors negative indices too, as the OTLP spec requires.
  const int64_t out_first = first >> shift;
  out.offset = static_cast<int32_t>(out_first);
  out.counts.assign(static_cast<size_t>((last >> shift) - out_first + 1), 0);
  for (size_t i = 0; i < counts.size(); ++i) {
    const int64_t j = (first + static_cast<int64_t>(i)) >> shift;
    out.counts[static_cast<size_t>(j - out_first)] += counts[i];
  }
  return out;
}

int32_t ScaleForMaxBuckets(const snapshot::HistogramValue& value, size_t max_buckets) {
  if (value.positive_counts.empty()) return value.scale;
  const int64_t first = value.positive_offset;
  const int64_t last = first + static_cast<int64_t>(value.positive_counts.size()) - 1;
  int32_t scale = value.scale;
  while (scale > -10) {
    const int shift = std::min(value.scale - scale, 63);
    if (static_cast<uint64_t>((last >> shift) - (first >> shift) + 1) <= max_buckets) break;
    --scale;
  }
  return scale;
}

void FillClassicBuckets(std::span<const double> bounds, snapshot::HistogramValue* value) {
  value->bounds.assign(bounds.begin(), bounds.end());
  value->bucket_counts.assign(bounds.size() + 1, 0);
  const double per_octave = std::exp2(static_cast<double>(value->scale));
  // Zero: the first bound >= 0.
  size_t bin = 0;
  while (bin < bounds.size() && bounds[bin] < 0) ++bin;
  value->bucket_counts[bin] += value->zero_count;
  bin = 0;
  for (size_t i = 0; i < value->positive_counts.size(); ++i) {
    const uint64_t n = value->positive_counts[i];
    if (n == 0) continue;
    const int32_t index = value->positive_offset + static_cast<int32_t>(i);
    // The table is exact for scale 6 within the double range; other scales, and indices
    // from elsewhere (an OTLP point) beyond it, take exp2 (0 or +Inf at the extremes).
    const bool table =
        value->scale == internal::kScale && (index >> 6) >= -1022 && (index >> 6) <= 1022;
    const double lower = (table ? internal::BucketLower(index)
                                : std::exp2(static_cast<double>(index) / per_octave)) *
                         value->unit_scale;
    // Bucket indices ascend, so `bin` only moves forward.
    while (bin < bounds.size() && !(lower < bounds[bin])) ++bin;
    value->bucket_counts[bin] += n;
  }
}

void FillQuantiles(std::span<const double> quantiles, snapshot::HistogramValue* value) {
  value->quantiles.clear();
  for (const double q : quantiles) {
    value->quantiles.push_back({q, snapshot::QuantileOf(*value, q) * value->unit_scale});
  }
}

}  // namespace strobe::metrics
