#pragma once

// strobed::receivers::ShmTranslator: turns the records that producers write into their shm
// rings (lib/strobe/shm, docs/shm-format.md) into pipeline events.
//
//   SPAN            → event::Span (one per record)
//   EVENT           → event::LogRecord (event_name = body = the record's name; hex
//                     "trace_id"/"span_id" attributes become the record's trace context)
//   SERIES_DEFINE   → a series in the translator's table
//   COUNTER_ADD, GAUGE_SET, HISTOGRAM_RECORD, BATCH, HISTOGRAM_MERGE
//                   → aggregated per series; CollectMetrics() emits one cumulative point per
//                     series that changed (sum / gauge / exponential histogram at scale 6, or
//                     an explicit-bounds histogram when the definition carried bounds)
//
// Definition metadata (ring_abi.h): the description and unit of the first definition that
// carries them become the points' description and unit (# HELP / # UNIT on /metrics, OTLP
// description/unit). Explicit bounds make the series an explicit-bounds histogram: values are
// counted in those buckets exactly; a later definition of the same series with other bounds
// (or none) is refused and counted as kind_mismatch, as is a HISTOGRAM_MERGE into it (an
// exponential delta cannot be split into explicit buckets). Counter increments may carry a
// fraction (BATCH entries): the total is kept exactly as whole units plus 1e-9 units.
//   PING            → on_ping callback via ReadyToAck (the receiver pushes what it holds;
//                     the ring reader acks only when that was accepted)
//
// Aggregating points in the daemon is what makes the ring fast: a producer writes 32 bytes
// per increment and the pipeline carries one point per series per flush, not one per call
// (statsd's model). Series are identified by (name, kind, labels) across producers: the same
// counter written by several processes sums, a gauge keeps the last value set, histograms
// merge. A series outlives the producer that defined it (a counter does not go back to 0
// when a process exits), so totals are monotonic for Prometheus.
//
// Span records carry no kind/status fields; the translator reads them from conventional
// attributes and removes those: "span.kind" (server|client|producer|consumer|internal),
// "otel.status_code" (OK|ERROR), "otel.status_description", "error"="true" (what the Python
// package sets on an exception), and "service.name" (→ resource, default
// "unknown_service"); the resource also carries process.pid of the producer.
//
// Producer identity: the uid owning a ring's file (OnRingAttached) is the one thing about a
// producer the kernel vouches for. It is carried as the resource attribute `process.user.id`
// (OpenTelemetry semantic conventions) on the spans, logs and metric points of that ring, and
// it is part of a series' identity: two users writing the same series name and labels get two
// series (one user cannot alter another's totals). Records delivered without an attach (tests,
// tools) have no owner and no such attribute.
//
// Bad input never crashes and is counted (stats()): undecodable payloads, points for series
// never defined, values a histogram cannot hold (negative, NaN), series beyond max_series, and
// definitions whose label keys the key table refused (full, or a key too long): such a series
// cannot be represented without losing a label, so it is refused whole rather than collapsed
// into another series, and its later points count as unknown_series. Every refused record
// is in RejectedRecords(), which the ring reader reports to the producer's flush (DATA_LOSS).
// A span or event attribute whose key is refused is dropped and counted in the record's
// dropped_attributes_count (the record itself is kept, as OTLP does). The keys the translator
// itself adds (service.name, process.pid, process.user.id) are interned at construction, so a
// table filled later by clients cannot strip a point of its owner (which would merge the
// series of two users on export).
//
// Attribute keys: each ring may add at most max_new_keys_per_ring keys new to the shared key
// table per new_keys_window_ns (event::NewKeyQuota; keys already known are free). A series
// definition with a label key that cannot be interned is refused (key_table_full, key_too_long
// or key_source_limit; its points then count as unknown_series, so the producer's flush fails)
// rather than kept without that label; a span or event attribute whose key is refused is dropped
// and counted in the element's dropped_attributes_count and in dropped_attributes.
//
// Thread class: thread-compatible; the receiver's consumer thread owns it.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "strobe/metrics/histogram_data.h"
#include "strobe/shm/reader.h"
#include "strobe/shm/record.h"
#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"
#include "strobed/event/key_quota.h"

