#include "strobed/pipeline/clock.h"

#include <chrono>

namespace strobed::pipeline {

namespace {
class SteadyClock final : public Clock {
 public:
  uint64_t NowNs() const noexcept override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  }
};
}  // namespace

Clock& Clock::Steady() {
  static SteadyClock* clock = new SteadyClock();
  return *clock;
}

}  // namespace strobed::pipeline
