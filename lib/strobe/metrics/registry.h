#pragma once

// Registry: owns metric families, hands out recording handles, and is what collection and
// exposition read.
//
//   strobe::metrics::Registry& r = strobe::metrics::Registry::Default();
//   Counter& sent = *r.AddCounter({"app_sent_bytes", "Bytes sent", "bytes"}).value();
//   Histogram& lat = *r.AddHistogram({"app_latency_seconds", "Request latency", "seconds"},
//                                    {.unit_scale = 1e-9}).value();   // record ns
//   sent.Add(512);                 // hot path: ~1 ns
//   { ScopedTimer t(lat); ... }    // timer.h
//   std::string text = RenderText(r, Format::kOpenMetrics);            // exposition.h
//
// Registration (control plane) validates and returns Status errors:
//   - INVALID_ARGUMENT: a bad metric or label name (Prometheus rules, labels.h), a unit the
//     name does not end with, help that is not UTF-8, bad histogram bounds/quantiles;
//   - ALREADY_EXISTS: the name is taken by a family of another type, another label set or
//     other histogram options, or one of its sample names (`foo_total`, `foo_bucket`, ...)
//     collides with another family's. Registering the same name, type and labels again
//     returns the existing family (idempotent), so independent modules can share a metric.
// Counter names: `requests` and `requests_total` name the same family; samples are always
// exposed as `<base>_total` (and `<base>_created` in OpenMetrics).
//
// Lifetime: every handle (Counter&, Family<T>&, ...) stays valid until the registry is
// destroyed or Remove() removes its family; using it afterwards is undefined. Default() is
// never destroyed.
//
// Collection: Collect() returns snapshot structs (snapshot.h); exposition.h renders text.
// Readers take the registry mutex, each family's mutex in turn and the shard read lock;
// writers (Add/Set/Record) never wait for any of them. Callback functions run under the
// registry and family mutexes and must not call into the same registry.
//
// Collectors: AddCollector() adds a function that appends whole families (snapshot structs)
// at every collection — Collect() and text exposition alike — after the registered families,
// in the order collectors were added. They serve state kept outside the registry, with label
// sets that vary per series (the daemon's `prometheus` exporter of OTLP metrics). A collector
// runs before the registry mutex is taken, under a collector mutex that RemoveCollector()
// also takes, so after RemoveCollector() returns the function is never called again; a
// collector may record into this registry's instruments but must not add, remove or collect.
// Each collected family is checked at exposition: a family whose name or sample names
// (`_total`, `_bucket`, ...) collide with a registered family or an earlier collected family,
// or whose name or unit is invalid, is skipped (counted in collector_skipped_families(), and
// in strobe_metrics_collector_skipped_families_total{reason} on Default()); a point with an
// invalid or duplicate label name, a reserved `le`/`quantile` label, or a value that is not
// UTF-8 is skipped and counted as a label error. Collector series are not part of
// SeriesCount() and OwnedBytes().
//
// Thread class: thread-safe.

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"
#include "strobe/base/thread_annotations.h"
#include "strobe/metrics/counter.h"
#include "strobe/metrics/family.h"
#include "strobe/metrics/gauge.h"
#include "strobe/metrics/histogram.h"
#include "strobe/metrics/internal/family_base.h"
#include "strobe/metrics/internal/mutex.h"
#include "strobe/snapshot/snapshot.h"

namespace strobe::metrics {

struct MetricDesc {
  std::string name;  // Prometheus metric name; for counters with or without `_total`
  std::string help;  // any UTF-8
  std::string unit;  // optional OpenMetrics unit ("seconds", "bytes"); the name must end with it
};

struct FamilyOptions {
  // Series limit of this family; 0 uses RegistryOptions::max_series_per_family.
  size_t max_series = 0;
};

struct RegistryOptions {
  size_t max_series_per_family = 2000;
  // Adds strobe_metrics_* self-metrics (owned bytes, series, overflow, label errors, invalid
  // observations, dropped exemplars) to this registry. On for Default() only, so several
  // registries rendered into one page do not repeat them.
  bool self_metrics = false;
};

// Callback families: the callback runs at every collection and emits the current points.
enum class CallbackType : uint8_t { kCounter, kGauge };

class CallbackSink {
 public:
  // One point; label values in the family's label-name order. A wrong number of values or
  // a value that is not UTF-8 skips the point and counts a label error.
  void Emit(std::initializer_list<std::string_view> label_values, double value) {
    Emit(std::span<const std::string_view>(label_values.begin(), label_values.size()), value);
  }
  void Emit(std::span<const std::string_view> label_values, double value);

  // Used by the registry.
  struct Point {
    std::vector<snapshot::Label> labels;
    std::string label_text;
    double value = 0;
  };
  CallbackSink(const std::vector<std::string>* label_names, internal::RegistryCounters* counters,
               std::vector<Point>* points)
      : label_names_(label_names), counters_(counters), points_(points) {}

 private:
  const std::vector<std::string>* label_names_;
  internal::RegistryCounters* counters_;
  std::vector<Point>* points_;
};

class Registry {
 public:
  explicit Registry(RegistryOptions options = {});
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry (self-metrics on). Never destroyed.
  static Registry& Default();

