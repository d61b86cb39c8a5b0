#include "strobed/stream/exporter.h"

namespace strobed::stream {

pipeline::ExportResult StreamExporter::Export(const event::Batch& batch) noexcept {
  try {
    engine_.Consume(batch);
    engine_.Tick();
  } catch (...) {
    // Only allocation failure can throw here (new keys, events); the batch is lost.
    return pipeline::ExportResult::kFailed;
  }
  return pipeline::ExportResult::kOk;
}

strobe::Status StreamExporter::Flush(std::chrono::milliseconds deadline) {
  (void)deadline;
  engine_.Tick();
  return strobe::OkStatus();
}

strobe::Status StreamExporter::Shutdown(std::chrono::milliseconds deadline) {
  (void)deadline;
  engine_.Tick();
  return strobe::OkStatus();
}

}  // namespace strobed::stream
