#pragma once

// stream::StreamExporter: the pipeline destination that feeds a StreamEngine. Export() hands
// the batch to StreamEngine::Consume (the engine copies nothing: it aggregates in place) and
// closes due windows; Flush() runs a Tick.
//
// The `stream` exporter plugin (RegisterStreamExporter) feeds whatever engine is installed
// in the process-wide EngineSlot: `strobe serve` builds the engine from the `stream:` section
// in its StreamComponent (alert/component.h) and installs it there, so pipelines can list
// `exporters: [stream]` in any order relative to the component. Without an installed engine
// the plugin drops batches and counts them (strobe_stream_dropped_batches_total).
//
// Thread class: as pipeline::Exporter (worker thread for Export/Flush); EngineSlot is
// thread-safe.

#include <atomic>
#include <memory>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/plugin_registry.h"
#include "strobed/stream/engine.h"

namespace strobed::stream {

class StreamExporter final : public pipeline::Exporter {
 public:
  explicit StreamExporter(StreamEngine& engine) : engine_(engine) {}
  pipeline::ExportResult Export(const event::Batch& batch) noexcept override;
  strobe::Status Flush(std::chrono::milliseconds deadline) override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

 private:
  StreamEngine& engine_;
};

// The engine the `stream` plugin feeds. Install() replaces it (nullptr uninstalls); an
// exporter holds its shared_ptr for the duration of one batch, so uninstalling never frees an
// engine under a running Export.
class EngineSlot {
 public:
  static EngineSlot& Default();
  void Install(std::shared_ptr<StreamEngine> engine);
  std::shared_ptr<StreamEngine> Get() const;
  // Batches that arrived with no engine installed. Relaxed statistic.
  uint64_t dropped_batches() const { return dropped_.load(std::memory_order_relaxed); }
  void CountDropped() { dropped_.fetch_add(1, std::memory_order_relaxed); }

 private:
  mutable strobe::Mutex mu_;
  std::shared_ptr<StreamEngine> engine_ STROBE_GUARDED_BY(mu_);
  std::atomic<uint64_t> dropped_{0};
};

// Registers the `stream` exporter plugin (feeds EngineSlot::Default()).
void RegisterStreamExporter(pipeline::PluginRegistry& registry);

}  // namespace strobed::stream
