#pragma once

// Counter, FloatCounter and UpDownCounter: sharded, lock-free recording instruments.
//
//   Counter        monotonic uint64 (requests, bytes). Exposed as `<name>_total`.
//   FloatCounter   monotonic double (CPU seconds). Negative or NaN deltas are rejected and
//                  counted in strobe_metrics_invalid_observations_total.
//   UpDownCounter  int64 that goes up and down (in-flight requests, queue depth); exposed
//                  as a gauge. Unlike Gauge it is sharded, so Add() from many threads scales.
//
// Instances are created and owned by a Registry (registry.h) and live until the registry
// (or their family, via Registry::Remove) is destroyed; keep the reference, never delete it.
//
// Cost: Add() is a thread_local load, one indexed load and one store into this thread's own
// shard (internal/shard.h) — ~1 ns, no lock, no allocation (except the first record of a
// thread, which maps its shard), no read-modify-write, no cache line shared with another
// thread. Value() sums all shards under the shard lock: control plane only.
//
// Thread class: thread-safe.

#include <bit>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "strobe/metrics/internal/series.h"
#include "strobe/metrics/internal/shard.h"
#include "strobe/metrics/labels.h"

namespace strobe::metrics {

template <typename T>
class Family;

class Counter {
 public:
  // Created by Registry only.
  Counter(uint32_t cell, internal::SeriesMeta* meta) : cell_(cell), meta_(meta) {}
  ~Counter();
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Inc() noexcept { Add(1); }
  void Add(uint64_t delta) noexcept { internal::Bump(internal::LocalCell(cell_), delta); }

  // Add() plus an OpenMetrics exemplar, e.g. {{"trace_id", id}}: the series keeps the latest
  // one. Names and values together at most 128 bytes; a longer set, or a concurrent exemplar
  // write to the same series, drops the exemplar (never the increment) and counts it.
  // Reads the wall clock: for sampled paths, not every increment.
  void AddWithExemplar(uint64_t delta, std::initializer_list<LabelPair> exemplar) noexcept;

  // Sum over all threads, exited ones included. Takes the shard lock.
  uint64_t Value() const;

 private:
  template <typename>
  friend class Family;
  uint32_t cell_;
  internal::SeriesMeta* meta_;
};

class FloatCounter {
 public:
  FloatCounter(uint32_t cell, internal::SeriesMeta* meta) : cell_(cell), meta_(meta) {}
  ~FloatCounter();
  FloatCounter(const FloatCounter&) = delete;
  FloatCounter& operator=(const FloatCounter&) = delete;

  // Adds `delta` >= 0. Negative, NaN or infinite deltas are rejected: returns false and
  // counts the rejection.
  bool Add(double delta) noexcept {
    if (__builtin_expect(!(delta >= 0) || std::isinf(delta), 0)) {
      internal::CountInvalidObservation();
      return false;
    }
    internal::Cell& c = internal::LocalCell(cell_);
    const double v = std::bit_cast<double>(c.load(std::memory_order_relaxed)) + delta;
    c.store(std::bit_cast<uint64_t>(v), std::memory_order_relaxed);
    return true;
  }
  bool AddWithExemplar(double delta, std::initializer_list<LabelPair> exemplar) noexcept;

  double Value() const;

 private:
  template <typename>
  friend class Family;
  uint32_t cell_;
  internal::SeriesMeta* meta_;
};

class UpDownCounter {
 public:
  UpDownCounter(uint32_t cell, internal::SeriesMeta* meta) : cell_(cell), meta_(meta) {}
  ~UpDownCounter();
  UpDownCounter(const UpDownCounter&) = delete;
  UpDownCounter& operator=(const UpDownCounter&) = delete;

  // Two's-complement wrap-around in each shard; the sum over shards is exact.
  void Add(int64_t delta) noexcept {
    internal::Bump(internal::LocalCell(cell_), static_cast<uint64_t>(delta));
  }
  void Inc() noexcept { Add(1); }
  void Dec() noexcept { Add(-1); }

  int64_t Value() const;

 private:
  template <typename>
  friend class Family;
  uint32_t cell_;
  [[maybe_unused]] internal::SeriesMeta* meta_;
};

}  // namespace strobe::metrics
