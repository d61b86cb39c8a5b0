#include "strobed/base/clock.h"

#include <chrono>

namespace strobed::base {

namespace {

class SteadyClock final : public MonotonicClock {
 public:
  uint64_t NowNs() const noexcept override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  }
};

class SystemClock final : public WallClock {
 public:
  uint64_t NowUnixNs() const noexcept override {
    // system_clock's epoch is the Unix epoch (guaranteed since C++20).
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }
};

}  // namespace

MonotonicClock& MonotonicClock::Steady() {
  static SteadyClock* clock = new SteadyClock();  // never destroyed: usable during exit
  return *clock;
}

WallClock& WallClock::System() {
  static SystemClock* clock = new SystemClock();  // never destroyed: usable during exit
  return *clock;
}

}  // namespace strobed::base