  Result<Counter*> AddCounter(const MetricDesc& desc);
  Result<Family<Counter>*> AddCounterFamily(const MetricDesc& desc,
                                            std::vector<std::string> label_names,
                                            FamilyOptions options = {});
  Result<FloatCounter*> AddFloatCounter(const MetricDesc& desc);
  Result<Family<FloatCounter>*> AddFloatCounterFamily(const MetricDesc& desc,
                                                      std::vector<std::string> label_names,
                                                      FamilyOptions options = {});
  Result<Gauge*> AddGauge(const MetricDesc& desc);
  Result<Family<Gauge>*> AddGaugeFamily(const MetricDesc& desc,
                                        std::vector<std::string> label_names,
                                        FamilyOptions options = {});
  Result<UpDownCounter*> AddUpDownCounter(const MetricDesc& desc);
  Result<Family<UpDownCounter>*> AddUpDownCounterFamily(const MetricDesc& desc,
                                                        std::vector<std::string> label_names,
                                                        FamilyOptions options = {});
  Result<Histogram*> AddHistogram(const MetricDesc& desc, const HistogramOptions& options = {});
  Result<Family<Histogram>*> AddHistogramFamily(const MetricDesc& desc,
                                                std::vector<std::string> label_names,
                                                const HistogramOptions& options = {},
                                                FamilyOptions family_options = {});

  // A gauge whose value is `fn()` at each collection (e.g. resident memory).
  Status AddCallbackGauge(const MetricDesc& desc, std::function<double()> fn);
  // A family whose points `fn` emits at each collection (e.g. per-CPU time as a counter).
  Status AddCallbackFamily(const MetricDesc& desc, CallbackType type,
                           std::vector<std::string> label_names,
                           std::function<void(CallbackSink&)> fn);

  // Removes a family by name (base name or `<base>_total`); its handles become invalid.
  // NOT_FOUND when absent.
  Status Remove(std::string_view name);

  // Every family, in registration order, each point with its labels; then the families of
  // the collectors.
  snapshot::Snapshot Collect() const;

  // Collect() restricted to the families `want` accepts (base name without `_total`, type),
  // for readers that show a few families often (the daemon's live feed, up to 60 times a
  // second): a family not wanted is skipped before its callback runs or its series are read.
  // Collectors (AddCollector) still run; their families are filtered the same way. `want` may run
  // under the registry's mutex and must not call into the registry. Thread-safe.
  using FamilyFilter = std::function<bool(std::string_view name, snapshot::MetricType type)>;
  snapshot::Snapshot Collect(const FamilyFilter& want) const;

  // Adds a collector (see the overview) under a unique name. INVALID_ARGUMENT when `fn` is
  // empty, ALREADY_EXISTS when the name is taken. Thread-safe.
  using CollectorFn = std::function<void(snapshot::Snapshot& out)>;
  Status AddCollector(std::string name, CollectorFn fn);
  // Removes a collector; waits for a call of it in progress. NOT_FOUND when absent.
  // Thread-safe; must not be called from a collector.
  Status RemoveCollector(std::string_view name);

  // Collected families skipped at exposition because of a name conflict / invalid name or
  // unit, since the registry was created.
  struct CollectorSkips {
    uint64_t conflict = 0;
    uint64_t invalid = 0;
  };
  CollectorSkips collector_skipped_families() const;

  // Bytes owned by this registry's families plus the process-wide shards of all threads.
  uint64_t OwnedBytes() const;
  size_t SeriesCount() const;

  // Exposition and collection walk the registry through this (internal/family_base.h).
  void Visit(internal::Visitor& visitor, internal::VisitScratch& scratch) const;

 private:
  template <typename T>
  Result<Family<T>*> AddFamily(const MetricDesc& desc, internal::Kind kind,
                               std::vector<std::string> label_names, FamilyOptions options,
                               const HistogramOptions* histogram_options);
  Result<internal::FamilyInfo> MakeInfo(const MetricDesc& desc, internal::Kind kind,
                                        std::vector<std::string> label_names) const;
  // Returns the existing family of that name (nullptr if none), or ALREADY_EXISTS.
  Result<internal::FamilyBase*> FindCompatibleLocked(
      const internal::FamilyInfo& info, internal::Kind kind,
      const HistogramOptions* histogram_options) const STROBE_REQUIRES(mu_);
  Status InsertLocked(std::unique_ptr<internal::FamilyBase> family) STROBE_REQUIRES(mu_);
  void AddSelfMetrics();
  uint64_t OwnedBytesLocked() const STROBE_REQUIRES(mu_);
  size_t SeriesCountLocked() const STROBE_REQUIRES(mu_);
  // Runs every collector (takes collectors_mu_); one snapshot per collector.
  std::vector<snapshot::Snapshot> RunCollectors() const STROBE_EXCLUDES(collectors_mu_);
  void VisitCollectedLocked(const std::vector<snapshot::Snapshot>& collected,
                            internal::Visitor& visitor) const STROBE_REQUIRES(mu_);

  const RegistryOptions options_;
  const std::shared_ptr<internal::RegistryCounters> counters_;
  mutable internal::Mutex mu_;
  std::vector<std::unique_ptr<internal::FamilyBase>> families_ STROBE_GUARDED_BY(mu_);
  std::map<std::string, internal::FamilyBase*, std::less<>> by_name_ STROBE_GUARDED_BY(mu_);
  std::set<std::string, std::less<>> sample_names_ STROBE_GUARDED_BY(mu_);

  struct Collector {
    std::string name;
    CollectorFn fn;
  };
  // Never held together with mu_ (collectors run before Visit takes mu_).
  mutable internal::Mutex collectors_mu_;
  std::vector<Collector> collectors_ STROBE_GUARDED_BY(collectors_mu_);
};

}  // namespace strobe::metrics
