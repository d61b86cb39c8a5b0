#pragma once

// Bucket math shared by Histogram (concurrent, sharded) and HistogramData (plain value type).
//
// Buckets are the OpenTelemetry base-2 exponential histogram buckets at scale 6: 64 buckets
// per power of two, base = 2^(2^-6), and bucket `i` holds values v with
//     base^i < v <= base^(i+1)            (upper-inclusive, exactly as OTLP defines it)
// so a snapshot exports to the OTLP ExponentialHistogram shape without re-bucketing, and to
// any lower scale s by `i >> (6 - s)`. Relative bucket width is 2^(1/64) - 1 = 1.09%;
// reporting a bucket by its geometric midpoint is within 0.55% of every value in it.
//
// The index is computed without logarithms: the exponent comes from the bit position of
// the leading one (integers) or the IEEE-754 exponent (doubles), and the position inside
// the octave from a 1024-entry table on the top 10 fraction bits plus one comparison with
// the exact boundary (boundaries are at least 1/92 of an octave apart, more than 1/1024, so
// at most one boundary lies in a table cell).
//
// Thread class: pure functions and immutable tables; thread-safe.

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "strobe/metrics/internal/bucket_tables.h"

namespace strobe::metrics::internal {

inline constexpr int kScale = 6;
inline constexpr int kBucketsPerOctave = 1 << kScale;

struct BucketTables {
  // boundary[j] = floor((2^(j/64) - 1) * 2^64), boundary[0] = 0, boundary[64] = UINT64_MAX.
  uint64_t boundary[kBucketsPerOctave + 1];
  // first[k] = the largest j with boundary[j] < k * 2^54 (0 for k == 0).
  uint8_t first[1024];
  // pow[j] = 2^(j/64), mid[j] = 2^((j + 0.5)/64).
  double pow[kBucketsPerOctave];
  double mid[kBucketsPerOctave];
};

constexpr BucketTables MakeBucketTables() {
  static_assert(kTableBucketsPerOctave == kBucketsPerOctave);
  BucketTables t{};
  for (int j = 0; j <= kBucketsPerOctave; ++j) t.boundary[j] = kBoundary[j];
  for (int j = 0; j < kBucketsPerOctave; ++j) {
    t.pow[j] = std::bit_cast<double>(kPowBits[j]);
    t.mid[j] = std::bit_cast<double>(kMidBits[j]);
  }
  int j = 0;
  for (int k = 0; k < 1024; ++k) {
    const uint64_t cell_start = static_cast<uint64_t>(k) << 54;
    while (j + 1 < kBucketsPerOctave && t.boundary[j + 1] < cell_start) ++j;
    t.first[k] = static_cast<uint8_t>(j);
  }
  return t;
}
// constexpr: filled before any dynamic initialisation, so records from static initialisers
// of other translation units are bucketed correctly.
inline constexpr BucketTables kBucketTables = MakeBucketTables();

// Position inside an octave for a fraction `frac` (the bits after the leading one, left
// aligned in 64 bits); `frac` == 0 means an exact power of two.
inline int SubBucket(uint64_t frac) noexcept {
  int j = kBucketTables.first[frac >> 54];
  j += frac > kBucketTables.boundary[j + 1] ? 1 : 0;
  return j;
}

// Bucket index of an integer v >= 1. Range: -1 (v == 1) .. 4095.
inline int32_t BucketIndex(uint64_t v) noexcept {
  const int lz = std::countl_zero(v);
  const int exponent = 63 - lz;
  const uint64_t frac = (v << lz) << 1;  // two shifts: lz may be 63
  return exponent * kBucketsPerOctave + SubBucket(frac) - (frac == 0 ? 1 : 0);
}

// Bucket index of a finite double v > 0 (normal or subnormal).
int32_t BucketIndexOfDouble(double v) noexcept;

// Lower (exclusive) and upper (inclusive) boundary of bucket `index`, for indices in
// [-4096, 4096) (what histograms store). Table lookups: the arithmetic shift floors negative
// indices, `& 63` is then the position in the octave.
// 2^e for |e| < 1022 without a libm call.
inline double Pow2(int32_t e) noexcept {
  return std::bit_cast<double>(static_cast<uint64_t>(e + 1023) << 52);
}
inline double BucketLower(int32_t index) noexcept {
  return kBucketTables.pow[index & 63] * Pow2(index >> 6);
}
inline double BucketUpper(int32_t index) noexcept { return BucketLower(index + 1); }
// Geometric midpoint of bucket `index`: the value reported for it (error <= 0.55%).
inline double BucketMidpoint(int32_t index) noexcept {
  return kBucketTables.mid[index & 63] * Pow2(index >> 6);
}

}  // namespace strobe::metrics::internal
