#pragma once

// Histogram: a sharded, lock-free distribution recorder with HDR-quality quantiles.
//
//   Record(v)          integer (ns, bytes) or floating value; ~2-4 ns, no lock, no RMW
//   RecordWithExemplar OpenMetrics exemplar on the bucket the value falls in
//   Data()/Value()     merged view (control plane)
//
// Buckets are OTLP base-2 exponential buckets at scale 6 (64 per power of two, 1.09% wide;
// see histogram_data.h): quantiles within 0.55% of exact, count/sum/min/max exact, values
// 2^-64 .. 2^64 (nanoseconds up to 584 years). Exposition derives classic Prometheus `le`
// buckets (HistogramOptions::bounds) or a quantile summary (p50/p90/p99/p99.9/max) from
// them at collection; exporters get the exponential buckets unchanged.
//
// Bad input: zero is counted in zero_count. Negative, NaN and infinite values are rejected,
// never recorded: counted per series (HistogramValue::invalid_count) and process-wide in
// strobe_metrics_invalid_observations_total. (Prometheus would put +Inf into the +Inf
// bucket and poison _sum; we keep _sum finite.)
//
// Recording: each thread writes its own HistShard (internal/shard.h). The first record of a
// thread into a histogram, and the first into a new power of two, allocate (slow path,
// once); steady state never does.
//
// Created and owned by a Registry; valid until the registry or its family is destroyed.
// Thread class: thread-safe.

#include <bit>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "strobe/base/clock.h"
#include "strobe/metrics/histogram_data.h"
#include "strobe/metrics/internal/bucket_math.h"
#include "strobe/metrics/internal/series.h"
#include "strobe/metrics/internal/shard.h"
#include "strobe/metrics/labels.h"
#include "strobe/snapshot/snapshot.h"

namespace strobe::metrics {

enum class HistogramExposition : uint8_t {
  kBuckets,  // Prometheus/OpenMetrics histogram: _bucket{le=...}, _sum, _count
  kSummary,  // summary: {quantile="0.5"} ... {quantile="1"} (max), _sum, _count
};

struct HistogramOptions {
  // Classic `le` bounds in exposed units, strictly increasing and finite. Empty: latency
  // bounds 1 us .. 10 s in 1-2.5-5 steps, assuming values are recorded in nanoseconds
  // (DefaultLatencyBounds(unit_scale)).
  std::vector<double> bounds{};
  // Exposed value = recorded value * unit_scale. A nanosecond histogram named `*_seconds`
  // uses 1e-9: record integer ns (fast, exact), expose seconds as Prometheus recommends.
  double unit_scale = 1.0;
  HistogramExposition exposition = HistogramExposition::kBuckets;
  // Summary quantiles in (0, 1]; empty: {0.5, 0.9, 0.99, 0.999, 1}. 1 is the max.
  std::vector<double> quantiles{};
};

// 1e3 .. 1e10 recorded units (1 us .. 10 s of ns) in 1, 2.5, 5 steps, times unit_scale.
std::vector<double> DefaultLatencyBounds(double unit_scale = 1.0);
// start, start*factor, ... (count bounds). start > 0, factor > 1.
std::vector<double> ExponentialBounds(double start, double factor, int count);
// start, start+width, ... (count bounds). width > 0.
std::vector<double> LinearBounds(double start, double width, int count);

namespace internal {
// Validated options shared by the series of one family.
struct HistogramSpec {
  HistogramOptions options;  // bounds and quantiles filled with defaults
};
}  // namespace internal

class Histogram {
 public:
  // Created by Registry only.
  Histogram(uint32_t hist, const internal::HistogramSpec* spec, internal::SeriesMeta* meta)
      : hist_(hist), spec_(spec), meta_(meta) {}
  ~Histogram();
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Records one observation. Integers take the fastest path; signed negatives, and
  // negative / NaN / infinite floating values are rejected (returns false, counted).
  template <typename T>
  requires std::is_arithmetic_v<T>
  bool Record(T v) noexcept {
    if constexpr (std::is_floating_point_v<T>) {
      return RecordDouble(static_cast<double>(v));
    } else if constexpr (std::is_signed_v<T>) {
      if (v < 0) return RecordInvalid();
      RecordUnsigned(static_cast<uint64_t>(v));
      return true;
    } else {
      RecordUnsigned(static_cast<uint64_t>(v));
      return true;
    }
  }

