// Fuzz target: the input is taken as the raw bytes of a ring segment (header + data area, so
// positions, frames and payloads are all attacker-chosen), and separately as single records
// handed to every decoder. The reader must never read outside the mapping, loop forever or
// crash; every decoder must accept or reject without UB.
#include <cstdint>
#include <cstring>
#include <vector>

#include "strobe/shm/reader.h"
#include "strobe/shm/record.h"

namespace {

using namespace strobe::shm;  // NOLINT(google-build-using-namespace): fuzz harness

struct DecodingSink : RecordSink {
  void OnRecord(const RecordView& r) override {
    PointRecord p;
    SeriesDefineRecord d;
    SpanRecord s;
    EventRecord e;
    BatchRecord b;
    uint64_t seq;
    switch (r.type) {
      case STROBE_REC_SERIES_DEFINE:
        if (DecodeSeriesDefine(r, &d)) {
          accepted += 1 + d.description.size() + d.unit.size();
          for (uint32_t i = 0; i < d.bounds_count; ++i) accepted += d.Bound(i) > 0 ? 1 : 0;
        }
        break;
      case STROBE_REC_SPAN:
        accepted += DecodeSpan(r, &s) ? 1 : 0;
        break;
      case STROBE_REC_EVENT:
        accepted += DecodeEvent(r, &e) ? 1 : 0;
        break;
      case STROBE_REC_BATCH:
        if (DecodeBatch(r, &b)) {
          for (uint32_t i = 0; i < b.count; ++i) {
            uint64_t id, ts;
            double v;
            b.Entry(i, &id, &ts, &v);
            accepted += id & 1;
          }
        }
        break;
      case STROBE_REC_PING:
        accepted += DecodePing(r, &seq) ? 1 : 0;
        break;
      case STROBE_REC_HISTOGRAM_MERGE: {
        HistogramMergeRecord h;
        if (DecodeHistogramMerge(r, &h)) {
          for (uint32_t i = 0; i < h.n; ++i) accepted += h.Count(i) & 1;
        }
        break;
      }
      default:
        accepted += DecodePoint(r, &p) ? 1 : 0;
        break;
    }
  }
  uint64_t accepted = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DecodingSink sink;
  // 1. As a whole segment. The first 256 bytes are the header; make it valid enough (magic,
  // version, capacity 4096) half of the time so the frame walk is reached.
  constexpr size_t kCap = STROBE_RING_MIN_CAPACITY;
  std::vector<uint8_t> seg(STROBE_RING_HEADER_BYTES + kCap, 0);
  std::memcpy(seg.data(), data, std::min(size, seg.size()));
  auto* h = reinterpret_cast<strobe_ring_header*>(seg.data());
  if (size > 0 && (data[0] & 1) != 0) {
    h->magic = STROBE_RING_MAGIC;
    h->version = STROBE_RING_VERSION;
    h->header_bytes = STROBE_RING_HEADER_BYTES;
    h->capacity_bytes = kCap;
    h->write_pos %= 1u << 20;
    h->read_pos = h->write_pos - (h->read_pos % (kCap + 64));
  }
  auto reader = RingReader::Attach(seg.data(), seg.size());
  if (reader.ok()) {
    ReaderStats stats;
    for (int i = 0; i < 4 && reader->Drain(sink, 1024, stats) > 0; ++i) {
    }
  }
  // 2. As one record payload of every type.
  for (uint16_t t = 0; t < STROBE_REC_TYPE_COUNT; ++t) {
    RecordView v{1, t, data, static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX))};
    sink.OnRecord(v);
  }
  return 0;
}
