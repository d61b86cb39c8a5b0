#include "strobed/base/byte_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace strobed::base {
namespace {

TEST(ByteBudgetTest, ChargesUpToTheLimitAndNeverBeyond) {
  ByteBudget b(100);
  EXPECT_EQ(b.TryCharge(60), ByteBudget::Charge::kOk);
  EXPECT_EQ(b.TryCharge(41), ByteBudget::Charge::kOverLimit);
  EXPECT_EQ(b.used_bytes(), 60u);
  EXPECT_EQ(b.TryCharge(40), ByteBudget::Charge::kOk);
  EXPECT_EQ(b.used_bytes(), 100u);
  EXPECT_EQ(b.TryCharge(1), ByteBudget::Charge::kOverLimit);
  b.Release(100);
  EXPECT_EQ(b.used_bytes(), 0u);
  EXPECT_EQ(b.peak_bytes(), 100u);
  EXPECT_EQ(b.limit_bytes(), 100u);
  // A charge larger than the limit cannot wrap around.
  EXPECT_EQ(b.TryCharge(~uint64_t{0}), ByteBudget::Charge::kOverLimit);
}

TEST(ByteBudgetTest, SoftLimitRefusesOnceReached) {
  ByteBudget b(100);
  EXPECT_EQ(b.TryCharge(50, 50), ByteBudget::Charge::kOk);  // below the soft limit before
  EXPECT_EQ(b.TryCharge(1, 50), ByteBudget::Charge::kSoft);
  EXPECT_EQ(b.TryCharge(1), ByteBudget::Charge::kOk);  // no soft limit given
  EXPECT_EQ(b.used_bytes(), 51u);
}

TEST(ByteBudgetTest, ConcurrentChargesNeverExceedTheLimit) {
  ByteBudget b(1000);
  std::atomic<uint64_t> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        if (b.TryCharge(7) == ByteBudget::Charge::kOk) {
          granted.fetch_add(7);
          if (i % 2 == 0) {
            b.Release(7);
            granted.fetch_sub(7);
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(b.peak_bytes(), 1000u);
  EXPECT_EQ(b.used_bytes(), granted.load());
}

TEST(ByteLeaseTest, GivesEverythingBackWhenDestroyedOrMoved) {
  ByteBudget b(100);
  {
    ByteLease a(&b);
    EXPECT_TRUE(a.Add(30));
    EXPECT_TRUE(a.Add(30));
    EXPECT_FALSE(a.Add(41));
    EXPECT_EQ(a.bytes(), 60u);
    a.Release(10);
    EXPECT_EQ(b.used_bytes(), 50u);
    a.Release(1000);  // at most what it holds
    EXPECT_EQ(b.used_bytes(), 0u);
    EXPECT_TRUE(a.Add(20));
    ByteLease c(std::move(a));
    EXPECT_EQ(a.bytes(), 0u);  // NOLINT(bugprone-use-after-move): moved-from state is defined
    EXPECT_EQ(c.bytes(), 20u);
    ByteLease d(&b);
    EXPECT_TRUE(d.Add(5));
    d = std::move(c);  // d's own 5 bytes are given back
    EXPECT_EQ(b.used_bytes(), 20u);
  }
  EXPECT_EQ(b.used_bytes(), 0u);
}

TEST(ByteLeaseTest, WithoutBudgetGrantsEverything) {
  ByteLease a;
  EXPECT_TRUE(a.Add(~uint64_t{0} / 2));
  a.Reset();
  EXPECT_EQ(a.bytes(), 0u);
}

TEST(GrowStringChargedTest, ChargesTheExactCapacityBeforeGrowing) {
  ByteBudget b(1 << 20);
  ByteLease lease(&b);
  std::string s = "keep";
  ASSERT_TRUE(GrowStringCharged(lease, s, 1000));
  EXPECT_EQ(s, "keep");
  EXPECT_EQ(s.capacity(), 1000u);
  EXPECT_EQ(lease.bytes(), 1000u);
  // Growing from 1000 to 1500: std::string::reserve would round up to 2000; this is exact.
  ASSERT_TRUE(GrowStringCharged(lease, s, 1500));
  EXPECT_EQ(s.capacity(), 1500u);
  EXPECT_EQ(lease.bytes(), 1500u);
  EXPECT_EQ(b.peak_bytes(), 2500u);  // old and new buffer, both live while the bytes moved
  EXPECT_TRUE(GrowStringCharged(lease, s, 100));  // has it already: no-op
  EXPECT_EQ(lease.bytes(), 1500u);
}

TEST(GrowStringChargedTest, RefusalLeavesStringAndLeaseUnchanged) {
  ByteBudget b(4000);
  ByteLease lease(&b);
  std::string s;
  ASSERT_TRUE(GrowStringCharged(lease, s, 2000));
  s.assign(10, 'x');
  // 2000 held + 2500 for the new buffer > 4000.
  EXPECT_FALSE(GrowStringCharged(lease, s, 2500));
  EXPECT_EQ(s, std::string(10, 'x'));
  EXPECT_EQ(s.capacity(), 2000u);
  EXPECT_EQ(lease.bytes(), 2000u);
  EXPECT_EQ(b.used_bytes(), 2000u);
}

}  // namespace
}  // namespace strobed::base
