#pragma once

// stream::Quantiles: the per-window, per-key percentile state (p50 … p99.9).
//
// A log-linear histogram: 64 linear sub-buckets per power of two (the IEEE-754 exponent
// plus the top 6 mantissa bits), so every recorded value lies within 1/128 (0.78%) of the
// midpoint reported for its bucket. Buckets live in one dense array covering only the
// index range seen so far, which grows on demand; a cleared state keeps its capacity, so a
// recycled window pane records without allocating once warm. Values <= 0 are counted in a
// zero bucket (reported as 0).
//
// Mergeable: Merge() adds counts bucket by bucket (sliding windows merge their panes).
// Memory: 4 bytes per bucket in the seen range; a latency distribution spanning three
// octaves uses ~200 buckets (800 bytes).
//
// Thread class: thread-compatible (owned by one window operator).

#include <cstdint>
#include <vector>

namespace strobed::stream {

class Quantiles {
 public:
  // Records `value` `n` times. Allocates only when the index range grows.
  void Record(double value, uint64_t n = 1) noexcept;
  // Adds every bucket of `other`.
  void Merge(const Quantiles& other);
  // The value at quantile q in [0, 1] (bucket midpoint), 0 when empty.
  double Quantile(double q) const noexcept;
  uint64_t count() const noexcept { return count_; }
  // Forgets all values; keeps capacity.
  void Clear() noexcept;
  // Heap bytes held.
  std::size_t bytes() const noexcept { return counts_.capacity() * sizeof(uint32_t); }

  static int32_t IndexOf(double value) noexcept;
  static double MidpointOf(int32_t index) noexcept;

 private:
  void Grow(int32_t index);

  std::vector<uint32_t> counts_;  // counts_[i] is bucket base_ + i
  int32_t base_ = 0;
  int32_t lo_ = 0;  // lowest used bucket (valid when count_ > zero_)
  int32_t hi_ = -1;
  uint64_t zero_ = 0;
  uint64_t count_ = 0;
};

}  // namespace strobed::stream
