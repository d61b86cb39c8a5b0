#pragma once

// The exporter interface: where a pipeline's data leaves (Prometheus, OTLP, ClickHouse, the
// stream processor, the memory and debug sinks).
//
// The pipeline's worker thread calls Export() with an immutable batch after the last
// processor; with several exporters, each gets the same batch in turn. The batch is valid only
// during the call: an exporter that keeps data (a durable queue, an aggregating stream
// processor) copies what it needs (event::EventCopier, or its own encoding).
//
// Results (STYLE.md section 5; the pipeline owns the retry policy):
//   kOk      done (counted as exported)
//   kRetry   transient failure: the pipeline retries the same batch with exponential backoff
//            until its retry budget is spent, then drops it (reason retry_exhausted)
//   kFailed  permanent failure for this batch: dropped (reason export_failed)
//
// A slow Export() back-pressures the pipeline (its queue fills and the pipeline's policy
// applies); an exporter doing network I/O should keep its own bounded buffer.
//
// Thread class: Export/Flush are called from the pipeline worker thread; Start/Shutdown from
// the control thread, never concurrently with Export.

#include <chrono>
#include <cstdint>

#include "strobe/base/status.h"
#include "strobed/event/batch.h"

namespace strobed::pipeline {

enum class ExportResult : uint8_t { kOk = 0, kRetry, kFailed };

class Exporter {
 public:
  virtual ~Exporter() = default;
  virtual strobe::Status Start() { return strobe::OkStatus(); }
  // Exports `batch` (possibly empty of some signals). noexcept: never throws.
  virtual ExportResult Export(const event::Batch& batch) noexcept = 0;
  // Pushes buffered data downstream. Worker thread.
  virtual strobe::Status Flush(std::chrono::milliseconds deadline) {
    (void)deadline;
    return strobe::OkStatus();
  }
  virtual strobe::Status Shutdown(std::chrono::milliseconds deadline) = 0;
};

}  // namespace strobed::pipeline
