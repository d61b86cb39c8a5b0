#pragma once

// strobed::demo::DemoSpanFeeder: turns the demo workload's requests (workload.h) into spans
// and pushes them into the event pipeline through a `memory` receiver, so `strobe serve
// --demo` shows trace analysis, the service graph, window results and alerts, not only
// metrics.
//
// Shape: a request of the `frontend` service is one SERVER span. A request of another service
// is a trace of two spans: a CLIENT span in `frontend` (the call, 0.2-1 ms longer than the
// callee, error when the callee fails) and the callee's SERVER span as its child, so the
// service graph has the edges frontend → checkout, catalog, auth. Server spans carry
// http.request.method, http.route and http.response.status_code; client spans carry
// peer.service and http.request.method. Every span's resource has service.name.
//
// Add() appends to the current batch; Flush() pushes it (the demo calls it once per tick).
// A batch the pipeline does not take (throttled, refused, shut down) is dropped and counted
// in dropped_spans() — the demo is a generator, it does not retry.
//
// Thread class: thread-compatible (the demo thread).

#include <atomic>
#include <cstdint>
#include <functional>

#include "strobed/demo/workload.h"
#include "strobed/event/batch.h"

namespace strobed::pipeline {
class Ingest;
}  // namespace strobed::pipeline

namespace strobed::event {
class KeyTable;
}  // namespace strobed::event

namespace strobed::receivers {
class MemoryReceiver;
}  // namespace strobed::receivers

namespace strobed::demo {

class DemoSpanFeeder {
 public:
  // `receiver` is looked up lazily (the pipelines start after the feeder is made); it may
  // return nullptr, and then spans are counted as dropped.
  DemoSpanFeeder(std::function<receivers::MemoryReceiver*()> receiver, event::KeyTable& keys);

  void Add(const RequestRecord& r);
  void Flush();

  uint64_t pushed_spans() const { return pushed_.load(std::memory_order_relaxed); }
  uint64_t dropped_spans() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  const event::Resource* ResourceFor(const ServiceModel* service);

  std::function<receivers::MemoryReceiver*()> lookup_;
  receivers::MemoryReceiver* receiver_ = nullptr;
  event::KeyTable& keys_;
  event::BatchPtr batch_;
  size_t batch_spans_ = 0;
  // Per-batch resources (they live in the batch's arena): service model → resource.
  std::vector<std::pair<const ServiceModel*, const event::Resource*>> resources_;
  // Relaxed: statistics read by the status page; written only by the demo thread.
  std::atomic<uint64_t> pushed_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace strobed::demo
