#include <gtest/gtest.h>

#include <stdexcept>

#include "strobe/base/mpmc_queue.h"
#include "strobe/base/spsc_ring.h"

namespace strobe {
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

TEST(QueueTest, CapacityIsAPowerOfTwoOfAtLeastTwo) {
  EXPECT_EQ(MpmcQueue<int>(0).capacity(), 2u);
  EXPECT_EQ(MpmcQueue<int>(1).capacity(), 2u);
  EXPECT_EQ(MpmcQueue<int>(1000).capacity(), 1024u);
  EXPECT_EQ(MpmcQueue<int>(1024).capacity(), 1024u);
  EXPECT_EQ(SpscRing<int>(1).capacity(), 2u);
  EXPECT_EQ(SpscRing<int>(1000).capacity(), 1024u);
}

struct Record {
  int used = 0;
  int data[16] = {};
};

TEST(MpmcQueueTest, InPlaceWriteAndRead) {
  MpmcQueue<Record> q(2);
  EXPECT_TRUE(q.TryPushWith([](Record& r) noexcept {
    r.used = 2;
    r.data[0] = 7;
    r.data[1] = 8;
  }));
  EXPECT_TRUE(q.TryPush(Record{1, {9}}));
  bool called = false;
  EXPECT_FALSE(q.TryPushWith([&](Record&) noexcept { called = true; }));  // full
  EXPECT_FALSE(called);
  int sum = 0;
  EXPECT_TRUE(q.TryPopWith([&](const Record& r) {
    for (int i = 0; i < r.used; ++i) sum += r.data[i];
  }));
  EXPECT_EQ(sum, 15);
  Record out;
  EXPECT_TRUE(q.TryPop(out));
  EXPECT_EQ(out.data[0], 9);
  EXPECT_FALSE(q.TryPopWith([&](const Record&) { called = true; }));  // empty
  EXPECT_FALSE(called);
}

// A reader that throws consumes the element and frees its cell: the queue keeps working.
TEST(MpmcQueueTest, ThrowingReaderStillFreesTheCell) {
  MpmcQueue<int> q(2);
  for (int lap = 0; lap < 4; ++lap) {
    ASSERT_TRUE(q.TryPush(lap));
    EXPECT_THROW(q.TryPopWith([](const int&) { throw std::runtime_error("reader failed"); }),
                 std::runtime_error);
    EXPECT_EQ(q.SizeApprox(), 0u);
  }
  EXPECT_TRUE(q.TryPush(1));
  EXPECT_TRUE(q.TryPush(2));
  int v = 0;
  EXPECT_TRUE(q.TryPop(v));
  EXPECT_EQ(v, 1);
}

}  // namespace
}  // namespace strobe
