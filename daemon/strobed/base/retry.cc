#include "strobed/base/retry.h"

#include <algorithm>

namespace strobed::base {

std::chrono::nanoseconds Backoff::Delay(int retry, std::chrono::nanoseconds retry_after) {
  using std::chrono::nanoseconds;
  if (retry_after.count() > 0) return std::min(retry_after, policy_.max_retry_after);
  const int64_t cap = std::max<int64_t>(policy_.max_backoff.count(), 0);
  int64_t base = std::clamp<int64_t>(policy_.initial_backoff.count(), 0, cap);
  for (int i = 1; i < retry && base < cap; ++i) base = base > cap / 2 ? cap : base * 2;
  if (base <= 1) return nanoseconds(base);
  std::uniform_int_distribution<int64_t> jitter(base / 2, base);
  return nanoseconds(jitter(rng_));
}

}  // namespace strobed::base
