#include "strobe/metrics/internal/bucket_math.h"

namespace strobe::metrics::internal {
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
