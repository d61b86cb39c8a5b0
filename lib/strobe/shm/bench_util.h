#pragma once

// Shared by the shm benchmarks (lib/strobe/shm/ring_benchmark.cc,
// daemon/strobed/receivers/shm/shm_receiver_benchmark.cc); benchmark-only, not part of the
// library.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "strobe/shm/ring_abi.h"

namespace strobe::shm::testing {

// The in-run baseline of the ring benchmarks: the same 32-byte COUNTER_ADD record stores
// into a private, cache-resident 1 MiB buffer — writing a record with no ring protocol and no
// consumer.
inline void RunLocalWriteBaseline(benchmark::State& state) {
  std::vector<uint8_t> buf(1 << 20);
  const uint64_t mask = buf.size() - 1;
  uint64_t pos = 0;
  uint64_t i = 0;
  for (auto _ : state) {
    uint8_t* d = buf.data() + (pos & mask);
    const strobe_frame f{24, STROBE_REC_COUNTER_ADD, 0};
    const uint64_t id = 7, ts = 0, v = ++i;
    std::memcpy(d, &f, 8);
    std::memcpy(d + 8, &id, 8);
    std::memcpy(d + 16, &ts, 8);
    std::memcpy(d + 24, &v, 8);
    pos += 32;
    benchmark::DoNotOptimize(d);
    benchmark::ClobberMemory();  // the stores happen, one record per iteration
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

}  // namespace strobe::shm::testing
