#pragma once

// promql::History: a bounded in-memory store of recent samples per series — what PromQL rule
// expressions (eval.h) read. It holds exactly the series a Prometheus scrape of the daemon's
// /metrics would store: Append(registry, t) walks the registry as the text exposition does
// (strobe::metrics::VisitExposedSamples: host, process, pushed, OTLP, stream windows,
// self-metrics; counters as `<name>_total`, histograms as `<name>_bucket{le}`, `_sum`,
// `_count`, summaries as `<name>{quantile}`, `_sum`, `_count`, gauges as their name).
//
//   History history({.retention_ms = MaxRangeMs(expr) + kLookbackDeltaMs});
//   history.Append(registry, now_ms);               // once per evaluation interval
//   auto v = Evaluate(expr, history, now_ms);       // eval.h
//
// Staleness, as Prometheus: a series present in one Append and absent from the next gets a
// stale marker at the later time; instant selectors then stop returning it, and range
// functions ignore the marker. A series whose newest sample (or marker) is older than the
// retention is removed.
//
// Labels with an empty value are dropped (Prometheus stores them so: an empty value is no
// label); a label set repeating a name is refused (samples_invalid).
//
// Native histograms: for each histogram family whose exponential buckets are exact (strobe's
// own histograms from libstrobe, shm and Python; OTLP exponential histograms without negative
// observations) Append also stores one native histogram sample per series under the family's
// base name (`<name>`, beside the classic `<name>_bucket`/`_sum`/`_count` floats), as
// Prometheus does when it scrapes native histograms with classic ones kept. A histogram sample
// counts as 2 + buckets/2 samples against max_samples (its memory in 16-byte units, about).
//
// Bounds: `max_series` series and `max_samples` samples in all. A new series beyond
// max_series is refused (series_refused); a sample that would exceed max_samples is refused
// (samples_refused) — the oldest are never overwritten early, so ranges stay exact for what
// is stored. Samples older than now - retention_ms are dropped at each Append (expired); a
// sample not newer than its series' newest is ignored (samples_out_of_order). The caller
// exports these counters as self-metrics. Memory: 16 bytes per sample (up to 2x while a
// series' buffer awaits compaction) plus ~250 bytes and the label strings per series.
//
// Index: postings per label pair and interned label symbols (docs/design/promql.md).
//
// Thread class: one writer (Append*, SetRetentionMs), any number of concurrent readers.
// Writers take the internal lock exclusively; readers hold a ReadLock (shared) for the whole
// of an evaluation so it sees one consistent state. The reader methods below require the
// caller to hold a ReadLock of this History.

#include <bit>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "strobe/snapshot/snapshot.h"
#include "strobed/alert/promql/ast.h"

namespace strobe::metrics {
class Registry;
}

namespace strobed::alert::promql {

// Prometheus' default lookback delta for instant selectors.
inline constexpr int64_t kLookbackDeltaMs = 5 * 60 * 1000;

// A label set sorted by name with unique names, `__name__` included when the series has a
// metric name.
using Labels = std::vector<strobe::snapshot::Label>;

// Sorts and returns `labels` (helper for building label sets).
Labels SortedLabels(Labels labels);
// The value of label `name` in `labels`, "" when absent (as PromQL treats a missing label).
std::string_view LabelValue(const Labels& labels, std::string_view name);

struct SamplePoint {
  int64_t t_ms = 0;
  double value = 0;
};

using SeriesId = uint32_t;

// A native histogram sample: Prometheus' native histogram restricted to what strobe's
// histograms hold — one zero bucket (observations equal to 0) and positive base-2 exponential
// buckets of one scale: bucket i holds (base^i, base^(i+1)] x unit_scale, base = 2^(2^-scale)
// (OTLP's ExponentialHistogram layout; strobe's own histograms use scale 6, buckets 1.09%
// wide). Counts are doubles because rate() and sum() produce fractional ones.
struct NativeHistogram {
  double count = 0;       // all observations, zero bucket included
  double sum = 0;         // exposed units
  double zero_count = 0;  // observations equal to 0
  int32_t scale = 0;
  int32_t offset = 0;          // index of counts[0]
  double unit_scale = 1;       // recorded units -> exposed units (1e-9 for ns as seconds)
  std::vector<double> counts;  // non-cumulative, counts[k] is bucket offset + k

  // Exposed-unit bounds of bucket `index`: (Lower, Upper].
  double Lower(int64_t index) const;
  double Upper(int64_t index) const;
};

class History {
 public:
  struct Options {
    int64_t retention_ms = 2 * kLookbackDeltaMs;
    size_t max_series = 1'000'000;
    size_t max_samples = 64'000'000;
  };
  struct Stats {
    size_t series = 0;                  // series held now
    size_t samples = 0;                 // samples held now (stale markers included)
    uint64_t series_refused = 0;        // new series refused at max_series (since creation)
    uint64_t samples_refused = 0;       // samples refused at max_samples
    uint64_t samples_expired = 0;       // samples dropped for age
    uint64_t series_removed = 0;        // series removed for age
    uint64_t samples_out_of_order = 0;  // samples not newer than their series' newest
    uint64_t samples_invalid = 0;       // samples whose label set repeats a label name
  };

