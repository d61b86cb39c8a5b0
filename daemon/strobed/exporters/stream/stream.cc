#include "strobed/exporters/stream/stream.h"

#include <memory>

#include "strobe/base/check.h"

namespace strobed::exporters {

pipeline::ExportResult StreamExporter::Export(const event::Batch& batch) noexcept {
  try {
    std::shared_ptr<stream::StreamEngine> engine = slot_.Get();
    if (!engine) {
      slot_.CountDropped();
      return pipeline::ExportResult::kOk;  // counted drop: no engine configured
    }
    engine->Consume(batch);
    engine->Tick();
  } catch (...) {
    // Only allocation failure can throw here (new keys, events); the batch is lost.
    return pipeline::ExportResult::kFailed;
  }
  return pipeline::ExportResult::kOk;
}

strobe::Status StreamExporter::Flush(std::chrono::milliseconds deadline) {
  (void)deadline;
  if (auto engine = slot_.Get()) engine->Tick();
  return strobe::OkStatus();
}

strobe::Status StreamExporter::Shutdown(std::chrono::milliseconds deadline) {
  return Flush(deadline);
}

void RegisterStreamExporter(pipeline::PluginRegistry& registry) {
  STROBE_CHECK(
      registry
          .AddExporter({
              .type = "stream",
              .description = "Feeds the stream processor (windows, aggregates, CEP rules, anomaly "
                             "detection and alerts configured in the `stream:` and `alerts:` "
                             "sections).",
              .signals = event::kSignalAll,
              .options = {},
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Exporter>> {
                if (ctx.services.stream_engines == nullptr) {
                  return strobe::FailedPrecondition(
                      ctx.id.ToString() +
                      ": no stream engine in this process (the `stream` "
                      "exporter runs inside `strobe serve`)");
                }
                return std::unique_ptr<pipeline::Exporter>(
                    std::make_unique<StreamExporter>(*ctx.services.stream_engines));
              },
          })
          .ok());
}

}  // namespace strobed::exporters
