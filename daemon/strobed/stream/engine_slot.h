#pragma once

// stream::EngineSlot: the stream engine that pipelines feed, shared between the component
// that builds the engine from the `stream:` configuration (service/stream_component.h) and
// the `stream` exporter plugin (exporters/stream). Install() replaces the engine (nullptr
// uninstalls); a reader holds the shared_ptr it got for the duration of one batch, so
// uninstalling never frees an engine under a running Export. The composition root
// (service/) owns one slot per daemon and hands it to plugins through their context.
//
// Thread class: thread-safe.

#include <atomic>
#include <cstdint>
#include <memory>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/stream/engine.h"

namespace strobed::stream {

class EngineSlot {
 public:
  void Install(std::shared_ptr<StreamEngine> engine);
  std::shared_ptr<StreamEngine> Get() const;
  // Batches that arrived with no engine installed. Relaxed statistic.
  uint64_t dropped_batches() const { return dropped_.load(std::memory_order_relaxed); }
  void CountDropped() { dropped_.fetch_add(1, std::memory_order_relaxed); }

 private:
  mutable strobe::Mutex mu_;
  std::shared_ptr<StreamEngine> engine_ STROBE_GUARDED_BY(mu_);
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace strobed::stream
