#include "strobe/metrics/internal/bucket_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace strobe::metrics::internal {
namespace {

// Reference: the OTLP definition, ceil(log2(v) * 64) - 1, in long double.
int32_t ReferenceIndex(long double v) {
  return static_cast<int32_t>(std::ceil(std::log2(v) * 64.0L)) - 1;
}

TEST(BucketMathTest, LiteralTablesMatchTheirFormulas) {
  for (int j = 1; j < 64; ++j) {
    const long double f = std::exp2l(static_cast<long double>(j) / 64) - 1.0L;
    EXPECT_EQ(kBucketTables.boundary[j], static_cast<uint64_t>(std::ldexp(f, 64))) << j;
  }
  EXPECT_EQ(kBucketTables.boundary[0], 0u);
  EXPECT_EQ(kBucketTables.boundary[64], UINT64_MAX);
  for (int j = 0; j < 64; ++j) {
    EXPECT_EQ(kBucketTables.pow[j], std::exp2(static_cast<double>(j) / 64)) << j;
    EXPECT_EQ(kBucketTables.mid[j], std::exp2((static_cast<double>(j) + 0.5) / 64)) << j;
  }
  for (int k = 1; k < 1024; ++k) {
    const int j = kBucketTables.first[k];
    EXPECT_LT(kBucketTables.boundary[j], static_cast<uint64_t>(k) << 54);
    if (j + 1 < 64) {
      EXPECT_GE(kBucketTables.boundary[j + 1], static_cast<uint64_t>(k) << 54);
    }
  }
}

TEST(BucketMathTest, PowersOfTwoAreUpperInclusive) {
  EXPECT_EQ(BucketIndex(1), -1);
  EXPECT_EQ(BucketIndex(2), 63);
  EXPECT_EQ(BucketIndex(3), ReferenceIndex(3));
  for (int e = 0; e < 64; ++e) {
    const uint64_t v = uint64_t{1} << e;
    EXPECT_EQ(BucketIndex(v), e * 64 - 1) << e;
    if (e > 7) {  // 2^e + 1 is then inside the first sub-bucket (width 1.09%)
      EXPECT_EQ(BucketIndex(v + 1), e * 64) << e;
    }
  }
  EXPECT_EQ(BucketIndex(UINT64_MAX), 64 * 64 - 1);
}

TEST(BucketMathTest, IntegerIndexMatchesLogarithm) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200000; ++i) {
    const int bits = static_cast<int>(rng() % 64) + 1;
    uint64_t v = rng() >> (64 - bits);
    if (v == 0) v = 1;
    const int32_t got = BucketIndex(v);
    const int32_t want = ReferenceIndex(static_cast<long double>(v));
    // Values within 1e-17 relative of a boundary may land either side (boundary rounding).
    if (got != want) {
      const long double b = std::exp2l(static_cast<long double>(want + (got > want ? 1 : 0)) / 64);
      EXPECT_LT(std::fabs(static_cast<long double>(v) / b - 1), 1e-15L) << v;
    }
    EXPECT_LE(BucketLower(got), static_cast<double>(v) * (1 + 1e-12));
    EXPECT_GE(BucketUpper(got), static_cast<double>(v) * (1 - 1e-12));
  }
}

TEST(BucketMathTest, DoubleIndexAgreesWithIntegerIndex) {
  std::mt19937_64 rng(2);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = (rng() >> (rng() % 60)) | 1;
    if (v >= (uint64_t{1} << 53)) continue;  // exact in a double below 2^53
    EXPECT_EQ(BucketIndexOfDouble(static_cast<double>(v)), BucketIndex(v)) << v;
  }
  EXPECT_EQ(BucketIndexOfDouble(0.5), -65);
  EXPECT_EQ(BucketIndexOfDouble(1.0), -1);
  EXPECT_EQ(BucketIndexOfDouble(1e-3), ReferenceIndex(1e-3L));
  // Subnormals normalise correctly.
  const double sub = 4.9406564584124654e-324;
  EXPECT_EQ(BucketIndexOfDouble(sub), -1074 * 64 - 1);
}

TEST(BucketMathTest, MidpointIsWithinHalfABucket) {
  for (int32_t i = -4096; i < 4096; i += 7) {
    const double mid = BucketMidpoint(i);
    EXPECT_LE(mid / BucketLower(i) - 1, 0.0055);
    EXPECT_LE(BucketUpper(i) / mid - 1, 0.0055);
  }
}

}  // namespace
}  // namespace strobe::metrics::internal
