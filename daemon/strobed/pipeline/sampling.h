#pragma once

// Sampling arithmetic shared by the samplers and the `sample` back-pressure policy.
//
// Consistent trace sampling follows the OpenTelemetry TraceIdRatioBased rule as specified
// together with W3C Trace Context Level 2 (random trace-id flag): the randomness R is the
// least-significant 56 bits of the trace id (its last 7 bytes, big-endian), the rejection
// threshold is T = round((1 - ratio) * 2^56), and a span is kept iff R >= T. Every span of a
// trace therefore gets the same decision, in every process and SDK that implements the rule,
// and a trace kept at ratio r is also kept at any ratio > r.
//
// Thread class: pure functions; SplitMix64 is a value type.

#include <cmath>
#include <cstdint>

#include "strobed/event/span.h"

namespace strobed::pipeline {

inline constexpr uint64_t kMaxThreshold = uint64_t{1} << 56;

// The rejection threshold T for `ratio` (clamped to [0, 1]). ratio 1 → 0 (keep all),
// ratio 0 → 2^56 (keep none).
inline uint64_t RatioToThreshold(double ratio) {
  if (!(ratio > 0)) return kMaxThreshold;
  if (ratio >= 1) return 0;
  double t = std::round((1.0 - ratio) * static_cast<double>(kMaxThreshold));
  if (t >= static_cast<double>(kMaxThreshold)) return kMaxThreshold;
  return static_cast<uint64_t>(t);
}

// R: the least-significant 56 bits of the trace id.
inline uint64_t TraceRandomness(const event::TraceId& id) { return id.Low() & (kMaxThreshold - 1); }

// The TraceIdRatioBased decision with a precomputed threshold.
inline bool KeepTrace(const event::TraceId& id, uint64_t threshold) {
  return TraceRandomness(id) >= threshold;
}

// A small seeded PRNG (SplitMix64) for decisions that have no trace id (metrics, logs).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 2^56), comparable with a threshold.
  uint64_t Next56() { return Next() >> 8; }

 private:
  uint64_t state_;
};

}  // namespace strobed::pipeline