  __attribute__((always_inline)) void RecordUnsigned(uint64_t v) noexcept {
    internal::HistShard* h = internal::LocalHist(hist_);
    if (__builtin_expect(v == 0, 0)) {
      internal::Bump(h->zero_count, 1);
    } else {
      BumpBucket(h, internal::BucketIndex(v));
    }
    internal::Bump(h->count, 1);
    internal::Bump(h->int_sum, v);
    UpdateMinMax(h, static_cast<double>(v));
  }

  bool RecordDouble(double v) noexcept {
    if (__builtin_expect(!(v >= 0) || std::isinf(v), 0)) return RecordInvalid();
    internal::HistShard* h = internal::LocalHist(hist_);
    if (v == 0) {
      internal::Bump(h->zero_count, 1);
    } else {
      const int32_t index = v <= 0x1p-64 ? internal::kMinBucketIndex
                            : v > 0x1p64 ? internal::kMaxBucketIndex
                                         : internal::BucketIndexOfDouble(v);
      BumpBucket(h, index);
    }
    internal::Bump(h->count, 1);
    const double sum = std::bit_cast<double>(h->double_sum.load(std::memory_order_relaxed)) + v;
    h->double_sum.store(std::bit_cast<uint64_t>(sum), std::memory_order_relaxed);
    UpdateMinMax(h, v);
    return true;
  }

  // Records a duration given in TickClock ticks (timer.h) as nanoseconds.
  void RecordTicks(uint64_t ticks) noexcept { RecordUnsigned(TickClock::ToNs(ticks)); }

  // Record() plus an exemplar (e.g. {{"trace_id", id}, {"span_id", sid}}) kept as the
  // series' latest; rendered on the bucket the value falls in. See Counter::AddWithExemplar
  // for limits; the observation is never dropped, only the exemplar.
  bool RecordWithExemplar(double v, std::initializer_list<LabelPair> exemplar) noexcept;

  // Merged over all threads (takes the shard lock): buckets, count, sum, min, max.
  HistogramData Data() const;
  // Data() plus classic buckets / quantiles as configured, exposed units where documented.
  snapshot::HistogramValue Value() const;

  const HistogramOptions& options() const { return spec_->options; }

 private:
  static void BumpBucket(internal::HistShard* h, int32_t index) noexcept {
    const int octave = (index >> 6) + internal::kOctaves / 2;
    internal::HistPage* p = h->pages[octave].load(std::memory_order_relaxed);  // owner's own
    if (__builtin_expect(p == nullptr, 0)) p = internal::CreateHistPage(h, octave);
    internal::Bump(p->counts[index & 63], 1);
  }
  static void UpdateMinMax(internal::HistShard* h, double d) noexcept {
    if (d < std::bit_cast<double>(h->min_bits.load(std::memory_order_relaxed))) {
      h->min_bits.store(std::bit_cast<uint64_t>(d), std::memory_order_relaxed);
    }
    if (d > std::bit_cast<double>(h->max_bits.load(std::memory_order_relaxed))) {
      h->max_bits.store(std::bit_cast<uint64_t>(d), std::memory_order_relaxed);
    }
  }
  bool RecordInvalid() noexcept;

  friend class HistogramCollector;
  uint32_t hist_;
  const internal::HistogramSpec* spec_;
  internal::SeriesMeta* meta_;
};

// Reads histograms into reusable scratch (64 KiB) — what exposition uses per series.
class HistogramCollector {
 public:
  HistogramCollector();
  ~HistogramCollector();
  // Caller holds internal::Shards::ReadLock. Fills `out` completely (exponential buckets,
  // totals, classic buckets or quantiles per the histogram's options).
  void CollectLocked(const Histogram& h, snapshot::HistogramValue* out);
  // Replaces *out with the merged buckets and totals.
  void CollectLocked(const Histogram& h, HistogramData* out);

 private:
  std::unique_ptr<internal::HistMerge> merge_;
  HistogramData data_;
};

}  // namespace strobe::metrics