namespace strobed::receivers {

struct ShmTranslatorOptions {
  // Distinct (name, kind, labels) series kept; definitions beyond it are refused and counted.
  size_t max_series = 100'000;
  // Series ids below this index a per-producer vector; larger ids (a hostile or unusual
  // producer) go to a hash map.
  uint64_t dense_series_ids = 1 << 16;
  // Keys new to the key table one ring may add per window (wall-clock nanoseconds).
  uint64_t max_new_keys_per_ring = 4096;
  uint64_t new_keys_window_ns = uint64_t{3600} * 1'000'000'000;
};

struct ShmTranslatorStats {
  uint64_t records[STROBE_REC_TYPE_COUNT] = {};  // by record type, as delivered
  uint64_t points = 0;                           // values applied to series (BATCH entries too)
  uint64_t spans = 0;
  uint64_t logs = 0;
  uint64_t invalid_records = 0;  // payload did not decode
  uint64_t unknown_series = 0;   // point for a series id never defined (or refused)
  uint64_t invalid_values = 0;   // value a series cannot take (negative/NaN histogram value)
  uint64_t kind_mismatch = 0;    // point type differs from the series' kind
  uint64_t series_limit = 0;     // definitions of new series over max_series
  uint64_t key_table_full = 0;   // definitions refused: a label key is new and the table is full
  uint64_t key_too_long = 0;     // definitions refused: a label key is longer than keys allow
  // Definitions refused: the ring used up its quota of new keys (max_new_keys_per_ring).
  uint64_t key_source_limit = 0;
  uint64_t dropped_attributes = 0;  // span/event attributes dropped: key refused (record kept)
  // Definitions refused because a label value is not valid UTF-8 (their points then count as
  // unknown_series); label values must be UTF-8 in every exposition (docs/security.md).
  uint64_t invalid_utf8 = 0;
  uint64_t series = 0;  // distinct series held
};

class ShmTranslator final : public strobe::shm::RecordSink {
 public:
  ShmTranslator(event::BatchPool& pool, event::KeyTable& keys, ShmTranslatorOptions options = {});
  ~ShmTranslator() override;
  ShmTranslator(const ShmTranslator&) = delete;
  ShmTranslator& operator=(const ShmTranslator&) = delete;

  // Called when a PING arrives, before the ring reader acknowledges it: returns true once
  // everything read before it was handed on (pushed and accepted), false to hold the PING
  // (the reader stops in front of it and offers it again). Without a callback PINGs are
  // acknowledged at once.
  void set_on_ping(std::function<bool()> fn) { on_ping_ = std::move(fn); }
  // Wall-clock source for records stamped 0 ("on receipt"); tests pin it.
  void set_wall_clock(std::function<uint64_t()> fn) { wall_ns_ = std::move(fn); }

  void OnRecord(const strobe::shm::RecordView& record) override;
  // The on_ping callback's answer (true without one).
  bool ReadyToAck(uint32_t producer) override;
  // Forgets the producer's series-id mapping (its series and their totals stay).
  void OnRingClosed(uint32_t producer) override;
  // Starts a fresh series-id mapping for `producer`, owned by `owner_uid`.
  void OnRingAttached(uint32_t producer, uint32_t owner_uid) override;
  // Records refused so far (undecodable, unknown series, invalid values, kind mismatches,
  // definitions refused for the series limit or a label key): every record that was read and
  // not used. The reader reports them to the producer's flush.
  uint64_t RejectedRecords() const override;

  // Spans and log records built so far (nullptr when none).
  event::BatchPtr TakeEvents();
  size_t pending_events() const { return events_ ? events_->size() : 0; }

