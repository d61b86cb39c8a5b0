#pragma once

// strobed::pipeline::PipelineService: everything the daemon runs from the pipeline
// configuration — receivers, pipelines (queue → processors → exporters), shared exporters,
// connectors and memory limiters — built from a PipelineConfig and owned in one place.
//
//   auto cfg = ParsePipelineConfig(root, "strobe.yaml", plugins);
//   auto svc = PipelineService::Create(*cfg, {.plugins = &plugins, .services = {...}});
//   svc->Start();                          // downstream pipelines first, receivers last
//   ...
//   svc->Shutdown(std::chrono::seconds(5));            // receivers first, then drain pipelines
//
// Sharing, as in the OpenTelemetry Collector: a receiver listed in several pipelines is one
// instance whose pushes fan out (a copy per extra pipeline, events of signals a pipeline does
// not take are filtered); an exporter listed in several pipelines is one instance whose
// Export() calls are serialised by a mutex; processors are per pipeline; a memory_limiter id
// is one limiter shared by every pipeline that lists it. Connectors (`forward`) copy a
// pipeline's output into the pipelines that list the connector as a receiver.
//
// Thread class: Create/Start/Shutdown from the control thread; Snapshot() is thread-safe.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/base/clock.h"
#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"
#include "strobed/pipeline/config.h"
#include "strobed/pipeline/key_sweeper.h"
#include "strobed/pipeline/memory_limiter.h"
#include "strobed/pipeline/pipeline.h"
#include "strobed/pipeline/plugin_registry.h"

namespace strobe::metrics {
class Registry;
}  // namespace strobe::metrics

namespace strobed::pipeline {

class FanoutIngest;  // fanout.h

// The framework knows no plugin: the caller (service/ for `strobe serve`, tests with their
// own registry) says which plugins exist and what the host shares with them.
struct ServiceOptions {
  const PluginRegistry* plugins = nullptr;  // required
  // Handed to every plugin factory. A null `services.metrics` makes the service create a
  // private registry (statistics then live only there; see metrics()).
  PluginServices services = {};
  base::MonotonicClock* clock = nullptr;  // nullptr = base::MonotonicClock::Steady()
  event::BatchPool* pool = nullptr;       // nullptr = BatchPool::Default()
  event::KeyTable* keys = nullptr;        // nullptr = KeyTable::Global()
  uint64_t seed = 0x5eed;                 // samplers and load shedding
  // Reclamation of `keys` while the service runs (key_sweeper.h): started by Start, stopped by
  // Shutdown.
  KeySweepOptions key_sweep = {};
};

struct ServiceSnapshot {
  std::vector<PipelineSnapshot> pipelines;
  // Events a receiver produced of a signal none of its pipelines takes (per receiver id).
  std::map<std::string, uint64_t> unrouted_events;
  // Memory limiter usage (per limiter id).
  std::map<std::string, uint64_t> memory_used_bytes;
  std::map<std::string, uint64_t> memory_limit_bytes;
};

class PipelineService {
 public:
  static strobe::Result<std::unique_ptr<PipelineService>> Create(const PipelineConfig& config,
                                                                 ServiceOptions options);
  ~PipelineService();
  PipelineService(const PipelineService&) = delete;
  PipelineService& operator=(const PipelineService&) = delete;

  // Starts pipelines (downstream first) then receivers. On error, what started is stopped.
  strobe::Status Start();
  // Stops receivers, then drains and stops pipelines upstream first, then shared exporters.
  // Returns the first error (e.g. a pipeline that missed the deadline). Idempotent.
  strobe::Status Shutdown(std::chrono::milliseconds deadline);
  // Flushes every pipeline (batches, tail sampler) down to the exporters.
  strobe::Status Flush(std::chrono::milliseconds deadline);

  ServiceSnapshot Snapshot() const;

  // The registry the service's statistics and its plugins' self-metrics are published in
  // (the embedder's, or the service's private one). The statistics are callback families
  // registered at Create and removed by the destructor (read at each scrape):
  //   strobe_pipeline_received_events_total{pipeline,stage}
  //   strobe_pipeline_forwarded_events_total{pipeline,stage}
  //   strobe_pipeline_dropped_events_total{pipeline,stage,reason}
  //   strobe_pipeline_refused_events_total{pipeline,reason}
  //   strobe_pipeline_in_flight_events{pipeline,stage}
  //   strobe_pipeline_queued_bytes{pipeline}
  //   strobe_pipeline_queue_limit_bytes{pipeline}, strobe_pipeline_queue_limit_events{pipeline}
  //   strobe_pipeline_load_shed_keep_ratio{pipeline}
  //   strobe_pipeline_export_latency_p50_seconds / _p99_seconds{pipeline}
  //   strobe_pipeline_unrouted_events_total{receiver}
  //   strobe_memory_limiter_used_bytes{limiter}, strobe_memory_limiter_limit_bytes{limiter}
  //   strobe_processor_<stat>{pipeline,processor[,policy|decision]} (sampler statistics)
  //   strobe_event_key_table_rejected_total{reason}, strobe_event_key_table_keys,
  //   strobe_event_key_table_capacity_keys, strobe_event_key_table_reclaimed_total,
  //   strobe_event_key_table_sweeps_total, strobe_event_key_table_last_sweep_seconds,
  //   strobe_event_batches_allocated_total
  strobe::metrics::Registry& metrics() const { return *metrics_; }

  // Component lookup for tests and in-process embedding (nullptr when absent).
  Receiver* receiver(const std::string& id) const;
  Exporter* exporter(const std::string& id) const;
  Pipeline* pipeline(const std::string& name) const;

 private:
  struct ReceiverEntry {
    std::string id;
    std::unique_ptr<Receiver> receiver;
    std::unique_ptr<FanoutIngest> ingest;
  };
  struct SharedExporter {
    std::string id;
    std::unique_ptr<Exporter> exporter;
    std::unique_ptr<std::mutex> mu;
    int users = 0;
  };

  PipelineService() = default;
  strobe::Status BindMetrics();
  void UnbindMetrics();

  ServiceOptions options_;
  std::unique_ptr<strobe::metrics::Registry> own_metrics_;  // when the embedder gave none
  std::map<std::string, std::unique_ptr<MemoryLimiter>> limiters_;
  std::vector<std::unique_ptr<Pipeline>> pipelines_;  // upstream first
  std::map<std::string, SharedExporter> exporters_;
  std::map<std::string, std::unique_ptr<FanoutIngest>> connector_ingests_;
  std::vector<ReceiverEntry> receivers_;
  std::unique_ptr<KeySweeper> key_sweeper_;
  strobe::metrics::Registry* metrics_ = nullptr;
  std::vector<std::string> metric_names_;
  std::mutex mu_;
  bool started_ = false;
  bool shut_down_ = false;
};

}  // namespace strobed::pipeline
