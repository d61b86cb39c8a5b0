#pragma once

// strobe::shm record decoding: typed, validated views of the payloads defined in ring_abi.h.
// Every function treats its input as untrusted (it was written by another process) and returns
// false on any inconsistency; nothing here asserts, throws or allocates except where a vector
// is passed in. Views point into the payload; copy what must outlive the RecordSink call.
//
// Thread class: thread-safe (pure functions).

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "strobe/shm/ring_abi.h"

namespace strobe::shm {

// One record as the reader hands it out. `producer` is the segment id (the producer pid);
// series ids are unique only within one producer.
struct RecordView {
  uint32_t producer = 0;
  uint16_t type = 0;
  const uint8_t* payload = nullptr;
  uint32_t length = 0;
};

using Pairs = std::vector<std::pair<std::string_view, std::string_view>>;

struct PointRecord {  // COUNTER_ADD, GAUGE_SET, HISTOGRAM_RECORD
  uint64_t series_id = 0;
  uint64_t timestamp_ns = 0;
  uint64_t delta = 0;  // COUNTER_ADD
  double value = 0.0;  // GAUGE_SET, HISTOGRAM_RECORD
};

struct SeriesDefineRecord {
  uint64_t series_id = 0;
  strobe_series_kind kind = STROBE_KIND_COUNTER;
  std::string_view name;
  Pairs labels;
  // The optional metadata block (ring_abi.h): meta_version 0 when the record has none.
  uint32_t meta_version = 0;
  std::string_view description;
  std::string_view unit;
  uint32_t bounds_count = 0;
  const uint8_t* bounds = nullptr;  // bounds_count f64, unaligned: use Bound(i)
  double Bound(uint32_t i) const;
};

struct SpanRecord {
  uint8_t trace_id[16] = {};
  uint64_t span_id = 0;
  uint64_t parent_span_id = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  std::string_view name;
  Pairs attributes;
};

struct EventRecord {
  uint64_t timestamp_ns = 0;
  std::string_view name;
  Pairs attributes;
};

struct BatchRecord {
  uint32_t count = 0;
  strobe_series_kind kind = STROBE_KIND_COUNTER;
  const uint8_t* entries = nullptr;  // count * 24 bytes: u64 series, u64 ts, f64 value
  // Entry i (i < count); `entries` is unaligned, so fields are copied out.
  void Entry(uint32_t i, uint64_t* series_id, uint64_t* timestamp_ns, double* value) const;
};

struct HistogramMergeRecord {
  uint64_t series_id = 0;
  uint64_t timestamp_ns = 0;
  uint64_t count = 0;
  uint64_t zero_count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  int32_t scale = 0;
  int32_t offset = 0;
  uint32_t n = 0;
  const uint8_t* counts = nullptr;  // n * 8 bytes, unaligned: use Count(i)
  uint64_t Count(uint32_t i) const;
};

bool DecodePoint(const RecordView& r, PointRecord* out);
// Checks the framing only (lengths, reserved, series id); the consumer validates the
// distribution (count == zero_count + buckets, scale) before merging it.
bool DecodeHistogramMerge(const RecordView& r, HistogramMergeRecord* out);
// Also decodes the metadata block: sizes within the STROBE_DEFINE_MAX_* limits, no NUL in the
// description or unit, bounds finite and strictly increasing and only on HISTOGRAM series.
bool DecodeSeriesDefine(const RecordView& r, SeriesDefineRecord* out);
bool DecodeSpan(const RecordView& r, SpanRecord* out);
bool DecodeEvent(const RecordView& r, EventRecord* out);
bool DecodeBatch(const RecordView& r, BatchRecord* out);
bool DecodePing(const RecordView& r, uint64_t* seq);
// "k\0v\0..." exactly filling `bytes` (empty is valid); names and values are non-empty keys.
bool DecodePairs(std::string_view bytes, Pairs* out);

}  // namespace strobe::shm
