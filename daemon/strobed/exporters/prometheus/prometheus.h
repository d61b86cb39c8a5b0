#pragma once

// The `prometheus` exporter: keeps the latest state of every metric series that reaches it
// (OTLP metric points decoded by the otlp_http receiver, or any receiver's metric events) and
// shows it on the daemon's /metrics — Prometheus text or OpenMetrics, as negotiated — and in
// /api/v1/metrics, through a collector on the metrics registry (Registry::AddCollector).
//
// Mapping (OpenTelemetry "Prometheus and OpenMetrics Compatibility"; docs/otlp.md has the
// table):
//   gauge                               → gauge
//   sum, monotonic, cumulative          → counter (`_total`), `_created` from start_time
//   sum, monotonic, delta               → counter: deltas added to a cumulative value
//   sum, not monotonic (either)         → gauge (deltas added up)
//   histogram (explicit bounds)         → histogram with the point's `le` buckets, `_sum`,
//                                          `_count`; deltas added bucket by bucket (a change
//                                          of bounds restarts the series)
//   exponential histogram               → histogram with a fixed set of `le` bounds per
//                                          family (below), `_sum` and `_count` exact; the
//                                          exponential buckets themselves are kept (deltas
//                                          merged, downscaled to the coarser scale) for the
//                                          JSON API's percentiles (negative observations
//                                          count as 0) and any other reader of the snapshot
//   summary                             → summary: `{quantile="q"}` per quantile (ascending),
//                                          `_sum`, `_count`; each point replaces the last (OTLP
//                                          summaries are cumulative). A point attribute named
//                                          `quantile` becomes `exported_quantile`.
// Exponential histograms on /metrics: one `le` line per fine bucket would be hundreds of lines
// per series (648 for 5 observations), so each family gets a bounded set of bounds, fixed when
// the family is created so it never moves between scrapes: the bounds of the first
// `histogram_buckets` rule whose glob (fnmatch) matches the OTLP name or the exposed name;
// else DefaultHistogramBounds() of the family's unit. An exponential bucket is counted at the
// first bound that any of its values can be at or below (libstrobe's FillClassicBuckets; the
// zero bucket at the first bound >= 0). So `le=b` counts every observation <= b plus possibly
// those between b and the first exponential bucket boundary at or beyond it: less than one
// bucket width, a factor base = 2^(2^-scale) (1.09% at scale 6, what shm and libstrobe send).
// Bounds that are bucket boundaries (powers of two at scale >= 0, like the bytes defaults)
// are exact. Explicit-bounds histograms keep the producer's bounds.
//
// Names: naming.h (sanitised, unit suffix, namespace). Labels (mapping.h, shared with the
// prometheus_remote_write exporter): the point's attributes
// (sanitised names; values as strings, non-strings in their JSON-like text; names that
// collide after sanitising get their values joined with `;`), plus from the resource `job`
// (service.namespace/service.name) and `instance` (service.instance.id) of the point's own
// resource (none for a point without one, whatever came before it); a point attribute
// named job or instance becomes exported_job / exported_instance. Other resource attributes go
// to one `target_info` gauge per job/instance (value 1), or onto every series with
// `resource_to_telemetry_conversion`. A point flagged "no recorded value" removes its series.
//
// Bounds: at most `max_series` series (target_info included); points of new series beyond it
// are dropped. A series not updated for `metric_expiration` is removed (0 = never). Every drop
// is counted in strobe_exporter_prometheus_dropped_points_total{exporter,reason} with reason
// series_limit, type_conflict (the name is taken by another type), or invalid (a sum without
// temporality, a negative delta of a monotonic sum, histogram buckets that do not match their
// bounds, exponential buckets that cannot be held within 4,096 per side, a summary breaking
// SummaryData's invariants).
// Also strobe_exporter_prometheus_series{exporter} and
// strobe_exporter_prometheus_expired_series_total{exporter}.
//
// Thread class: Export runs on the pipeline worker thread; the collector runs on scraping
// threads. One mutex guards the series table: Export holds it while folding a batch, the
// collector while copying the table into snapshot structs; text is rendered after it is
// released (by the registry, from the copies).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/status.h"
#include "strobe/base/thread_annotations.h"
#include "strobe/metrics/counter.h"
#include "strobe/metrics/family.h"
#include "strobe/metrics/gauge.h"
#include "strobe/snapshot/snapshot.h"
#include "strobed/base/clock.h"
#include "strobed/event/batch.h"
#include "strobed/exporters/prometheus/mapping.h"
#include "strobed/exporters/prometheus/naming.h"
#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/plugin_registry.h"

