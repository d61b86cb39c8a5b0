#pragma once

// The `debug` exporter: writes what passes through a pipeline as text, like the
// OpenTelemetry Collector's debug exporter. verbosity `basic` prints one summary line per
// batch, `normal` one line per event, `detailed` every field with attributes. Output goes to
// stderr (default), stdout, or a file (appended).
//
// Thread class: Export runs on the pipeline worker thread (a shared instance is serialised by
// the pipeline); it formats into a reused buffer and writes once per batch.

#include <chrono>
#include <cstdio>
#include <string>

#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/plugin_registry.h"

namespace strobed::exporters {

enum class DebugVerbosity : uint8_t { kBasic, kNormal, kDetailed };

class DebugExporter final : public pipeline::Exporter {
 public:
  // `out` is not owned when `owns` is false.
  DebugExporter(DebugVerbosity verbosity, std::FILE* out, bool owns, std::string name);
  ~DebugExporter() override;

  pipeline::ExportResult Export(const event::Batch& batch) noexcept override;
  strobe::Status Flush(std::chrono::milliseconds deadline) override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

  // Formats `batch` as Export would (tests).
  static std::string Format(const event::Batch& batch, DebugVerbosity verbosity,
                            const std::string& name);

 private:
  DebugVerbosity verbosity_;
  std::FILE* out_;
  bool owns_;
  std::string name_;
};

void RegisterDebugExporter(pipeline::PluginRegistry& registry);

}  // namespace strobed::exporters
