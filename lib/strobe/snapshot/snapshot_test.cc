#include "strobe/snapshot/snapshot.h"

#include <gtest/gtest.h>

namespace strobe::snapshot {
namespace {

TEST(QuantileOfTest, EmptyZeroAndClamped) {
  HistogramValue h;
  EXPECT_EQ(QuantileOf(h, 0.5), 0);
  h.count = 4;
  h.zero_count = 2;
  h.min = 0;
  h.max = 1000;
  h.positive_offset = 637;  // (2^(637/64), 2^(638/64)] ~ (992, 1003]
  h.positive_counts = {2};
  EXPECT_EQ(QuantileOf(h, 0.25), 0);                 // rank 1 is a zero
  EXPECT_EQ(QuantileOf(h, 0.5), 0);                  // rank 2 is a zero
  EXPECT_NEAR(QuantileOf(h, 0.75), 996.646, 0.001);  // geometric midpoint of the bucket
  EXPECT_EQ(QuantileOf(h, 1), 1000);                 // q == 1 is the exact max
  EXPECT_EQ(QuantileOf(h, 0), 0);                    // q == 0 is the exact min
  h.max = 995;  // the midpoint lies above the true max: clamped
  EXPECT_EQ(QuantileOf(h, 0.75), 995);
}

TEST(QuantileOfTest, MidpointWithinHalfABucket) {
  HistogramValue h;
  h.count = 1;
  h.min = 1;
  h.max = 1e9;
  h.positive_offset = 640;  // (1024, 1035.2]
  h.positive_counts = {1};
  const double q = QuantileOf(h, 0.5);
  EXPECT_GT(q, 1024);
  EXPECT_LE(q, 1035.2);
}

}  // namespace
}  // namespace strobe::snapshot
