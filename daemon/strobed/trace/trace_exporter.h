#pragma once

// The `trace_analysis` exporter: feeds every span of the pipeline into a TraceStore
// (assembly, critical path, service graph; trace_store.h). Options: quiet_period,
// max_trace_age, max_pending_traces, max_pending_bytes, max_completed_traces, window.
// All instances of the plugin feed TraceStore::Default(), which the API serves
// (trace_api.h); the options configure that store the first time the plugin is created.
//
// Thread class: Export runs on the pipeline worker thread (one lock per batch in the store).

#include <chrono>

#include "strobed/base/clock.h"
#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/plugin_registry.h"
#include "strobed/trace/trace_store.h"

namespace strobed::trace {

class TraceExporter final : public pipeline::Exporter {
 public:
  TraceExporter(TraceStore& store, base::MonotonicClock& clock, const event::KeyTable& keys)
      : store_(store), clock_(clock), keys_(keys) {}

  pipeline::ExportResult Export(const event::Batch& batch) noexcept override;
  strobe::Status Flush(std::chrono::milliseconds deadline) override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

 private:
  TraceStore& store_;
  base::MonotonicClock& clock_;
  const event::KeyTable& keys_;
};

void RegisterTraceExporter(pipeline::PluginRegistry& registry);

}  // namespace strobed::trace