namespace strobe::metrics {
class Registry;
}  // namespace strobe::metrics

namespace strobed::exporters {

// HistogramBucketsRule, kMaxHistogramBounds, DefaultHistogramBounds: mapping.h.

struct PrometheusExporterOptions {
  std::string name = "prometheus";  // component id: collector name and `exporter` label
  size_t max_series = 10000;
  std::chrono::nanoseconds metric_expiration = std::chrono::minutes(5);  // 0: never
  std::string name_space;           // prefix of every name (`<namespace>_<name>`)
  bool add_metric_suffixes = true;  // unit suffixes (naming.h)
  bool resource_to_telemetry_conversion = false;
  bool target_info = true;
  // Exponential histograms: first matching rule wins; no match: DefaultHistogramBounds().
  std::vector<HistogramBucketsRule> histogram_buckets;
  strobe::metrics::Registry* metrics = nullptr;  // required (the factory passes the host's)
  base::MonotonicClock* clock = nullptr;         // expiration; nullptr: Steady()
  event::KeyTable* keys = nullptr;               // attribute key names; nullptr: Global()
};

class PrometheusExporter final : public pipeline::Exporter {
 public:
  // Registers the collector. ALREADY_EXISTS when another exporter of the same name is live;
  // INVALID_ARGUMENT when max_series is 0 or a histogram_buckets rule has an empty pattern or
  // bounds that are not 1..kMaxHistogramBounds finite, strictly increasing numbers.
  static strobe::Result<std::unique_ptr<PrometheusExporter>> Create(
      PrometheusExporterOptions options);
  ~PrometheusExporter() override;  // removes the collector (waits for a running scrape)

  pipeline::ExportResult Export(const event::Batch& batch) noexcept override;
  // Removes the collector: the series leave /metrics with the exporter.
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

  // The current families, as the collector appends them (tests). Thread-safe.
  strobe::snapshot::Snapshot Collect();
  size_t SeriesCount() const;

  enum class DropReason : uint8_t { kSeriesLimit = 0, kTypeConflict, kInvalid };
  uint64_t Dropped(DropReason reason) const;

 private:
  enum class Kind : uint8_t { kGauge, kCounter, kHistogram, kExpHistogram, kSummary };
  struct ExpSide {
    int32_t offset = 0;
    std::vector<uint64_t> counts;
  };
  struct Series {
    std::vector<strobe::snapshot::Label> labels;  // sorted by name
    uint64_t updated_ns = 0;                      // Clock time of the last point
    uint64_t created_unix_ns = 0;
    uint64_t start_ns = 0;  // start_time of the last point (delta continuity)
    double value = 0;
    // Histograms and summaries.
    uint64_t count = 0;
    double sum = 0;
    double min = 0;
    double max = 0;
    bool has_min_max = false;
    std::vector<double> bounds;
    std::vector<uint64_t> bucket_counts;
    int32_t scale = 0;
    uint64_t zero_count = 0;
    double zero_threshold = 0;
    ExpSide positive;
    ExpSide negative;
    std::map<double, double> quantiles;  // summaries: quantile → value, ascending
  };
  struct FamilyState {
    Kind kind = Kind::kGauge;
    std::string help;
    std::string unit;
    std::vector<double> exp_bounds;        // kExpHistogram: the `le` bounds, fixed at creation
    std::map<std::string, Series> series;  // by label key
  };

  explicit PrometheusExporter(PrometheusExporterOptions options);

