// Fuzzes the shm translator (translator.h): the layer above the record decoders that turns
// what producers wrote into their rings into series, spans and logs. Rings are writable by
// local users, so every record payload is hostile. The input is a script (below) of records
// from up to four producers, ring attach/close by owners, metric collection and event takes,
// played against one translator with a small series limit and key table.
//
// Checked after every step: no crash or sanitizer report; every delivered record is counted
// once by type; distinct series never exceed max_series; RejectedRecords() (what the ring
// reader reports to producers' flushes) never decreases and is at least the records whose
// payload did not decode; each TakeEvents() hands over exactly the spans and logs counted
// since the last one; a full CollectMetrics() emits at most one point per series.
//
// Script: repeated steps, each starting with an op byte:
//   op % 5 == 0  record: type byte (% STROBE_REC_TYPE_COUNT), producer byte (% 4), length
//                byte n, then n payload bytes (fewer at the end of the input)
//   op % 5 == 1  attach: producer byte (% 4), owner uid byte
//   op % 5 == 2  close: producer byte (% 4)
//   op % 5 == 3  CollectMetrics (op bit 7 set: all series)
//   op % 5 == 4  TakeEvents
// Seeds (corpus/translator) are definitions, points, spans, events, batches and merges as the
// real Producer writes them.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "strobe/shm/record.h"
#include "strobe/shm/ring_abi.h"
#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"
#include "strobed/receivers/shm/translator.h"

namespace {

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

constexpr size_t kMaxSeries = 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strobed::event::BatchPool pool;
  strobed::event::KeyTable keys(64);
  strobed::receivers::ShmTranslatorOptions options;
  options.max_series = kMaxSeries;
  options.dense_series_ids = 64;
  options.max_new_keys_per_ring = 16;
  strobed::receivers::ShmTranslator t(pool, keys, options);
  t.set_wall_clock([] { return uint64_t{1'700'000'000'000'000'000}; });

  size_t i = 0;
  auto byte = [&]() -> uint8_t { return i < size ? data[i++] : 0; };
  uint64_t delivered = 0;
  uint64_t rejected = 0;
  uint64_t events_taken = 0;  // spans + logs handed over by TakeEvents
  uint64_t now = 1'700'000'000'000'000'000;
  std::vector<uint8_t> payload;
  while (i < size) {
    const uint8_t op = byte();
    switch (op % 5) {
      case 0: {
        const auto type = static_cast<uint16_t>(byte() % STROBE_REC_TYPE_COUNT);
        const uint32_t producer = byte() % 4;
        const size_t n = byte();
        payload.assign(data + i, data + std::min(size, i + n));
        i = std::min(size, i + n);
        strobe::shm::RecordView v{producer, type, payload.data(),
                                  static_cast<uint32_t>(payload.size())};
        t.OnRecord(v);
        ++delivered;
        break;
      }
      case 1: {
        const uint32_t producer = byte() % 4;
        t.OnRingAttached(producer, byte());
        break;
      }
      case 2:
        t.OnRingClosed(byte() % 4);
        break;
      case 3: {
        const bool all = (op & 0x80) != 0;
        now += 1'000'000'000;
        strobed::event::BatchPtr b = t.CollectMetrics(now, all);
        if (b) {
          FUZZ_CHECK(b->metrics().size() <= t.stats().series);
          FUZZ_CHECK(b->spans().empty() && b->logs().empty());
        }
        break;
      }
      default: {
        strobed::event::BatchPtr b = t.TakeEvents();
        const uint64_t counted = t.stats().spans + t.stats().logs;
        const uint64_t got = b ? b->spans().size() + b->logs().size() : 0;
        FUZZ_CHECK(events_taken + got == counted);
        events_taken = counted;
        FUZZ_CHECK(t.pending_events() == 0);
        break;
      }
    }
    const auto& s = t.stats();
    uint64_t by_type = 0;
    for (uint64_t c : s.records) by_type += c;
    FUZZ_CHECK(by_type == delivered);
    FUZZ_CHECK(s.series <= kMaxSeries);
    FUZZ_CHECK(t.RejectedRecords() >= rejected);
    rejected = t.RejectedRecords();
    FUZZ_CHECK(rejected >= s.invalid_records);
    FUZZ_CHECK(rejected <= delivered);
  }
  return 0;
}
