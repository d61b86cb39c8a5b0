#pragma once

// The `batch` processor: groups batches by size and by time before they reach the exporters.
//
// Incoming batches are merged with Batch::Append (the event structs move, strings and
// attributes stay in the adopted batch's arena: no copy). A merged batch is emitted when it
// holds at least `send_batch_size` events, or `timeout` after its first event arrived, or
// on flush/shutdown. Input batches are never split, so an emitted batch may exceed
// send_batch_size by less than one input batch.
//
// Thread class: pipeline worker thread (processor.h); HeldEvents() is thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "strobed/pipeline/plugin_registry.h"
#include "strobed/pipeline/processor.h"

namespace strobed::processors {

struct BatchOptions {
  std::size_t send_batch_size = 1000;
  std::chrono::nanoseconds timeout = std::chrono::milliseconds(100);
};

class BatchProcessor final : public pipeline::Processor {
 public:
  explicit BatchProcessor(BatchOptions options) : options_(options) {}

  void Process(event::BatchPtr&& batch, pipeline::ProcessContext& ctx) noexcept override;
  void OnTick(pipeline::ProcessContext& ctx) noexcept override;
  uint64_t NextDeadlineNs() const noexcept override { return deadline_ns_; }
  void Flush(pipeline::ProcessContext& ctx) noexcept override { EmitPending(ctx); }
  uint64_t HeldEvents() const noexcept override {
    return held_.load(std::memory_order_relaxed);  // written by the worker; stats read
  }

 private:
  void EmitPending(pipeline::ProcessContext& ctx) noexcept;

  const BatchOptions options_;
  event::BatchPtr pending_;
  uint64_t deadline_ns_ = pipeline::kNoDeadline;
  std::atomic<uint64_t> held_{0};
};

void RegisterBatchProcessor(pipeline::PluginRegistry& registry);

}  // namespace strobed::processors
