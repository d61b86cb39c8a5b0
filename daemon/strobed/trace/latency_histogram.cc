#include "strobed/trace/latency_histogram.h"

#include <bit>
#include <cmath>

namespace strobed::trace {

int LatencyHistogram::BucketOf(uint64_t ns) noexcept {
  if (ns < (uint64_t{1} << kMinExponent)) return 0;
  int exp = 63 - std::countl_zero(ns);  // floor(log2)
  if (exp >= kMinExponent + kOctaves) return kBuckets - 1;
  // The 3 bits below the leading one choose the sub-bucket.
  int sub = static_cast<int>((ns >> (exp - 3)) & (kSubBuckets - 1));
  return (exp - kMinExponent) * kSubBuckets + sub;
}

uint64_t LatencyHistogram::UpperBound(int bucket) noexcept {
  int exp = bucket / kSubBuckets + kMinExponent;
  int sub = bucket % kSubBuckets;
  // Bucket covers [2^exp * (1 + sub/8), 2^exp * (1 + (sub+1)/8)).
  return (uint64_t{1} << exp) + (static_cast<uint64_t>(sub + 1) << (exp - 3));
}

void LatencyHistogram::Record(uint64_t ns) noexcept {
  ++buckets_[static_cast<size_t>(BucketOf(ns))];
  ++count_;
  sum_ns_ += ns;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) noexcept {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ns_ += other.sum_ns_;
}

void LatencyHistogram::Clear() noexcept { *this = LatencyHistogram(); }

uint64_t LatencyHistogram::Quantile(double q) const noexcept {
  if (count_ == 0) return 0;
  if (q < 0) q = 0;
  if (q > 1) q = 1;
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[static_cast<size_t>(i)];
    if (seen >= rank) return UpperBound(i);
  }
  return UpperBound(kBuckets - 1);
}

}  // namespace strobed::trace
