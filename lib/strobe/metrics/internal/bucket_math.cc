#include "strobe/metrics/internal/bucket_math.h"

#include <cmath>
#include <limits>

namespace strobe::metrics::internal {
namespace {

BucketTables MakeTables() {
  BucketTables t{};
  for (int j = 0; j <= kBucketsPerOctave; ++j) {
    if (j == 0) {
      t.boundary[j] = 0;
    } else if (j == kBucketsPerOctave) {
      t.boundary[j] = std::numeric_limits<uint64_t>::max();
    } else {
      // long double has a 64-bit mantissa on x86-64: the boundary is exact to the last bit
      // that a 64-bit fraction can express.
      const long double f = std::exp2l(static_cast<long double>(j) / kBucketsPerOctave) - 1.0L;
      t.boundary[j] = static_cast<uint64_t>(std::ldexp(f, 64));
    }
  }
  for (int j = 0; j < kBucketsPerOctave; ++j) {
    t.pow[j] = std::exp2(static_cast<double>(j) / kBucketsPerOctave);
    t.mid[j] = std::exp2((static_cast<double>(j) + 0.5) / kBucketsPerOctave);
  }
  for (int k = 0; k < 1024; ++k) {
    const uint64_t cell_start = static_cast<uint64_t>(k) << 54;
    int j = 0;
    while (j + 1 < kBucketsPerOctave && t.boundary[j + 1] < cell_start) ++j;
    t.first[k] = static_cast<uint8_t>(j);
  }
  return t;
}

}  // namespace

const BucketTables kBucketTables = MakeTables();

int32_t BucketIndexOfDouble(double v) noexcept {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  int exponent = static_cast<int>((bits >> 52) & 0x7ff);
  uint64_t mantissa = bits & ((uint64_t{1} << 52) - 1);
  if (exponent == 0) {
    // Subnormal: normalise the mantissa so its leading one becomes the implicit bit.
    const int shift = std::countl_zero(mantissa) - 11;
    mantissa = (mantissa << shift) & ((uint64_t{1} << 52) - 1);
    exponent = 1 - shift;
  }
  const uint64_t frac = mantissa << 12;
  return (exponent - 1023) * kBucketsPerOctave + SubBucket(frac) - (frac == 0 ? 1 : 0);
}

}  // namespace strobe::metrics::internal
