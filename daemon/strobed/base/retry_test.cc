#include "strobed/base/retry.h"

#include <gtest/gtest.h>

namespace strobed::base {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

RetryPolicy Policy() {
  RetryPolicy p;
  p.max_attempts = 4;
  p.initial_backoff = milliseconds(100);
  p.max_backoff = milliseconds(1000);
  p.max_retry_after = milliseconds(5000);
  return p;
}

TEST(RetryTest, ExponentialWithEqualJitter) {
  Backoff b(Policy(), 42);
  // Base 100, 200, 400, 800, 1000 (capped): each delay in [base/2, base].
  const int64_t bases[] = {100, 200, 400, 800, 1000, 1000};
  for (int retry = 1; retry <= 6; ++retry) {
    for (int k = 0; k < 50; ++k) {
      nanoseconds d = b.Delay(retry);
      EXPECT_GE(d, milliseconds(bases[retry - 1] / 2)) << retry;
      EXPECT_LE(d, milliseconds(bases[retry - 1])) << retry;
    }
  }
}

TEST(RetryTest, JitterIsSeededAndSpreads) {
  Backoff a(Policy(), 7), b(Policy(), 7), c(Policy(), 8);
  bool differs = false;
  for (int i = 0; i < 20; ++i) {
    nanoseconds x = a.Delay(3);
    EXPECT_EQ(x, b.Delay(3));  // same seed, same schedule
    differs = differs || x != c.Delay(3);
  }
  EXPECT_TRUE(differs);
}

TEST(RetryTest, PeerRetryAfterWinsAndIsCapped) {
  Backoff b(Policy(), 1);
  EXPECT_EQ(b.Delay(1, milliseconds(2000)), milliseconds(2000));  // longer than max_backoff
  EXPECT_EQ(b.Delay(9, milliseconds(3)), milliseconds(3));        // shorter than the backoff
  EXPECT_EQ(b.Delay(1, std::chrono::hours(24)), milliseconds(5000));
}

TEST(RetryTest, AttemptBudget) {
  Backoff b(Policy(), 1);
  EXPECT_FALSE(b.Exhausted(1));
  EXPECT_FALSE(b.Exhausted(3));
  EXPECT_TRUE(b.Exhausted(4));
}

TEST(RetryTest, DegeneratePolicies) {
  RetryPolicy p = Policy();
  p.initial_backoff = nanoseconds(0);
  Backoff zero(p, 1);
  EXPECT_EQ(zero.Delay(5), nanoseconds(0));
  p.initial_backoff = std::chrono::hours(1000000);  // larger than max: clamped, no overflow
  p.max_backoff = nanoseconds(INT64_MAX);
  Backoff huge(p, 1);
  EXPECT_GE(huge.Delay(80).count(), 0);
}

}  // namespace
}  // namespace strobed::base
