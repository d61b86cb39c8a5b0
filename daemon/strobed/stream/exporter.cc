#include "strobed/stream/exporter.h"

#include "strobe/base/check.h"

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

EngineSlot& EngineSlot::Default() {
  static EngineSlot* slot = new EngineSlot();
  return *slot;
}

void EngineSlot::Install(std::shared_ptr<StreamEngine> engine) {
  strobe::MutexLock lock(mu_);
  engine_ = std::move(engine);
}

std::shared_ptr<StreamEngine> EngineSlot::Get() const {
  strobe::MutexLock lock(mu_);
  return engine_;
}

namespace {

// Feeds the engine installed in the slot at the time of each batch.
class SlotExporter final : public pipeline::Exporter {
 public:
  explicit SlotExporter(EngineSlot& slot) : slot_(slot) {}
  pipeline::ExportResult Export(const event::Batch& batch) noexcept override {
    try {
      std::shared_ptr<StreamEngine> engine = slot_.Get();
      if (!engine) {
        slot_.CountDropped();
        return pipeline::ExportResult::kOk;  // counted drop: no engine configured
      }
      engine->Consume(batch);
      engine->Tick();
    } catch (...) {
      return pipeline::ExportResult::kFailed;
    }
    return pipeline::ExportResult::kOk;
  }
  strobe::Status Flush(std::chrono::milliseconds deadline) override {
    (void)deadline;
    if (auto engine = slot_.Get()) engine->Tick();
    return strobe::OkStatus();
  }
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override { return Flush(deadline); }

 private:
  EngineSlot& slot_;
};

}  // namespace

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
                (void)ctx;
                return std::unique_ptr<pipeline::Exporter>(
                    std::make_unique<SlotExporter>(EngineSlot::Default()));
              },
          })
          .ok());
}

}  // namespace strobed::stream
