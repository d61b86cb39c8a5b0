#pragma once

// stream::StreamEngine: the stream processor of `strobe serve` — windows, CEP rules and
// anomaly detectors configured from the `stream:` YAML section, fed with pipeline batches.
//
//   auto engine = StreamEngine::Create(config["stream"], "strobe.yaml", keys, clock, &udas);
//   for (const strobe::Status& e : engine->config_errors()) log(e.message());  // file:line
//   engine->Consume(batch);      // pipeline worker (StreamExporter does this)
//   engine->Tick();              // every ~100 ms-1 s: advances watermarks, closes windows
//   engine->SnapshotSeries();    // latest aggregate values, for alert rules
//   engine->SeriesJson() / EventsJson()   // HTTP handlers (metrics: stream_metrics.h)
//
// engine.cc runs the engine; engine_config.cc parses the `stream:` section (Create).
//
// Configuration errors are per rule: a window, CEP rule or detector that does not parse is
// skipped and reported with file:line and reason; the rest is built and runs.
//
// Outputs:
//   - series: the latest value of every (window, aggregate, key) and of every anomaly score,
//     at most max_series (further series are dropped and counted); a series not updated for
//     series_ttl is forgotten
//   - series: per CEP rule and key, the number of matches (Series kCepMatches: a counter,
//     exempt from series_ttl; bounded by the rule's max_keys and by max_series); alert rules
//     fire on it (`cep_matches(<rule>) > 0`) and /metrics shows it
//   - events: window results, CEP matches and anomalies as a bounded ring of JSON objects
//     (the newest max_events) for /api/v1/stream/events
//
// Threading (docs/design/windows.md): Consume() and Tick() may be called from different
// threads (pipeline worker, ticker); one mutex serialises them, taken once per batch (not per
// event). Readers (snapshots, JSON, Prometheus text) take a second mutex that guards only the
// published series and events, so HTTP never waits for a batch to be processed.

#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/status.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/base/clock.h"
#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"
#include "strobed/stream/aggregation.h"
#include "strobed/stream/anomaly.h"
#include "strobed/stream/cep.h"
#include "strobed/stream/item.h"
#include "strobed/stream/metric_deltas.h"
#include "strobed/stream/series.h"
#include "strobed/stream/window.h"

namespace strobed::stream {

struct AnomalySpec {
  std::string name;
  std::string window;  // a window name
  AggSpec aggregation;
  DetectorOptions detector;
  std::string file_line;
};

struct StreamEngineOptions {
  std::size_t max_series = 100'000;
  std::size_t max_events = 1'000;
  std::size_t max_detectors = 10'000;
  // A series (key) with no new window result for this long is forgotten (checked every 10 s).
  uint64_t series_ttl_ns = 900'000'000'000;
  // Per-series state that turns cumulative metric points into deltas (metric_deltas.h).
  // A first_point_max_age_ns of 0 is set by Create to the longest window (size, or gap).
  MetricDeltaOptions metric_deltas = {};
};

class StreamEngine : private ResultSink, private CepSink {
 public:
  // Builds an engine from a `stream:` node (null: an engine with nothing configured).
  // Never fails as a whole: bad entries are in config_errors(). `clock` is a wall clock:
  // event times are Unix ns (base::WallClock::System(); tests use a base::ManualWallClock).
  // `registry` may be nullptr.
  static std::unique_ptr<StreamEngine> Create(const YAML::Node& node, std::string_view file,
                                              event::KeyTable& keys, base::WallClock& clock,
                                              const AggregationRegistry* registry = nullptr,
                                              StreamEngineOptions options = {});
  ~StreamEngine() override;

  const std::vector<strobe::Status>& config_errors() const { return errors_; }

  // Feeds every item of `batch`. Thread-safe (serialised with Tick).
  void Consume(const event::Batch& batch);
  // Feeds items directly (tests, benchmarks). Thread-safe.
  void ConsumeItems(std::span<const Item> items);
  // Advances watermarks and closes windows at the clock's time. Thread-safe.
  void Tick();
  // Closes every open window (shutdown).
  void FlushAll();

