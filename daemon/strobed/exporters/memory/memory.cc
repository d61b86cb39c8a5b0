#include "strobed/exporters/memory/memory.h"

#include <memory>
#include <utility>

#include "strobe/base/check.h"

namespace strobed::exporters {

pipeline::ExportResult MemoryExporter::Export(const event::Batch& batch) noexcept {
  if (hook_) {
    pipeline::ExportResult r = hook_(batch);
    if (r != pipeline::ExportResult::kOk) return r;
  }
  if (options_.max_retained_events > 0) {
    strobe::MutexLock lock(mu_);
    if (retained_events_ < options_.max_retained_events) {
      event::BatchPtr copy = pool_.Acquire();
      event::EventCopier copier(*copy, batch);
      copier.CopyAll(batch);
      retained_events_ += copy->size();
      retained_.push_back(std::move(copy));
    }
  }
  spans_.fetch_add(batch.spans().size(), std::memory_order_release);
  metrics_.fetch_add(batch.metrics().size(), std::memory_order_release);
  logs_.fetch_add(batch.logs().size(), std::memory_order_release);
  batches_.fetch_add(1, std::memory_order_release);
  return pipeline::ExportResult::kOk;
}

strobe::Status MemoryExporter::Shutdown(std::chrono::milliseconds deadline) {
  (void)deadline;
  return strobe::OkStatus();
}

std::vector<event::BatchPtr> MemoryExporter::TakeRetained() {
  strobe::MutexLock lock(mu_);
  std::vector<event::BatchPtr> out = std::move(retained_);
  retained_.clear();
  return out;
}

void RegisterMemoryExporter(pipeline::PluginRegistry& registry) {
  STROBE_CHECK(registry
                   .AddExporter({
                       .type = "memory",
                       .description = "In-process sink: counts events and keeps copies of "
                                      "the first max_retained_events (tests, embedding).",
                       .signals = event::kSignalAll,
                       .options = {{"max_retained_events",
                                    pipeline::OptionType::kInt,
                                    "0",
                                    "keep deep copies of up to this many events (0 = count only)",
                                    {.min = "0"}}},
                       .create = [](const pipeline::ComponentContext& ctx)
                           -> strobe::Result<std::unique_ptr<pipeline::Exporter>> {
                         MemoryExporterOptions o{
                             static_cast<std::size_t>(ctx.options.GetInt("max_retained_events"))};
                         return std::unique_ptr<pipeline::Exporter>(
                             std::make_unique<MemoryExporter>(o, ctx.pool));
                       },
                   })
                   .ok());
}

}  // namespace strobed::exporters