  // One cumulative point per series updated since the last call, stamped `now_unix_ns`
  // (nullptr when nothing changed). With `all`, every series (a full refresh).
  event::BatchPtr CollectMetrics(uint64_t now_unix_ns, bool all = false);

  const ShmTranslatorStats& stats() const { return stats_; }

 private:
  struct Series;
  struct Producer {
    std::vector<Series*> dense;                    // series id → series (nullptr: undefined)
    std::unordered_map<uint64_t, Series*> sparse;  // ids >= dense_series_ids
    int64_t owner_uid = -1;                        // owner of the ring's file (-1: unknown)
  };

  Series* Lookup(uint32_t producer, uint64_t series_id);
  void Define(const strobe::shm::RecordView& r);
  void ApplyPoint(uint16_t type, const strobe::shm::RecordView& r);
  void ApplyBatch(const strobe::shm::RecordView& r);
  void MergeHistogram(const strobe::shm::RecordView& r);
  void MarkDirty(Series& s);
  // `nanos`: a COUNTER increment's fraction in 1e-9 units (added to `delta` whole units).
  void Apply(Series& s, strobe_series_kind kind, uint64_t delta, double value, uint64_t ts,
             uint32_t nanos = 0);
  void AddSpan(const strobe::shm::RecordView& r);
  void AddEvent(const strobe::shm::RecordView& r);
  event::Batch& Events();
  // The attributes of `pairs` in `b`'s arena; keys refused by the key table are dropped and
  // counted in `dropped` and stats_.dropped_attributes.
  std::span<const event::Attribute> Attributes(event::Batch& b, const strobe::shm::Pairs& pairs,
                                               uint32_t producer, uint32_t& dropped);
  // Counts a definition refused because the key table would not intern one of its label keys,
  // by the budget's reason.
  void CountRefusedKey(const event::KeyBudget& budget);
  // A budget charging `producer`'s ring for keys new to the table (source text in key_source_).
  event::KeyBudget RingBudget(uint32_t producer);
  const event::Resource* ResourceFor(event::Batch& b, uint32_t producer, std::string_view service);
  // Resource {process.user.id: uid} of a metric point in `b` (cached per CollectMetrics call).
  const event::Resource* OwnerResource(event::Batch& b, int64_t uid);
  int64_t OwnerOf(uint32_t producer) const;
  uint64_t Now() const;

  event::BatchPool& pool_;
  event::KeyTable& keys_;
  ShmTranslatorOptions options_;
  event::NewKeyQuota key_quota_;  // per ring
  char key_source_[16] = {};      // "ring <producer>", the source RingBudget charges
  std::function<bool()> on_ping_;
  std::function<uint64_t()> wall_ns_;
  ShmTranslatorStats stats_;
  // Keys the translator adds itself, interned at construction (nullopt only when the table
  // was already full then).
  std::optional<event::KeyId> service_key_;
  std::optional<event::KeyId> pid_key_;
  std::optional<event::KeyId> uid_key_;

  std::unordered_map<std::string, std::unique_ptr<Series>> by_identity_;
  std::vector<Series*> dirty_;
  std::unordered_map<uint32_t, Producer> producers_;
  uint32_t last_producer_id_ = 0;
  Producer* last_producer_ = nullptr;

  event::BatchPtr events_;
  // Resources of the current events batch per (producer, service.name); the service text and
  // the resource live in that batch's arena. Cleared (capacity kept) by TakeEvents().
  struct CachedResource {
    uint32_t producer;
    std::string_view service;
    const event::Resource* resource;
  };
  std::vector<CachedResource> resources_;
  std::vector<std::pair<int64_t, const event::Resource*>> owner_resources_;  // CollectMetrics
  strobe::shm::Pairs scratch_pairs_;
  std::vector<event::Attribute> scratch_attrs_;
};

}  // namespace strobed::receivers
