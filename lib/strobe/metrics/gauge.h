#pragma once

// Gauge: a double that is set, or moved up and down, and read at collection.
//
// A gauge has last-writer-wins semantics, which needs one memory location: the value sits
// alone on its own cache line. Set() is a relaxed store (~1 ns uncontended); threads that
// Set() the same gauge concurrently do share that line — inherent to "last value" — so for
// a value many threads move up and down use UpDownCounter (counter.h), which is sharded.
// Add()/Sub() are a compare-exchange loop.
//
// Callback gauges (values computed at collection: memory in use, queue length read from
// another structure) are registered with Registry::AddCallbackGauge / AddCallbackFamily.
//
// Created and owned by a Registry; valid until the registry or its family is destroyed.
// Thread class: thread-safe.

#include <atomic>

#include "strobe/base/cache_line.h"

namespace strobe::metrics {

namespace internal {
struct SeriesMeta;
}

class alignas(kCacheLineBytes) Gauge {
 public:
  explicit Gauge(internal::SeriesMeta* meta) : meta_(meta) {}
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  // Relaxed: the collector's relaxed load is the partner; a gauge publishes nothing else.
  void Set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void Add(double delta) noexcept {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + delta, std::memory_order_relaxed)) {
    }
  }
  void Sub(double delta) noexcept { Add(-delta); }
  void Inc() noexcept { Add(1); }
  void Dec() noexcept { Add(-1); }
  double Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
  [[maybe_unused]] internal::SeriesMeta* meta_;
};

}  // namespace strobe::metrics
