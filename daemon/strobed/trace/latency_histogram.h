#pragma once

// LatencyHistogram: a small fixed-size log-linear histogram of durations (nanoseconds) for the
// service graph's per-edge latency percentiles. 8 sub-buckets per power of two from 1 µs to
// ~9 min (bounded relative error ~9%); values outside are clamped into the first/last bucket.
// Mergeable (bucket-wise sum), so windows are merged from per-interval histograms.
//
// Thread class: thread-compatible value type.

#include <array>
#include <cstdint>

namespace strobed::trace {

class LatencyHistogram {
 public:
  static constexpr int kSubBuckets = 8;
  static constexpr int kOctaves = 30;  // 2^10 ns .. 2^40 ns
  static constexpr int kBuckets = kSubBuckets * kOctaves;
  static constexpr int kMinExponent = 10;

  void Record(uint64_t ns) noexcept;
  void Merge(const LatencyHistogram& other) noexcept;
  void Clear() noexcept;

  uint64_t count() const noexcept { return count_; }
  uint64_t sum_ns() const noexcept { return sum_ns_; }
  // The value at quantile `q` (0..1): the upper bound of the bucket holding it; 0 when empty.
  uint64_t Quantile(double q) const noexcept;

  static int BucketOf(uint64_t ns) noexcept;
  static uint64_t UpperBound(int bucket) noexcept;

 private:
  std::array<uint32_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ns_ = 0;
};

}  // namespace strobed::trace
