#pragma once

// Random trace and span ids of full width (128 and 64 bits, never all zero).
//
// DefaultIdGenerator() draws from a per-thread xoshiro256** generator seeded once per thread
// from the OS (getrandom via std::random_device); after that an id costs a few nanoseconds, no
// syscall, no lock. SeededIdGenerator is deterministic for tests (inject randomness).
//
// Thread class: DefaultIdGenerator() is thread-safe; a SeededIdGenerator is owner-thread only.

#include <cstdint>

#include "strobe/trace/span_context.h"

namespace strobe::trace {

class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual TraceId NewTraceId() noexcept = 0;
  virtual SpanId NewSpanId() noexcept = 0;
};

// xoshiro256** (Blackman & Vigna): 256-bit state, passes BigCrush; not cryptographic, which
// trace ids do not need.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) noexcept;
  uint64_t Next() noexcept;

 private:
  uint64_t s_[4];
};

// The process-wide generator with per-thread state.
IdGenerator& DefaultIdGenerator();

class SeededIdGenerator final : public IdGenerator {
 public:
  explicit SeededIdGenerator(uint64_t seed) : rng_(seed) {}
  TraceId NewTraceId() noexcept override;
  SpanId NewSpanId() noexcept override;

 private:
  Xoshiro256 rng_;
};

// Fills ids from `rng`, redrawing the (2^-64 likely) all-zero value.
TraceId NewTraceIdFrom(Xoshiro256& rng) noexcept;
SpanId NewSpanIdFrom(Xoshiro256& rng) noexcept;

}  // namespace strobe::trace
