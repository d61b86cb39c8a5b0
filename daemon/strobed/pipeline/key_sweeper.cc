#include "strobed/pipeline/key_sweeper.h"

#include <algorithm>

#include "strobed/event/attribute.h"

namespace strobed::pipeline {

KeySweeper::KeySweeper(event::KeyTable& keys, KeySweepOptions options)
    : keys_(keys), options_(options) {}

KeySweeper::~KeySweeper() { Stop(); }

void KeySweeper::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void KeySweeper::Stop() {
  {
    strobe::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

void KeySweeper::Run() {
  using Clock = std::chrono::steady_clock;
  const auto high_water = static_cast<std::size_t>(std::max(0.0, options_.high_water) *
                                                   static_cast<double>(keys_.capacity()));
  const bool by_size = options_.high_water < 1.0;
  const bool periodic = options_.interval.count() > 0;
  auto step = by_size ? options_.check : options_.interval;
  if (periodic) step = std::min(step, options_.interval);
  if (step.count() <= 0) return;  // nothing to do: neither periodic nor by size
  auto next_periodic = Clock::now() + options_.interval;
  strobe::MutexLock lock(mu_);
  while (!stop_) {
    cv_.WaitFor(mu_, step, [this]() STROBE_REQUIRES(mu_) { return stop_; });
    if (stop_) break;
    const auto now = Clock::now();
    const bool due = periodic && now >= next_periodic;
    if (!due && !(by_size && keys_.size() >= high_water)) continue;
    if (due) next_periodic = now + options_.interval;
    lock.Unlock();  // Stop() must not wait for a sweep to get the mutex
    keys_.Sweep();
    lock.Lock();
  }
}

}  // namespace strobed::pipeline
