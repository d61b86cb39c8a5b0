#pragma once

// The `memory` exporter: an in-process sink for tests, benchmarks and embedding (fluent-bit's
// out_lib). It counts every event it receives and, up to `max_retained_events`, keeps deep
// copies that other threads can inspect with Retained()/TakeRetained().
//
// Thread class: Export runs on the pipeline worker; the accessors are thread-safe (counters
// are atomics; retained copies sit behind a mutex — this is a test sink, not a hot path).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/plugin_registry.h"

namespace strobed::exporters {

struct MemoryExporterOptions {
  std::size_t max_retained_events = 0;  // 0 = count only
};

class MemoryExporter final : public pipeline::Exporter {
 public:
  MemoryExporter(MemoryExporterOptions options, event::BatchPool& pool)
      : options_(options), pool_(pool) {}

  pipeline::ExportResult Export(const event::Batch& batch) noexcept override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

  uint64_t spans() const { return spans_.load(std::memory_order_acquire); }
  uint64_t metrics() const { return metrics_.load(std::memory_order_acquire); }
  uint64_t logs() const { return logs_.load(std::memory_order_acquire); }
  uint64_t events() const { return spans() + metrics() + logs(); }
  uint64_t batches() const { return batches_.load(std::memory_order_acquire); }

  // Copies of received events (at most max_retained_events in total), oldest first.
  std::vector<event::BatchPtr> TakeRetained();

  // Test hook: called with each batch before counting; its result is returned instead of kOk
  // (e.g. to simulate a slow or failing backend). Set before Start.
  void SetHookForTest(std::function<pipeline::ExportResult(const event::Batch&)> hook) {
    hook_ = std::move(hook);
  }

 private:
  const MemoryExporterOptions options_;
  event::BatchPool& pool_;
  std::function<pipeline::ExportResult(const event::Batch&)> hook_;
  // Release pairs with the accessors' acquire: a test that saw the count sees the copies.
  std::atomic<uint64_t> spans_{0};
  std::atomic<uint64_t> metrics_{0};
  std::atomic<uint64_t> logs_{0};
  std::atomic<uint64_t> batches_{0};
  strobe::Mutex mu_;
  std::vector<event::BatchPtr> retained_ STROBE_GUARDED_BY(mu_);
  std::size_t retained_events_ STROBE_GUARDED_BY(mu_) = 0;
};

void RegisterMemoryExporter(pipeline::PluginRegistry& registry);

}  // namespace strobed::exporters
