#pragma once

// The `memory` receiver: an in-process entry point into the pipeline, for tests, benchmarks
// and embedding (fluent-bit's in_lib). Code holding the receiver fills batches from pool()
// and calls Push(); results are exactly those of pipeline::Ingest::Push.
//
// Thread class: Push/pool are thread-safe once Start() returned and until Shutdown().

#include <atomic>
#include <chrono>

#include "strobed/pipeline/plugin_registry.h"
#include "strobed/pipeline/receiver.h"

namespace strobed::receivers {

class MemoryReceiver final : public pipeline::Receiver {
 public:
  explicit MemoryReceiver(event::BatchPool& pool) : pool_(pool) {}

  strobe::Status Start(pipeline::Ingest& ingest) override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

  // Pushes `batch` into the pipeline(s). Before Start or after Shutdown: kShutdown with the
  // batch handed back.
  pipeline::PushResult Push(event::BatchPtr&& batch,
                            const pipeline::PushOptions& options = {}) noexcept;
  event::BatchPool& pool() noexcept { return pool_; }

 private:
  event::BatchPool& pool_;
  // Acquire/release: Start() publishes `ingest` before pushers load it.
  std::atomic<pipeline::Ingest*> ingest_{nullptr};
};

void RegisterMemoryReceiver(pipeline::PluginRegistry& registry);

}  // namespace strobed::receivers
