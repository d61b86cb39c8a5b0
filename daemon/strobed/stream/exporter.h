#pragma once

// stream::StreamExporter: the pipeline destination that feeds a StreamEngine. Export() hands
// the batch to StreamEngine::Consume (the engine copies nothing: it aggregates in place) and
// closes due windows; Flush() runs a Tick. The engine outlives the exporter (the daemon owns
// both; HTTP handlers read the engine).
//
// Thread class: as pipeline::Exporter (worker thread for Export/Flush).

#include "strobed/pipeline/exporter.h"
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

}  // namespace strobed::stream
