#include "strobe/shm/record.h"

#include <cmath>
#include <cstring>

namespace strobe::shm {
namespace {

uint64_t U64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint32_t U32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
bool ValidKind(uint32_t k) { return k >= STROBE_KIND_COUNTER && k <= STROBE_KIND_HISTOGRAM; }
std::string_view Text(const uint8_t* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

}  // namespace

void BatchRecord::Entry(uint32_t i, uint64_t* series_id, uint64_t* timestamp_ns,
                        double* value) const {
  const uint8_t* e = entries + size_t{i} * 24;
  *series_id = U64(e);
  *timestamp_ns = U64(e + 8);
  std::memcpy(value, e + 16, 8);
}

bool DecodePairs(std::string_view bytes, Pairs* out) {
  out->clear();
  while (!bytes.empty()) {
    const size_t k = bytes.find('\0');
    if (k == 0 || k == std::string_view::npos) return false;
    std::string_view key = bytes.substr(0, k);
    bytes.remove_prefix(k + 1);
    const size_t v = bytes.find('\0');
    if (v == std::string_view::npos) return false;
    out->emplace_back(key, bytes.substr(0, v));
    bytes.remove_prefix(v + 1);
  }
  return true;
}

uint64_t HistogramMergeRecord::Count(uint32_t i) const { return U64(counts + size_t{i} * 8); }

bool DecodeHistogramMerge(const RecordView& r, HistogramMergeRecord* out) {
  constexpr uint32_t kFixed = 8 * 7 + 4 * 4;
  if (r.type != STROBE_REC_HISTOGRAM_MERGE || r.length < kFixed) return false;
  const uint8_t* p = r.payload;
  out->series_id = U64(p);
  out->timestamp_ns = U64(p + 8);
  out->count = U64(p + 16);
  out->zero_count = U64(p + 24);
  std::memcpy(&out->sum, p + 32, 8);
  std::memcpy(&out->min, p + 40, 8);
  std::memcpy(&out->max, p + 48, 8);
  std::memcpy(&out->scale, p + 56, 4);
  std::memcpy(&out->offset, p + 60, 4);
  out->n = U32(p + 64);
  const uint32_t reserved = U32(p + 68);
  if (reserved != 0 || uint64_t{kFixed} + uint64_t{out->n} * 8 != r.length) return false;
  out->counts = p + kFixed;
  return out->series_id != 0;
}

bool DecodePoint(const RecordView& r, PointRecord* out) {
  if (r.length != 24) return false;
  if (r.type != STROBE_REC_COUNTER_ADD && r.type != STROBE_REC_GAUGE_SET &&
      r.type != STROBE_REC_HISTOGRAM_RECORD) {
    return false;
  }
  out->series_id = U64(r.payload);
  out->timestamp_ns = U64(r.payload + 8);
  if (r.type == STROBE_REC_COUNTER_ADD) {
    out->delta = U64(r.payload + 16);
    out->value = 0.0;
  } else {
    std::memcpy(&out->value, r.payload + 16, 8);
    out->delta = 0;
  }
  return out->series_id != 0;
}

double SeriesDefineRecord::Bound(uint32_t i) const {
  double v;
  std::memcpy(&v, bounds + size_t{i} * 8, 8);
  return v;
}

namespace {

// The metadata block after the text of a SERIES_DEFINE (`bytes` long, > 0).
bool DecodeDefineMeta(const uint8_t* p, uint64_t bytes, SeriesDefineRecord* out) {
  if (bytes < STROBE_DEFINE_META_BYTES) return false;
  out->meta_version = U32(p);
  const uint64_t desc = U32(p + 4);
  const uint64_t unit = U32(p + 8);
  out->bounds_count = U32(p + 12);
  if (out->meta_version == 0 || desc > STROBE_DEFINE_MAX_DESCRIPTION ||
      unit > STROBE_DEFINE_MAX_UNIT || out->bounds_count > STROBE_DEFINE_MAX_BOUNDS) {
    return false;
  }
  const uint64_t need = STROBE_DEFINE_META_BYTES + desc + unit + uint64_t{out->bounds_count} * 8;
  // Version 1 fills the block exactly; a later version may append fields we do not know.
  if (need > bytes || (out->meta_version == STROBE_DEFINE_META_VERSION && need != bytes)) {
    return false;
  }
  out->description = Text(p + STROBE_DEFINE_META_BYTES, desc);
  out->unit = Text(p + STROBE_DEFINE_META_BYTES + desc, unit);
  if (out->description.find('\0') != std::string_view::npos ||
      out->unit.find('\0') != std::string_view::npos) {
    return false;
  }
  out->bounds = p + STROBE_DEFINE_META_BYTES + desc + unit;
  if (out->bounds_count > 0 && out->kind != STROBE_KIND_HISTOGRAM) return false;
  for (uint32_t i = 0; i < out->bounds_count; ++i) {
    const double b = out->Bound(i);
    if (!std::isfinite(b) || (i > 0 && !(b > out->Bound(i - 1)))) return false;
  }
  return true;
}

}  // namespace

bool DecodeSeriesDefine(const RecordView& r, SeriesDefineRecord* out) {
  if (r.type != STROBE_REC_SERIES_DEFINE || r.length < 16) return false;
  out->series_id = U64(r.payload);
  const uint32_t kind = U32(r.payload + 8);
  const uint32_t text = U32(r.payload + 12);
  if (out->series_id == 0 || !ValidKind(kind) || text > r.length - 16) return false;
  out->kind = static_cast<strobe_series_kind>(kind);
  out->meta_version = 0;
  out->description = {};
  out->unit = {};
  out->bounds_count = 0;
  out->bounds = nullptr;
  std::string_view t = Text(r.payload + 16, text);
  const size_t nul = t.find('\0');
  if (nul == 0 || nul == std::string_view::npos) return false;
  out->name = t.substr(0, nul);
  if (!DecodePairs(t.substr(nul + 1), &out->labels)) return false;
  const uint64_t meta = uint64_t{r.length} - 16 - text;
  return meta == 0 || DecodeDefineMeta(r.payload + 16 + text, meta, out);
}

bool DecodeSpan(const RecordView& r, SpanRecord* out) {
  constexpr uint32_t kFixed = 16 + 8 * 4 + 8;
  if (r.type != STROBE_REC_SPAN || r.length < kFixed) return false;
  std::memcpy(out->trace_id, r.payload, 16);
  out->span_id = U64(r.payload + 16);
  out->parent_span_id = U64(r.payload + 24);
  out->start_ns = U64(r.payload + 32);
  out->end_ns = U64(r.payload + 40);
  const uint64_t name = U32(r.payload + 48);
  const uint64_t attrs = U32(r.payload + 52);
  if (kFixed + name + attrs != r.length || name == 0 || out->span_id == 0) return false;
  if (out->end_ns < out->start_ns) return false;
  out->name = Text(r.payload + kFixed, name);
  return DecodePairs(Text(r.payload + kFixed + name, attrs), &out->attributes);
}

bool DecodeEvent(const RecordView& r, EventRecord* out) {
  constexpr uint32_t kFixed = 16;
  if (r.type != STROBE_REC_EVENT || r.length < kFixed) return false;
  out->timestamp_ns = U64(r.payload);
  const uint64_t name = U32(r.payload + 8);
  const uint64_t attrs = U32(r.payload + 12);
  if (kFixed + name + attrs != r.length || name == 0) return false;
  out->name = Text(r.payload + kFixed, name);
  return DecodePairs(Text(r.payload + kFixed + name, attrs), &out->attributes);
}

bool DecodeBatch(const RecordView& r, BatchRecord* out) {
  if (r.type != STROBE_REC_BATCH || r.length < 8) return false;
  out->count = U32(r.payload);
  const uint32_t kind = U32(r.payload + 4);
  if (!ValidKind(kind) || uint64_t{out->count} * 24 + 8 != r.length) return false;
  out->kind = static_cast<strobe_series_kind>(kind);
  out->entries = r.payload + 8;
  return true;
}

bool DecodePing(const RecordView& r, uint64_t* seq) {
  if (r.type != STROBE_REC_PING || r.length != 8) return false;
  *seq = U64(r.payload);
  return true;
}

}  // namespace strobe::shm
