#include "strobed/base/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <type_traits>

namespace strobed::base {
namespace {

// The defect these types fix: a Unix-time clock handed out through the monotonic interface.
// Neither type converts to the other.
static_assert(!std::is_convertible_v<WallClock&, MonotonicClock&>);
static_assert(!std::is_convertible_v<MonotonicClock&, WallClock&>);
static_assert(!std::is_convertible_v<ManualWallClock&, MonotonicClock&>);
static_assert(!std::is_convertible_v<ManualMonotonicClock&, WallClock&>);

TEST(ClockTest, SteadyClockNeverGoesBackwards) {
  MonotonicClock& clock = MonotonicClock::Steady();
  EXPECT_EQ(&clock, &MonotonicClock::Steady());
  uint64_t last = clock.NowNs();
  for (int i = 0; i < 1000; ++i) {
    const uint64_t now = clock.NowNs();
    ASSERT_GE(now, last);
    last = now;
  }
}

TEST(ClockTest, SystemClockIsUnixTime) {
  WallClock& clock = WallClock::System();
  EXPECT_EQ(&clock, &WallClock::System());
  const auto reference =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  const uint64_t now = clock.NowUnixNs();
  // After 2020-01-01 and within a minute of the system clock read just before.
  EXPECT_GT(now, uint64_t{1'577'836'800} * 1'000'000'000);
  EXPECT_LT(now - reference, uint64_t{60} * 1'000'000'000);
}

TEST(ClockTest, ManualMonotonicClockMovesOnlyByHand) {
  ManualMonotonicClock clock;
  EXPECT_EQ(clock.NowNs(), 1'000'000'000u);
  clock.AdvanceNs(250);
  EXPECT_EQ(clock.NowNs(), 1'000'000'250u);
  clock.SetNs(5);
  EXPECT_EQ(clock.NowNs(), 5u);
  const MonotonicClock& as_interface = clock;
  EXPECT_EQ(as_interface.NowNs(), 5u);
}

TEST(ClockTest, ManualWallClockStartsAtAPlausibleUnixTime) {
  ManualWallClock clock;
  EXPECT_EQ(clock.NowUnixNs(), 1'700'000'000'000'000'000u);
  clock.AdvanceNs(1'000'000'000);
  EXPECT_EQ(clock.NowUnixNs(), 1'700'000'001'000'000'000u);
  clock.SetUnixNs(1'600'000'000'000'000'000);  // a wall clock may step backwards
  const WallClock& as_interface = clock;
  EXPECT_EQ(as_interface.NowUnixNs(), 1'600'000'000'000'000'000u);
}

}  // namespace
}  // namespace strobed::base
