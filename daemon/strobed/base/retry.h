#pragma once

// strobed::base retry policy: how long to wait before the next attempt of something that
// failed transiently (an export to a backend that is down, an alert webhook). One policy for
// the pipeline's exporter retries and the alert notifiers, so both back off the same way.
//
//   Backoff backoff(policy, seed);
//   delay = backoff.Delay(retry, retry_after);   // retry = 1 for the first retry
//
// The delay is exponential with "equal jitter": the base doubles per retry from
// initial_backoff up to max_backoff, and the delay is drawn uniformly from [base/2, base] —
// the jitter spreads clients that failed together, the floor keeps them from hammering a
// peer that just came back. A peer's own answer wins: a positive `retry_after` (HTTP
// Retry-After, a pipeline's throttle hint) is used as is, capped at max_retry_after so a
// hostile or confused peer cannot park data for days.
//
// Thread class: RetryPolicy is a value; Backoff is thread-compatible (one owner; its RNG is
// seeded by the owner so tests are deterministic).

#include <chrono>
#include <cstdint>
#include <random>

namespace strobed::base {

struct RetryPolicy {
  int max_attempts = 5;  // attempts in total, including the first; >= 1
  std::chrono::nanoseconds initial_backoff = std::chrono::milliseconds(10);
  std::chrono::nanoseconds max_backoff = std::chrono::seconds(1);
  std::chrono::nanoseconds max_retry_after = std::chrono::minutes(5);
};

class Backoff {
 public:
  Backoff(RetryPolicy policy, uint64_t seed) : policy_(policy), rng_(seed) {}

  // The wait before retry number `retry` (1 = the first retry, i.e. the second attempt).
  // `retry_after` > 0: the peer's requested delay, capped at max_retry_after (no jitter: the
  // peer chose the time). Otherwise the jittered exponential delay described above. Never
  // negative.
  std::chrono::nanoseconds Delay(
      int retry, std::chrono::nanoseconds retry_after = std::chrono::nanoseconds(0));

  // True when `attempts` calls were made and the policy allows no more.
  bool Exhausted(int attempts) const noexcept { return attempts >= policy_.max_attempts; }

  const RetryPolicy& policy() const noexcept { return policy_; }

 private:
  RetryPolicy policy_;
  std::mt19937_64 rng_;
};

}  // namespace strobed::base
