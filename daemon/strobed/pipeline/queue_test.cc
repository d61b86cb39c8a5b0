#include <gtest/gtest.h>

#include "strobed/pipeline/mpmc_queue.h"
#include "strobed/pipeline/spsc_ring.h"

namespace strobed::pipeline {
namespace {

template <typename Q>
void FifoAndBounds() {
  Q q(5);  // rounded up to 8
  EXPECT_EQ(q.capacity(), 8u);
  int out = 0;
  EXPECT_FALSE(q.TryPop(out));
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(q.TryPush(i));
  EXPECT_FALSE(q.TryPush(99));
  EXPECT_EQ(q.SizeApprox(), 8u);
  for (int lap = 0; lap < 3; ++lap) {  // wrap around several times
    for (int i = 0; i < 8; ++i) {
      ASSERT_TRUE(q.TryPop(out));
      EXPECT_EQ(out, lap * 8 + i);
      EXPECT_TRUE(q.TryPush((lap + 1) * 8 + i));
    }
  }
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(q.TryPop(out));
  EXPECT_FALSE(q.TryPop(out));
  EXPECT_EQ(q.SizeApprox(), 0u);
}

TEST(MpmcQueueTest, FifoAndBounds) { FifoAndBounds<MpmcQueue<int>>(); }
TEST(SpscRingTest, FifoAndBounds) { FifoAndBounds<SpscRing<int>>(); }

TEST(QueueTest, RoundUpPowerOfTwo) {
  EXPECT_EQ(RoundUpPowerOfTwo(1), 1u);
  EXPECT_EQ(RoundUpPowerOfTwo(1000), 1024u);
  EXPECT_EQ(RoundUpPowerOfTwo(1024), 1024u);
}

}  // namespace
}  // namespace strobed::pipeline