  // Folds one point into its series; FoldPoint dispatches on the point's type to one Fold*
  // per type. `no_value`: the point is flagged "no recorded value" (its series is removed).
  void FoldPoint(const event::MetricPoint& p, uint64_t now_ns) STROBE_REQUIRES(mu_);
  void FoldGauge(const event::MetricPoint& p, bool no_value, uint64_t now_ns) STROBE_REQUIRES(mu_);
  void FoldSum(const event::MetricPoint& p, bool no_value, uint64_t now_ns) STROBE_REQUIRES(mu_);
  void FoldHistogram(const event::MetricPoint& p, bool no_value, uint64_t now_ns)
      STROBE_REQUIRES(mu_);
  void FoldExpHistogram(const event::MetricPoint& p, bool no_value, uint64_t now_ns)
      STROBE_REQUIRES(mu_);
  void FoldSummary(const event::MetricPoint& p, bool no_value, uint64_t now_ns)
      STROBE_REQUIRES(mu_);
  void FoldTargetInfo(const event::Resource& r, uint64_t now_ns) STROBE_REQUIRES(mu_);
  // What every Fold* starts with: the series of point `p` (named for `name_kind`, labelled by
  // Labels(p, reserved)) and whether it was just created (its `_created` then comes from the
  // point's start time). A `no_value` point erases the series instead; {nullptr, false} then,
  // and when the series limit refused it (counted).
  std::pair<Series*, bool> SeriesFor(const event::MetricPoint& p, Kind kind,
                                     prometheus::NameKind name_kind, bool no_value, uint64_t now_ns,
                                     std::string_view reserved = {}) STROBE_REQUIRES(mu_);
  // The series for (family, labels) and whether it was just created (absent and the limit
  // allows); nullptr after counting a drop. `source_name` (the OTLP name) selects the `le`
  // bounds of a new exponential-histogram family.
  std::pair<Series*, bool> FindOrCreate(const std::string& family, Kind kind, std::string_view help,
                                        std::string_view unit,
                                        std::vector<strobe::snapshot::Label> labels,
                                        uint64_t now_ns, std::string_view source_name = {})
      STROBE_REQUIRES(mu_);
  // The `le` bounds of a new exponential-histogram family (see the overview).
  std::vector<double> ExpBounds(std::string_view source_name, const std::string& family,
                                std::string_view unit) const;
  void Erase(const std::string& family, const std::vector<strobe::snapshot::Label>& labels)
      STROBE_REQUIRES(mu_);
  void ExpireLocked(uint64_t now_ns) STROBE_REQUIRES(mu_);
  void Drop(DropReason reason);
  void CollectLocked(strobe::snapshot::Snapshot& out) STROBE_REQUIRES(mu_);
  // The exposed name of an OTLP metric (naming.h), remembered in names_.
  prometheus::MetricName Name(std::string_view name, std::string_view unit,
                              prometheus::NameKind kind) STROBE_REQUIRES(mu_);

  const PrometheusExporterOptions options_;
  strobe::metrics::Registry& registry_;
  base::MonotonicClock& clock_;
  event::KeyTable& keys_;
  // Series labels (mapping.h, shared with prometheus_remote_write); its resource cache is
  // used under mu_ (Export only).
  prometheus::SeriesLabeler labeler_ STROBE_GUARDED_BY(mu_);
  bool collector_registered_ = false;  // control thread only

  mutable strobe::Mutex mu_;
  std::map<std::string, FamilyState> families_ STROBE_GUARDED_BY(mu_);
  size_t series_count_ STROBE_GUARDED_BY(mu_) = 0;
  std::unordered_map<std::string, prometheus::MetricName> names_ STROBE_GUARDED_BY(mu_);
  uint64_t last_expiry_ns_ STROBE_GUARDED_BY(mu_) = 0;

  strobe::metrics::Counter* dropped_[3] = {};
  strobe::metrics::Counter* expired_ = nullptr;
  strobe::metrics::Gauge* series_gauge_ = nullptr;
};

void RegisterPrometheusExporter(pipeline::PluginRegistry& registry);

}  // namespace strobed::exporters
