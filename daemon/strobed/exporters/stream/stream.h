#pragma once

// The `stream` exporter plugin: feeds a pipeline's batches into the stream engine (windows,
// aggregates, CEP rules, anomaly detection; alerts read the results). Export() hands the
// batch to StreamEngine::Consume (the engine aggregates in place and copies only what it
// keeps) and closes due windows; Flush() and Shutdown() run a Tick.
//
// The engine is not built here: `strobe serve` builds it from the `stream:` section in its
// stream component (service/stream_component.h) and installs it in the stream::EngineSlot
// the plugin gets through its context (ComponentContext::services.stream_engines), so
// pipelines can list `exporters: [stream]` in any order relative to that component. With no
// engine installed the plugin drops batches and counts them
// (strobe_stream_dropped_batches_total).
//
// Thread class: as pipeline::Exporter (worker thread for Export/Flush).

#include <chrono>

#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/plugin_registry.h"
#include "strobed/stream/engine_slot.h"

namespace strobed::exporters {

class StreamExporter final : public pipeline::Exporter {
 public:
  // `slot` must outlive the exporter.
  explicit StreamExporter(stream::EngineSlot& slot) : slot_(slot) {}
  pipeline::ExportResult Export(const event::Batch& batch) noexcept override;
  strobe::Status Flush(std::chrono::milliseconds deadline) override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

 private:
  stream::EngineSlot& slot_;
};

// Registers the `stream` exporter plugin (needs ComponentContext::services.stream_engines).
void RegisterStreamExporter(pipeline::PluginRegistry& registry);

}  // namespace strobed::exporters
