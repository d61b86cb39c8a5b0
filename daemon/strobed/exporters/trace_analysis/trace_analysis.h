#pragma once

// The `trace_analysis` exporter plugin: feeds every span of the pipeline into the daemon's
// trace store (assembly, critical path, service graph; trace/trace_store.h), which the API
// serves (service/trace_api.h). Options: quiet_period, max_trace_age, max_pending_traces,
// max_pending_bytes, max_completed_traces, window. The store is shared through the plugin
// context (ComponentContext::services.trace_store); the first trace_analysis exporter created
// configures it with its options, later ones feed it as configured.
//
// Spans the store's memory bound evicts are reported to the pipeline (ExportResult::SetEvicted)
// and counted as dropped, reason exporter_evicted, not as forwarded: an eviction caused by a
// batch is charged to that batch, up to its span count, the rest to the next batches.
//
// Thread class: Export runs on the pipeline worker thread (one lock per batch in the store).

#include <chrono>

#include "strobed/base/clock.h"
#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/plugin_registry.h"
#include "strobed/trace/trace_store.h"

namespace strobed::exporters {

class TraceAnalysisExporter final : public pipeline::Exporter {
 public:
  // `store`, `clock` and `keys` must outlive the exporter.
  TraceAnalysisExporter(trace::TraceStore& store, base::MonotonicClock& clock,
                        const event::KeyTable& keys)
      : store_(store), clock_(clock), keys_(keys) {}

  pipeline::ExportResult Export(const event::Batch& batch) noexcept override;
  strobe::Status Flush(std::chrono::milliseconds deadline) override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

 private:
  trace::TraceStore& store_;
  base::MonotonicClock& clock_;
  const event::KeyTable& keys_;
  uint64_t evicted_unreported_ = 0;  // evicted spans beyond what earlier batches could carry
};

// Registers the `trace_analysis` exporter plugin (needs ComponentContext::services.trace_store).
void RegisterTraceAnalysisExporter(pipeline::PluginRegistry& registry);

}  // namespace strobed::exporters
