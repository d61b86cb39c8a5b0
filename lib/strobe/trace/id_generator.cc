#include "strobe/trace/id_generator.h"

#include <cstring>
#include <random>

namespace strobe::trace {
namespace {

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t OsSeed() {
  std::random_device rd;  // getrandom(2) on Linux
  uint64_t hi = rd();
  uint64_t lo = rd();
  return (hi << 32) ^ lo;
}

class ThreadLocalIdGenerator final : public IdGenerator {
 public:
  TraceId NewTraceId() noexcept override { return NewTraceIdFrom(Rng()); }
  SpanId NewSpanId() noexcept override { return NewSpanIdFrom(Rng()); }

 private:
  static Xoshiro256& Rng() noexcept {
    thread_local Xoshiro256 rng(OsSeed());
    return rng;
  }
};

}  // namespace

Xoshiro256::Xoshiro256(uint64_t seed) noexcept {
  for (uint64_t& s : s_) s = SplitMix64(seed);
}

uint64_t Xoshiro256::Next() noexcept {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

TraceId NewTraceIdFrom(Xoshiro256& rng) noexcept {
  TraceId id;
  do {
    uint64_t a = rng.Next();
    uint64_t b = rng.Next();
    std::memcpy(id.bytes.data(), &a, 8);
    std::memcpy(id.bytes.data() + 8, &b, 8);
  } while (!id.valid());
  return id;
}

SpanId NewSpanIdFrom(Xoshiro256& rng) noexcept {
  SpanId id;
  do {
    uint64_t a = rng.Next();
    std::memcpy(id.bytes.data(), &a, 8);
  } while (!id.valid());
  return id;
}

IdGenerator& DefaultIdGenerator() {
  static ThreadLocalIdGenerator g;
  return g;
}

TraceId SeededIdGenerator::NewTraceId() noexcept { return NewTraceIdFrom(rng_); }
SpanId SeededIdGenerator::NewSpanId() noexcept { return NewSpanIdFrom(rng_); }

}  // namespace strobe::trace
