#pragma once

// The two pieces of a PipelineService's graph that move batches between pipelines:
//   FanoutIngest     what a receiver or connector pushes into: routes each batch to every
//                    pipeline that lists it (a copy per extra pipeline; events of signals no
//                    pipeline takes are counted as unrouted and removed)
//   ForwardExporter  the exporter end of a `forward` connector: copies each batch into the
//                    connector's FanoutIngest
// Internal to the pipeline framework (service.cc builds them); not a plugin API.
//
// Thread class: FanoutIngest::Push is thread-safe (receivers push concurrently); targets are
// added before the service starts. ForwardExporter as any Exporter.

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "strobed/event/batch.h"
#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/pipeline.h"
#include "strobed/pipeline/receiver.h"

namespace strobed::pipeline {

// The Ingest a receiver (or connector) pushes into: routes to every pipeline it feeds.
class FanoutIngest final : public Ingest {
 public:
  FanoutIngest(event::BatchPool& pool, std::string id) : pool_(pool), id_(std::move(id)) {}

  void AddTarget(Pipeline* p, uint8_t signals) { targets_.push_back({p, signals}); }

  // Routes `batch` (see the header comment); returns the worst status of the pipelines it
  // went to. Thread-safe, never throws.
  PushResult Push(event::BatchPtr&& batch, const PushOptions& options) noexcept override;

  event::BatchPool& pool() noexcept override { return pool_; }
  uint64_t unrouted() const { return unrouted_.load(std::memory_order_relaxed); }
  const std::string& id() const { return id_; }

 private:
  struct Target {
    Pipeline* pipeline;
    uint8_t signals;
  };
  static void StripTo(event::Batch& b, uint8_t signals);

  event::BatchPool& pool_;
  std::string id_;
  std::vector<Target> targets_;
  std::atomic<uint64_t> unrouted_{0};
};

// The exporter end of a `forward` connector: copies each batch into the pipelines that list
// the connector as a receiver (blocking under their block policy; kRetry when refused).
class ForwardExporter final : public Exporter {
 public:
  ForwardExporter(FanoutIngest& ingest, event::BatchPool& pool) : ingest_(ingest), pool_(pool) {}

  // Copies `batch` into the connector's pipelines: kOk when accepted (or dropped by their
  // policy, counted there), kRetry when throttled or refused, kFailed at shutdown.
  ExportResult Export(const event::Batch& batch) noexcept override;
  strobe::Status Shutdown(std::chrono::milliseconds) override { return strobe::OkStatus(); }

 private:
  FanoutIngest& ingest_;
  event::BatchPool& pool_;
};

}  // namespace strobed::pipeline
