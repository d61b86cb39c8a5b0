#pragma once

// The metric point event: one data point of one metric stream, in the OpenTelemetry shape
// (metrics/v1 NumberDataPoint, HistogramDataPoint, ExponentialHistogramDataPoint,
// SummaryDataPoint), flattened so that each point carries its metric name, type and
// temporality. Every OTLP point kind has its own type here, so a point leaves the daemon in the
// shape it arrived in (a summary stays a summary on /metrics and in OTLP out).
//
// Views (name, labels, histogram and quantile arrays) point into the arena of the Batch holding
// the point, or into storage that outlives it. Thread class: thread-compatible.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "strobed/event/attribute.h"
#include "strobed/event/resource.h"

namespace strobed::event {

enum class MetricType : uint8_t {
  kGauge = 0,
  kSum,
  kHistogram,             // explicit bucket bounds
  kExponentialHistogram,  // base-2 exponential buckets
  kSummary,               // count, sum and quantiles computed by the source
};

// Values match OTLP AggregationTemporality.
enum class Temporality : uint8_t { kUnspecified = 0, kDelta = 1, kCumulative = 2 };

// Explicit-bounds histogram: bucket_counts.size() == explicit_bounds.size() + 1; bucket i
// counts values in (bounds[i-1], bounds[i]], the last bucket is (bounds.back(), +inf).
struct HistogramData {
  uint64_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  bool has_min_max = false;
  std::span<const double> explicit_bounds;
  std::span<const uint64_t> bucket_counts;
};

// One side (positive or negative) of an exponential histogram: counts[i] is the bucket with
// index offset + i, covering (base^(index), base^(index+1)] with base = 2^(2^-scale).
struct ExponentialBuckets {
  int32_t offset = 0;
  std::span<const uint64_t> counts;
};

struct ExponentialHistogramData {
  uint64_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  bool has_min_max = false;
  int32_t scale = 0;
  uint64_t zero_count = 0;
  double zero_threshold = 0;
  ExponentialBuckets positive;
  ExponentialBuckets negative;
};

// One quantile of a summary: `value` is the observation below which a fraction `quantile` of
// the observations fall. OTLP ValueAtQuantile.
struct QuantileValue {
  double quantile = 0;  // in [0, 1]
  double value = 0;     // may be NaN (Prometheus clients report NaN before any observation)
};

// A summary (OTLP SummaryDataPoint, Prometheus summary): the count and sum of the observations
// since start_time (cumulative, as OTLP defines them) and quantiles the source computed.
// Quantiles cannot be merged or re-aggregated, which is why the point keeps its own type
// instead of being split into gauges: exporters pass it on as it came.
//
// Invariants every producer keeps (the OTLP decoders reject points that break them):
// quantiles.size() <= kMaxQuantiles, every quantile in [0, 1] (not NaN). Order is the
// producer's; consumers that need ascending quantiles sort.
struct SummaryData {
  static constexpr std::size_t kMaxQuantiles = 64;

  uint64_t count = 0;
  double sum = 0;
  std::span<const QuantileValue> quantiles;

  // True when the invariants above hold (checked by decoders and by exporters that take
  // points from any receiver).
  bool Valid() const {
    if (quantiles.size() > kMaxQuantiles) return false;
    for (const QuantileValue& q : quantiles) {
      if (!(q.quantile >= 0 && q.quantile <= 1)) return false;  // also rejects NaN
    }
    return true;
  }
};

struct MetricPoint {
  std::string_view name;
  std::string_view unit;
  std::string_view description;
  MetricType type = MetricType::kGauge;
  Temporality temporality = Temporality::kUnspecified;
  bool is_monotonic = false;  // sums only
  bool is_int = false;        // gauges/sums: int_value holds the value, else double_value
  uint64_t time_ns = 0;
  uint64_t start_time_ns = 0;  // 0 when unknown (gauges)
  std::span<const Attribute> labels;
  double double_value = 0;
  int64_t int_value = 0;
  const HistogramData* histogram = nullptr;                 // kHistogram only
  const ExponentialHistogramData* exp_histogram = nullptr;  // kExponentialHistogram only
  const SummaryData* summary = nullptr;                     // kSummary only
  const Resource* resource = nullptr;
  const InstrumentationScope* scope = nullptr;
  uint32_t flags = 0;  // OTLP DataPointFlags (bit 0 = no recorded value)

  // The numeric value of a gauge or sum as a double.
  double Number() const { return is_int ? static_cast<double>(int_value) : double_value; }
};

}  // namespace strobed::event
