#include "strobed/receivers/shm/translator.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <utility>

#include "strobe/base/clock.h"
#include "strobe/metrics/labels.h"
#include "strobed/event/span.h"

namespace strobed::receivers {

using strobe::shm::RecordView;

struct ShmTranslator::Series {
  std::string name;
  strobe_series_kind kind = STROBE_KIND_COUNTER;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<event::KeyId> label_keys;      // interned keys of `labels` (same order)
  uint64_t start_ns = 0;                     // first time the series was defined (Unix ns)
  uint64_t counter = 0;                      // COUNTER: total of every producer, whole units
  uint32_t counter_nanos = 0;                // COUNTER: and 1e-9 units below one, < 1e9
  double gauge = 0;                          // GAUGE: last value set
  uint64_t last_ts = 0;                      // newest producer timestamp applied (0: none)
  int64_t owner_uid = -1;                    // owner of the rings that define it (-1: unknown)
  strobe::metrics::HistogramData histogram;  // HISTOGRAM without explicit bounds
  // Metadata of the first definition that carried it (description, UCUM unit).
  std::string description;
  std::string unit;
  // HISTOGRAM with explicit bounds: bucket_counts has bounds.size() + 1 entries (the last is
  // (bounds.back(), +inf)); count/sum/min/max of every observation (negatives allowed, as
  // Prometheus client libraries allow them).
  std::vector<double> bounds;
  std::vector<uint64_t> bucket_counts;
  uint64_t explicit_count = 0;
  double explicit_sum = 0;
  double explicit_min = 0;
  double explicit_max = 0;
  bool dirty = false;
};

namespace {

std::string Identity(int64_t owner_uid, std::string_view name, strobe_series_kind kind,
                     const strobe::shm::Pairs& labels) {
  std::string id;
  id.reserve(name.size() + 24 + labels.size() * 16);
  if (owner_uid >= 0) {
    id.append(std::to_string(owner_uid));
    id.push_back('\0');
  }
  id.push_back(static_cast<char>('0' + static_cast<int>(kind)));
  id.append(name);
  for (const auto& [k, v] : labels) {
    id.push_back('\0');
    id.append(k);
    id.push_back('\0');
    id.append(v);
  }
  return id;
}

constexpr uint32_t kNanosPerUnit = 1'000'000'000;

// A counter increment v (finite, 0 <= v < 2^64) as whole units plus 1e-9 units: the fraction
// is rounded to the nearest unit once (v - floor(v) is exact in binary64).
void SplitIncrement(double v, uint64_t* whole, uint32_t* nanos) {
  const double w = std::floor(v);
  const double frac = std::nearbyint((v - w) * 1e9);
  *whole = static_cast<uint64_t>(w);
  *nanos = static_cast<uint32_t>(frac);
  if (*nanos >= kNanosPerUnit) {  // 0.9999999996 rounds up to the next unit
    *nanos -= kNanosPerUnit;
    ++*whole;
  }
}

std::optional<event::SpanKind> ParseKind(std::string_view v) {
  if (v == "server") return event::SpanKind::kServer;
  if (v == "client") return event::SpanKind::kClient;
  if (v == "producer") return event::SpanKind::kProducer;
  if (v == "consumer") return event::SpanKind::kConsumer;
  if (v == "internal") return event::SpanKind::kInternal;
  return std::nullopt;
}

}  // namespace

ShmTranslator::ShmTranslator(event::BatchPool& pool, event::KeyTable& keys,
                             ShmTranslatorOptions options)
    : pool_(pool),
      keys_(keys),
      options_(options),
      key_quota_(options.max_new_keys_per_ring, std::max<uint64_t>(1, options.new_keys_window_ns)),
      // Interned now, while the table has room: a table filled later by clients must not strip
      // resources (a point without process.user.id would merge two users' series on export).
      service_key_(keys.Intern("service.name")),
      pid_key_(keys.Intern("process.pid")),
      uid_key_(keys.Intern("process.user.id")) {}

event::KeyBudget ShmTranslator::RingBudget(uint32_t producer) {
  // No allocation: the source text lives in key_source_ until the next call.
  static constexpr std::string_view kPrefix = "ring ";
  std::memcpy(key_source_, kPrefix.data(), kPrefix.size());
  char* end =
      std::to_chars(key_source_ + kPrefix.size(), key_source_ + sizeof(key_source_), producer).ptr;
  event::KeyBudget budget;
  budget.quota = &key_quota_;
  budget.source = std::string_view(key_source_, static_cast<size_t>(end - key_source_));
  budget.now_ns = Now();
  return budget;
}

ShmTranslator::~ShmTranslator() = default;

uint64_t ShmTranslator::Now() const { return wall_ns_ ? wall_ns_() : strobe::FastWallNowNs(); }

void ShmTranslator::OnRecord(const RecordView& r) {
  if (r.type < STROBE_REC_TYPE_COUNT) ++stats_.records[r.type];
  switch (r.type) {
    case STROBE_REC_SERIES_DEFINE:
      Define(r);
      return;
    case STROBE_REC_COUNTER_ADD:
    case STROBE_REC_GAUGE_SET:
    case STROBE_REC_HISTOGRAM_RECORD:
      ApplyPoint(r.type, r);
      return;
    case STROBE_REC_BATCH:
      ApplyBatch(r);
      return;
    case STROBE_REC_HISTOGRAM_MERGE:
      MergeHistogram(r);
      return;
    case STROBE_REC_SPAN:
      AddSpan(r);
      return;
    case STROBE_REC_EVENT:
      AddEvent(r);
      return;
    case STROBE_REC_PING: {
      // The work (handing on what came before) happened in ReadyToAck; here it is counted.
      uint64_t seq = 0;
      if (!strobe::shm::DecodePing(r, &seq)) ++stats_.invalid_records;
      return;
    }
    default:
      ++stats_.invalid_records;  // the reader validates types; defensive
      return;
  }
}

bool ShmTranslator::ReadyToAck(uint32_t producer) {
  (void)producer;  // one pipeline for every ring: a PING waits for everything read before it
  return on_ping_ ? on_ping_() : true;
}

void ShmTranslator::OnRingClosed(uint32_t producer) {
  producers_.erase(producer);
  last_producer_ = nullptr;
}

void ShmTranslator::OnRingAttached(uint32_t producer, uint32_t owner_uid) {
  Producer& p = producers_[producer];
  p = Producer{};
  p.owner_uid = owner_uid;
  last_producer_ = nullptr;  // the map may have rehashed
}

uint64_t ShmTranslator::RejectedRecords() const {
  return stats_.invalid_records + stats_.unknown_series + stats_.invalid_values +
         stats_.kind_mismatch + stats_.series_limit + stats_.key_table_full + stats_.key_too_long +
         stats_.key_source_limit + stats_.invalid_utf8;
}

void ShmTranslator::CountRefusedKey(const event::KeyBudget& budget) {
  // Each cause has its own reason, so the self-metric says what a producer can do about it:
  // a full table (caused by anyone, for everyone), a key too long, or this ring's own quota of
  // new keys (max_new_keys_per_ring) used up.
  switch (budget.last_refusal) {
    case event::KeyRefusal::kTableFull:
      ++stats_.key_table_full;
      break;
    case event::KeyRefusal::kTooLong:
      ++stats_.key_too_long;
      break;
    default:
      ++stats_.key_source_limit;
      break;
  }
}

int64_t ShmTranslator::OwnerOf(uint32_t producer) const {
  auto it = producers_.find(producer);
  return it == producers_.end() ? -1 : it->second.owner_uid;
}

ShmTranslator::Series* ShmTranslator::Lookup(uint32_t producer, uint64_t series_id) {
  Producer* p;
  if (last_producer_ != nullptr && last_producer_id_ == producer) {
    p = last_producer_;
  } else {
    auto it = producers_.find(producer);
    if (it == producers_.end()) return nullptr;
    p = &it->second;
    last_producer_ = p;
    last_producer_id_ = producer;
  }
  if (series_id < p->dense.size()) return p->dense[series_id];
  if (series_id < options_.dense_series_ids) return nullptr;
  auto it = p->sparse.find(series_id);
  return it == p->sparse.end() ? nullptr : it->second;
}

void ShmTranslator::Define(const RecordView& r) {
  strobe::shm::SeriesDefineRecord d;
  if (!strobe::shm::DecodeSeriesDefine(r, &d)) {
    ++stats_.invalid_records;
    return;
  }
  const int64_t owner = OwnerOf(r.producer);
  std::string identity = Identity(owner, d.name, d.kind, d.labels);
  Series* series = nullptr;
  if (!strobe::metrics::IsValidUtf8(d.description) || !strobe::metrics::IsValidUtf8(d.unit)) {
    ++stats_.invalid_utf8;  // shown on /metrics (# HELP, # UNIT) and exported
    return;
  }
  if (auto it = by_identity_.find(identity); it != by_identity_.end()) {
    series = it->second.get();
    bool same = series->bounds.size() == d.bounds_count;
    for (uint32_t i = 0; same && i < d.bounds_count; ++i) same = series->bounds[i] == d.Bound(i);
    if (!same) {
      // Explicit bounds are the series' shape: another producer's different buckets (or none)
      // cannot be added to it, so the definition is refused like a kind mismatch.
      ++stats_.kind_mismatch;
      return;
    }
    if (series->description.empty() && !d.description.empty()) {
      series->description.assign(d.description);
    }
    if (series->unit.empty() && !d.unit.empty()) series->unit.assign(d.unit);
  } else {
    if (by_identity_.size() >= options_.max_series) {  // (the decoder rejects empty names)
      ++stats_.series_limit;
      return;
    }
    for (const auto& [k, v] : d.labels) {
      if (!strobe::metrics::IsValidUtf8(v)) {  // refused here rather than stored, never shown
        ++stats_.invalid_utf8;
        return;
      }
    }
    auto s = std::make_unique<Series>();
    s->name.assign(d.name);
    s->kind = d.kind;
    s->owner_uid = owner;
    event::KeyBudget budget = RingBudget(r.producer);
    for (const auto& [k, v] : d.labels) {
      // Pinned: the series keeps its label ids for the daemon's lifetime (series are never
      // erased), outside any batch, so they must never be reclaimed.
      std::optional<event::KeyId> key = keys_.InternPinned(k, budget);
      if (!key) {
        // The series cannot be represented without this label: refused whole (never stored
        // under another series' identity), and its points count as unknown_series.
        CountRefusedKey(budget);
        return;
      }
      s->labels.emplace_back(std::string(k), std::string(v));
      s->label_keys.push_back(*key);
    }
    s->description.assign(d.description);
    s->unit.assign(d.unit);
    if (d.bounds_count > 0) {
      s->bounds.resize(d.bounds_count);
      for (uint32_t i = 0; i < d.bounds_count; ++i) s->bounds[i] = d.Bound(i);
      s->bucket_counts.assign(d.bounds_count + 1, 0);
    }
    s->start_ns = Now();
    series = s.get();
    by_identity_.emplace(std::move(identity), std::move(s));
    stats_.series = by_identity_.size();
  }
  // Map the producer's id to it (a redefinition of an id replaces the mapping).
  Producer& p = producers_[r.producer];
  last_producer_ = nullptr;  // the map may have rehashed
  if (d.series_id < options_.dense_series_ids) {
    if (d.series_id >= p.dense.size()) p.dense.resize(d.series_id + 1, nullptr);
    p.dense[d.series_id] = series;
  } else {
    p.sparse[d.series_id] = series;
  }
}

void ShmTranslator::Apply(Series& s, strobe_series_kind kind, uint64_t delta, double value,
                          uint64_t ts, uint32_t nanos) {
  if (kind != s.kind) {
    ++stats_.kind_mismatch;
    return;
  }
  switch (kind) {
    case STROBE_KIND_COUNTER:
      s.counter += delta;
      if (nanos != 0) {
        s.counter_nanos += nanos;
        if (s.counter_nanos >= kNanosPerUnit) {
          s.counter_nanos -= kNanosPerUnit;
          ++s.counter;
        }
      }
      break;
    case STROBE_KIND_GAUGE:
      // Points of one producer arrive in order; across producers the later timestamp wins
      // when both carry one, else arrival order.
      if (ts != 0 && ts < s.last_ts) return;
      s.gauge = value;
      break;
    case STROBE_KIND_HISTOGRAM:
      if (!s.bounds.empty()) {
        if (!std::isfinite(value)) {
          ++stats_.invalid_values;
          return;
        }
        // Bucket i counts (bounds[i-1], bounds[i]]: the first bound >= value.
        const size_t i = static_cast<size_t>(
            std::lower_bound(s.bounds.begin(), s.bounds.end(), value) - s.bounds.begin());
        ++s.bucket_counts[i];
        s.explicit_min = s.explicit_count == 0 ? value : std::min(s.explicit_min, value);
        s.explicit_max = s.explicit_count == 0 ? value : std::max(s.explicit_max, value);
        ++s.explicit_count;
        s.explicit_sum += value;
      } else if (!s.histogram.Record(value)) {
        ++stats_.invalid_values;
        return;
      }
      break;
  }
  if (ts > s.last_ts) s.last_ts = ts;
  ++stats_.points;
  MarkDirty(s);
}

void ShmTranslator::MarkDirty(Series& s) {
  if (s.dirty) return;
  s.dirty = true;
  dirty_.push_back(&s);
}

void ShmTranslator::ApplyPoint(uint16_t type, const RecordView& r) {
  strobe::shm::PointRecord p;
  if (!strobe::shm::DecodePoint(r, &p)) {
    ++stats_.invalid_records;
    return;
  }
  Series* s = Lookup(r.producer, p.series_id);
  if (s == nullptr) {
    ++stats_.unknown_series;
    return;
  }
  strobe_series_kind kind = type == STROBE_REC_COUNTER_ADD ? STROBE_KIND_COUNTER
                            : type == STROBE_REC_GAUGE_SET ? STROBE_KIND_GAUGE
                                                           : STROBE_KIND_HISTOGRAM;
  Apply(*s, kind, p.delta, p.value, p.timestamp_ns);
}

void ShmTranslator::ApplyBatch(const RecordView& r) {
  strobe::shm::BatchRecord b;
  if (!strobe::shm::DecodeBatch(r, &b)) {
    ++stats_.invalid_records;
    return;
  }
  for (uint32_t i = 0; i < b.count; ++i) {
    uint64_t id = 0, ts = 0;
    double v = 0;
    b.Entry(i, &id, &ts, &v);
    Series* s = Lookup(r.producer, id);
    if (s == nullptr) {
      ++stats_.unknown_series;
      continue;
    }
    uint64_t delta = 0;
    uint32_t nanos = 0;
    if (b.kind == STROBE_KIND_COUNTER) {
      // Counter batches carry the increment as a double: non-negative, finite, below 2^64.
      if (!(v >= 0) || !std::isfinite(v) || v >= 0x1p64) {
        ++stats_.invalid_values;
        continue;
      }
      SplitIncrement(v, &delta, &nanos);
    }
    Apply(*s, b.kind, delta, v, ts, nanos);
  }
}

void ShmTranslator::MergeHistogram(const RecordView& r) {
  strobe::shm::HistogramMergeRecord h;
  if (!strobe::shm::DecodeHistogramMerge(r, &h)) {
    ++stats_.invalid_records;
    return;
  }
  Series* s = Lookup(r.producer, h.series_id);
  if (s == nullptr) {
    ++stats_.unknown_series;
    return;
  }
  if (s->kind != STROBE_KIND_HISTOGRAM || !s->bounds.empty()) {
    // An exponential delta cannot be split into explicit buckets exactly.
    ++stats_.kind_mismatch;
    return;
  }
  // FromSnapshot validates what another process sent (scale, bucket range, counts adding
  // up, finite sum, min <= max) before anything is merged.
  strobe::snapshot::HistogramValue v;
  v.count = h.count;
  v.zero_count = h.zero_count;
  v.sum = h.sum;
  v.min = h.min;
  v.max = h.max;
  v.scale = h.scale;
  v.positive_offset = h.offset;
  v.positive_counts.resize(h.n);
  for (uint32_t i = 0; i < h.n; ++i) v.positive_counts[i] = h.Count(i);
  strobe::metrics::HistogramData delta;
  if (!delta.FromSnapshot(v)) {
    ++stats_.invalid_values;
    return;
  }
  s->histogram.Merge(delta);
  if (h.timestamp_ns > s->last_ts) s->last_ts = h.timestamp_ns;
  stats_.points += h.count;
  MarkDirty(*s);
}

event::Batch& ShmTranslator::Events() {
  if (!events_) events_ = pool_.Acquire();
  return *events_;
}

std::span<const event::Attribute> ShmTranslator::Attributes(event::Batch& b,
                                                            const strobe::shm::Pairs& pairs,
                                                            uint32_t producer, uint32_t& dropped) {
  scratch_attrs_.clear();
  event::KeyBudget budget = RingBudget(producer);
  for (const auto& [k, v] : pairs) {
    std::optional<event::KeyId> key = keys_.Intern(k, budget);
    if (!key) {  // also counted by the key table, by reason
      ++dropped;
      ++stats_.dropped_attributes;
      continue;
    }
    scratch_attrs_.push_back({*key, event::Value::String(b.arena().CopyString(v))});
  }
  return b.arena().CopyArray<event::Attribute>(scratch_attrs_);
}

const event::Resource* ShmTranslator::ResourceFor(event::Batch& b, uint32_t producer,
                                                  std::string_view service) {
  static constexpr std::string_view kUnknown = "unknown_service";
  if (service.empty()) service = kUnknown;
  // A handful of (producer, service) pairs per batch: a linear scan, no allocation per span.
  for (const CachedResource& c : resources_) {
    if (c.producer == producer && c.service == service) return c.resource;
  }
  const std::string_view owned = service == kUnknown ? kUnknown : b.arena().CopyString(service);
  auto* attrs = b.arena().AllocateArray<event::Attribute>(3);
  size_t n = 0;
  if (service_key_) attrs[n++] = {*service_key_, event::Value::String(owned)};
  if (pid_key_) attrs[n++] = {*pid_key_, event::Value::Int(producer)};
  if (const int64_t uid = OwnerOf(producer); uid >= 0 && uid_key_) {
    attrs[n++] = {*uid_key_, event::Value::Int(uid)};
  }
  auto* res = b.arena().AllocateArray<event::Resource>(1);
  new (res) event::Resource{};
  res->attributes = {attrs, n};
  resources_.push_back({producer, owned, res});
  return res;
}

void ShmTranslator::AddSpan(const RecordView& r) {
  strobe::shm::SpanRecord rec;
  if (!strobe::shm::DecodeSpan(r, &rec)) {
    ++stats_.invalid_records;
    return;
  }
  event::Batch& b = Events();
  event::Span& s = b.AddSpan();
  std::memcpy(s.trace_id.bytes.data(), rec.trace_id, 16);
  s.span_id = event::SpanId::FromValue(rec.span_id);
  if (rec.parent_span_id != 0) s.parent_span_id = event::SpanId::FromValue(rec.parent_span_id);
  s.name = b.arena().CopyString(rec.name);
  s.start_ns = rec.start_ns;
  s.end_ns = rec.end_ns;
  s.kind = event::SpanKind::kInternal;
  std::string_view service;
  scratch_pairs_.clear();
  for (const auto& [k, v] : rec.attributes) {
    if (k == "span.kind") {
      if (auto kind = ParseKind(v)) s.kind = *kind;
    } else if (k == "otel.status_code") {
      if (v == "ERROR") s.status.code = event::StatusCode::kError;
      if (v == "OK") s.status.code = event::StatusCode::kOk;
    } else if (k == "otel.status_description") {
      s.status.message = b.arena().CopyString(v);
    } else if (k == "service.name") {
      service = v;
    } else {
      if (k == "error" && v == "true" && s.status.code == event::StatusCode::kUnset) {
        s.status.code = event::StatusCode::kError;
      }
      scratch_pairs_.emplace_back(k, v);
    }
  }
  s.attributes = Attributes(b, scratch_pairs_, r.producer, s.dropped_attributes_count);
  s.resource = ResourceFor(b, r.producer, service);
  ++stats_.spans;
}

void ShmTranslator::AddEvent(const RecordView& r) {
  strobe::shm::EventRecord rec;
  if (!strobe::shm::DecodeEvent(r, &rec)) {
    ++stats_.invalid_records;
    return;
  }
  event::Batch& b = Events();
  event::LogRecord& l = b.AddLog();
  const uint64_t now = Now();
  l.time_ns = rec.timestamp_ns != 0 ? rec.timestamp_ns : now;
  l.observed_time_ns = now;
  l.event_name = b.arena().CopyString(rec.name);
  l.body = event::Value::String(l.event_name);
  l.severity_number = static_cast<uint8_t>(event::Severity::kInfo);
  std::string_view service;
  scratch_pairs_.clear();
  for (const auto& [k, v] : rec.attributes) {
    if (k == "service.name") {
      service = v;
    } else if (k == "trace_id" && event::TraceId::FromHex(v)) {
      l.trace_id = *event::TraceId::FromHex(v);  // an event of a span (ShmSpanSink)
    } else if (k == "span_id" && event::SpanId::FromHex(v)) {
      l.span_id = *event::SpanId::FromHex(v);
    } else {
      scratch_pairs_.emplace_back(k, v);
    }
  }
  l.attributes = Attributes(b, scratch_pairs_, r.producer, l.dropped_attributes_count);
  l.resource = ResourceFor(b, r.producer, service);
  ++stats_.logs;
}

event::BatchPtr ShmTranslator::TakeEvents() {
  resources_.clear();
  if (events_ && events_->empty()) return nullptr;
  return std::move(events_);
}

const event::Resource* ShmTranslator::OwnerResource(event::Batch& b, int64_t uid) {
  if (uid < 0) return nullptr;
  for (const auto& [u, r] : owner_resources_) {
    if (u == uid) return r;
  }
  if (!uid_key_) return nullptr;  // the table was full before the translator existed
  auto* attrs = b.arena().AllocateArray<event::Attribute>(1);
  attrs[0] = {*uid_key_, event::Value::Int(uid)};
  auto* res = b.arena().AllocateArray<event::Resource>(1);
  new (res) event::Resource{};
  res->attributes = {attrs, 1};
  owner_resources_.emplace_back(uid, res);
  return res;
}

event::BatchPtr ShmTranslator::CollectMetrics(uint64_t now_unix_ns, bool all) {
  if (all) {
    for (Series* s : dirty_) s->dirty = false;
    dirty_.clear();
    for (auto& [id, s] : by_identity_) dirty_.push_back(s.get());
  }
  if (dirty_.empty()) return nullptr;
  event::BatchPtr b = pool_.Acquire();
  event::Arena& arena = b->arena();
  owner_resources_.clear();
  for (Series* s : dirty_) {
    s->dirty = false;
    event::MetricPoint& m = b->AddMetric();
    m.name = arena.CopyString(s->name);
    if (!s->description.empty()) m.description = arena.CopyString(s->description);
    if (!s->unit.empty()) m.unit = arena.CopyString(s->unit);
    m.resource = OwnerResource(*b, s->owner_uid);
    m.time_ns = now_unix_ns;
    auto* labels = arena.AllocateArray<event::Attribute>(s->labels.size());
    for (size_t i = 0; i < s->labels.size(); ++i) {
      labels[i] = {s->label_keys[i], event::Value::String(arena.CopyString(s->labels[i].second))};
    }
    m.labels = {labels, s->labels.size()};
    switch (s->kind) {
      case STROBE_KIND_COUNTER:
        m.type = event::MetricType::kSum;
        m.temporality = event::Temporality::kCumulative;
        m.is_monotonic = true;
        m.start_time_ns = s->start_ns;
        // int64 on the OTLP side; a total past 2^63 is reported as a double, and so is a total
        // with a fraction: the exact total in 1e-9 units, divided once (docs/python.md).
        if (s->counter_nanos != 0) {
          constexpr uint64_t kExactUnits = UINT64_MAX / kNanosPerUnit;  // ~1.8e10
          m.double_value =
              s->counter < kExactUnits
                  ? static_cast<double>(s->counter * kNanosPerUnit + s->counter_nanos) / 1e9
                  : static_cast<double>(s->counter) + s->counter_nanos / 1e9;
        } else if (s->counter <= static_cast<uint64_t>(INT64_MAX)) {
          m.is_int = true;
          m.int_value = static_cast<int64_t>(s->counter);
        } else {
          m.double_value = static_cast<double>(s->counter);
        }
        break;
      case STROBE_KIND_GAUGE:
        m.type = event::MetricType::kGauge;
        m.double_value = s->gauge;
        break;
      case STROBE_KIND_HISTOGRAM: {
        if (!s->bounds.empty()) {
          m.type = event::MetricType::kHistogram;
          m.temporality = event::Temporality::kCumulative;
          m.start_time_ns = s->start_ns;
          auto* h = arena.AllocateArray<event::HistogramData>(1);
          new (h) event::HistogramData{};
          h->count = s->explicit_count;
          h->sum = s->explicit_sum;
          h->min = s->explicit_min;
          h->max = s->explicit_max;
          h->has_min_max = s->explicit_count > 0;
          h->explicit_bounds = arena.CopyArray<double>(s->bounds);
          h->bucket_counts = arena.CopyArray<uint64_t>(s->bucket_counts);
          m.histogram = h;
          break;
        }
        m.type = event::MetricType::kExponentialHistogram;
        m.temporality = event::Temporality::kCumulative;
        m.start_time_ns = s->start_ns;
        auto* h = arena.AllocateArray<event::ExponentialHistogramData>(1);
        new (h) event::ExponentialHistogramData{};
        const strobe::metrics::HistogramData& d = s->histogram;
        h->count = d.count();
        h->sum = d.sum();
        h->min = d.min();
        h->max = d.max();
        h->has_min_max = d.count() > 0;
        h->scale = 6;
        h->zero_count = d.zero_count();
        h->positive.offset = d.offset();
        h->positive.counts = arena.CopyArray<uint64_t>(d.counts());
        m.exp_histogram = h;
        break;
      }
    }
  }
  dirty_.clear();
  return b;
}

}  // namespace strobed::receivers
