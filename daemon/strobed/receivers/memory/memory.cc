#include "strobed/receivers/memory/memory.h"

#include <memory>
#include <utility>

#include "strobe/base/check.h"

namespace strobed::receivers {

strobe::Status MemoryReceiver::Start(pipeline::Ingest& ingest) {
  ingest_.store(&ingest, std::memory_order_release);
  return strobe::OkStatus();
}

strobe::Status MemoryReceiver::Shutdown(std::chrono::milliseconds deadline) {
  (void)deadline;
  ingest_.store(nullptr, std::memory_order_release);
  return strobe::OkStatus();
}

pipeline::PushResult MemoryReceiver::Push(event::BatchPtr&& batch,
                                          const pipeline::PushOptions& options) noexcept {
  pipeline::Ingest* ingest = ingest_.load(std::memory_order_acquire);
  if (ingest == nullptr) {
    pipeline::PushResult r;
    r.status = pipeline::PushStatus::kShutdown;
    r.refuse_reason = pipeline::RefuseReason::kShutdown;
    r.batch = std::move(batch);
    return r;
  }
  return ingest->Push(std::move(batch), options);
}

void RegisterMemoryReceiver(pipeline::PluginRegistry& registry) {
  STROBE_CHECK(registry
                   .AddReceiver({
                       .type = "memory",
                       .description = "In-process receiver: code in the daemon (tests, "
                                      "benchmarks, embedding) pushes batches directly.",
                       .signals = event::kSignalAll,
                       .options = {},
                       .create = [](const pipeline::ComponentContext& ctx)
                           -> strobe::Result<std::unique_ptr<pipeline::Receiver>> {
                         return std::unique_ptr<pipeline::Receiver>(
                             std::make_unique<MemoryReceiver>(ctx.pool));
                       },
                   })
                   .ok());
}

}  // namespace strobed::receivers