  explicit History(Options options);
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  // Writer. Takes one sample of every series `registry` exposes at /metrics (Prometheus text
  // names, see the overview) at time `t_ms`, then marks series absent from it stale and
  // expires what is older than t_ms - retention_ms. `t_ms` must not go backwards (a sample
  // older than a series' newest is ignored). Collects under the registry's locks.
  void Append(const strobe::metrics::Registry& registry, int64_t t_ms);
  // The same for families already collected (Registry::Collect(), or built by a test).
  void Append(std::span<const strobe::snapshot::Family> families, int64_t t_ms);
  // Adds one sample to the series `labels` (any order; __name__ included) without the
  // staleness pass: for tests and for series the caller computes itself (recording rules).
  // Append never marks such a series stale, as it is absent from every registry; the caller
  // writes AppendStale when it ends. A NaN value is stored as a value; use AppendStale for a
  // stale marker.
  void AppendSample(const Labels& labels, int64_t t_ms, double value);
  void AppendStale(const Labels& labels, int64_t t_ms);
  // Adds one native histogram sample to the series `labels` (tests; Append stores the native
  // histograms of the registry itself). A series holds floats or histograms, not both: a
  // sample of the other kind is refused (samples_invalid).
  void AppendHistogram(const Labels& labels, int64_t t_ms, NativeHistogram histogram);

  // Writer: changes the retention (e.g. after a rule reload); applied at the next Append.
  void SetRetentionMs(int64_t retention_ms);
  // Writer: changes max_series and max_samples (a configuration reload). Lowered below what
  // is held, new series and samples are refused until expiry brings the history below them.
  void SetLimits(size_t max_series, size_t max_samples);
  int64_t retention_ms() const;

  // Thread-safe snapshot of the counters.
  Stats stats() const;

  // A shared lock; hold it while calling the reader methods below (Evaluate does).
  std::shared_lock<std::shared_mutex> ReadLock() const { return std::shared_lock(mu_); }

  // Reader: appends to *out the ids of every series whose labels satisfy all `matchers`
  // (order unspecified). Uses postings by metric name and label pair; scans the others.
  void Select(std::span<const Matcher> matchers, std::vector<SeriesId>* out) const;
  // Reader: the labels of a series returned by Select.
  const Labels& LabelsOf(SeriesId id) const;
  // Reader: fast label lookup for evaluators. Symbol(name) resolves a label name once
  // (kNoSymbol when no series has it); LabelValue(id, symbol) is then the series' value of
  // that label ("" when absent) without comparing strings. The view is valid while the
  // ReadLock is held.
  static constexpr uint32_t kNoSymbol = UINT32_MAX;
  uint32_t Symbol(const std::string& name) const;
  std::string_view LabelValue(SeriesId id, uint32_t name_symbol) const;
  // Reader: replaces *out with the samples of `id` with mint <= t <= maxt (both ends
  // included, as Prometheus 2.x selects) in time order; stale markers are included (IsStale
  // tells them).
  void Points(SeriesId id, int64_t mint_ms, int64_t maxt_ms, std::vector<SamplePoint>* out) const;
  // Reader: the same samples without a copy; valid while the ReadLock is held.
  std::span<const SamplePoint> Range(SeriesId id, int64_t mint_ms, int64_t maxt_ms) const;
  // Reader: hints that `id` is read soon. Stage 0 fetches the series' record, stage 1 (issue
  // it a few series later, once the record is cached) its newest samples. Loops over many
  // series hide memory latency this way.
  void Prefetch(SeriesId id, int stage) const;
  // Reader: the newest sample of `id` with mint <= t <= maxt into *out; false when none.
  bool Last(SeriesId id, int64_t mint_ms, int64_t maxt_ms, SamplePoint* out) const;
  // Reader: whether `id` holds native histograms. Its SamplePoints then carry the count as
  // value (stale markers as for floats), and HistogramsOf gives the histograms.
  bool IsHistogram(SeriesId id) const;
  // Reader: the histograms of the samples `range` (a span Range returned for a histogram
  // series `id`), index for index; valid while the ReadLock is held.
  std::span<const NativeHistogram> HistogramsOf(SeriesId id,
                                                std::span<const SamplePoint> range) const;

  // Whether a stored value is a stale marker (a NaN with a reserved bit pattern, as
  // Prometheus' value.StaleNaN).
  static bool IsStale(double value) { return std::bit_cast<uint64_t>(value) == kStaleNaNBits; }
  static constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;

 private:
  struct Series;
  struct State;
  mutable std::shared_mutex mu_;
  std::unique_ptr<State> state_;  // guarded by mu_
};

}  // namespace strobed::alert::promql