  // Copies of the published state. Thread-safe.
  std::vector<Series> SnapshotSeries() const;
  std::string SeriesJson() const;
  // Events, oldest first. `type`: "" (all), "window", "cep" or "anomaly". Window results
  // and notable events (CEP matches, anomalies) have separate rings of max_events each, so a
  // flood of window results never pushes an anomaly out.
  std::string EventsJson(std::string_view type = "") const;

  std::size_t window_count() const { return windows_.size(); }
  std::size_t cep_count() const { return ceps_.size(); }
  std::size_t anomaly_count() const { return anomalies_.size(); }
  const WindowOperator& window(std::size_t i) const { return *windows_[i].op; }
  const CepOperator& cep(std::size_t i) const { return *ceps_[i].op; }
  uint64_t anomalies_detected() const { return anomalies_total_.load(std::memory_order_relaxed); }
  uint64_t series_dropped() const;
  // Statistics of the cumulative-to-delta state (relaxed atomics; any thread).
  const MetricDeltaStats& metric_delta_stats() const { return metric_deltas_.stats(); }

 private:
  StreamEngine(base::WallClock& clock, StreamEngineOptions options);
  void OnWindow(const WindowResult& result) override;
  void OnMatch(const CepMatch& match) override;
  void AddEventLocked(bool notable, std::string json) STROBE_REQUIRES(publish_mu_);
  // The series (name, window, label values), created if the bound allows; nullptr (counted
  // in series_dropped) when max_series is reached.
  Series* FindOrAddSeriesLocked(std::string_view name, const std::string& source,
                                const std::string& window,
                                const std::vector<std::string>& label_names,
                                std::span<const std::string> label_values)
      STROBE_REQUIRES(publish_mu_);
  void SetSeriesLocked(std::string_view name, const std::string& source, const std::string& window,
                       const std::vector<std::string>& label_names,
                       std::span<const std::string> label_values, double value,
                       uint64_t window_end_ns) STROBE_REQUIRES(publish_mu_);
  void ProcessItem(const Item& item, uint64_t now, SourceId source) noexcept;
  // Whether some window or CEP rule may read metric `name` (else its points are skipped).
  bool WantsMetric(std::string_view name) const noexcept;

  struct WindowEntry {
    std::unique_ptr<WindowSpec> spec;
    std::unique_ptr<WindowOperator> op;
    std::vector<std::size_t> anomalies;  // indexes into anomalies_
  };
  struct CepEntry {
    std::unique_ptr<CepRule> rule;
    std::unique_ptr<CepOperator> op;
  };
  struct AnomalyEntry {
    AnomalySpec spec;
    std::map<std::string, std::unique_ptr<Detector>> detectors;  // by key labels
    uint64_t anomalies = 0;
  };

  base::WallClock& clock_;
  StreamEngineOptions options_;
  SourceKeys source_keys_;  // set by Create
  std::vector<strobe::Status> errors_;
  strobe::Mutex process_mu_;  // serialises Consume/Tick (held once per batch)
  std::vector<WindowEntry> windows_;
  std::vector<CepEntry> ceps_;
  std::vector<AnomalyEntry> anomalies_;
  MetricDeltas metric_deltas_;                // under process_mu_ (stats: relaxed atomics)
  std::atomic<uint64_t> anomalies_total_{0};  // relaxed statistic; written under process_mu_

  mutable strobe::Mutex publish_mu_;
  std::map<std::string, Series> series_ STROBE_GUARDED_BY(publish_mu_);
  std::deque<std::string> window_events_ STROBE_GUARDED_BY(publish_mu_);
  std::deque<std::string> notable_events_ STROBE_GUARDED_BY(publish_mu_);  // CEP, anomalies
  uint64_t series_dropped_ STROBE_GUARDED_BY(publish_mu_) = 0;
  uint64_t events_total_ STROBE_GUARDED_BY(publish_mu_) = 0;
  uint64_t next_series_gc_ns_ = 0;  // under process_mu_
};

}  // namespace strobed::stream
