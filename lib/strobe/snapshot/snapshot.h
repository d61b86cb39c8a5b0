#pragma once

// strobe::snapshot — plain, immutable-by-convention structs that describe every metric of a
// registry at one moment. Produced by metrics::Registry::Collect(); consumed by exporters
// (the daemon's JSON API, OTLP, remote_write) and by metrics::RenderSnapshot(). Nothing
// here points back into live instruments: a Snapshot can be kept, copied, merged and sent
// to another thread freely.
//
// Consistency: each value (one counter, one histogram's buckets of one thread) is read
// atomically; the snapshot as a whole is not a consistent cut across series — a counter
// incremented during Collect() may or may not be included. Histogram count, sum and
// buckets are each summed from the same per-thread reads, so count == sum of bucket counts
// always holds within one HistogramValue.
//
// Thread class: thread-compatible value types.

#include <cstdint>
#include <string>
#include <vector>

namespace strobe::snapshot {

enum class MetricType : uint8_t {
  kCounter,    // monotonic; value() of each point, rendered `<name>_total`
  kGauge,      // any value; includes up-down counters and callback gauges
  kHistogram,  // HistogramValue
  kSummary,    // HistogramValue rendered as quantiles (HistogramValue::quantiles)
};

struct Label {
  std::string name;
  std::string value;
  friend bool operator==(const Label&, const Label&) = default;
};

// OpenMetrics exemplar: the latest traced observation of a series.
struct Exemplar {
  std::vector<Label> labels;  // e.g. {{"trace_id", "4bf9…"}, {"span_id", "00f0…"}}
  double value = 0;
  uint64_t timestamp_unix_ns = 0;
};

// A distribution. Bucket layout: base-2 exponential buckets exactly as OTLP
// ExponentialHistogram defines them (bucket i holds base^i < v <= base^(i+1), base =
// 2^(2^-scale)), in the units values were recorded in. `unit_scale` converts recorded
// units to exposed units (1e-9 for a nanosecond histogram exposed as `_seconds`); classic
// bucket bounds and quantiles below are already in exposed units.
struct HistogramValue {
  uint64_t count = 0;  // every accepted observation, including zero_count
  double sum = 0;      // recorded units; exact for integer observations below 2^53 total
  double min = 0;      // recorded units; 0 when count == 0
  double max = 0;
  double unit_scale = 1.0;

  int32_t scale = 6;
  uint64_t zero_count = 0;                // observations equal to 0
  int32_t positive_offset = 0;            // index of positive_counts[0]
  std::vector<uint64_t> positive_counts;  // non-cumulative; may be empty

  // Classic (Prometheus `le`) buckets, exposed units. bucket_counts[i] counts observations
  // in (bounds[i-1], bounds[i]] derived from the exponential buckets (an observation within
  // one exponential bucket width, 1.09%, of a bound may be counted on either side);
  // bucket_counts has bounds.size() + 1 entries, the last one for +Inf. Non-cumulative.
  std::vector<double> bounds;
  std::vector<uint64_t> bucket_counts;

  // Quantile summary in exposed units, filled when the histogram is exposed as a summary or
  // quantiles were requested: {0.5, p50}, {0.9, p90}, {0.99, p99}, {0.999, p99.9}, {1, max}.
  struct Quantile {
    double q = 0;
    double value = 0;
  };
  std::vector<Quantile> quantiles;

  // Observations rejected (negative, NaN, infinite); not part of count.
  uint64_t invalid_count = 0;

  // True when the exponential buckets above were derived from coarser data (an OTLP
  // explicit-bucket histogram) or fold observations they cannot hold (negative values counted
  // as zero): they then only serve rough views (JSON percentiles), never exact native
  // histogram queries (the daemon's PromQL history skips them).
  bool approximate_exponential = false;
};

struct Point {
  std::vector<Label> labels;     // in the family's label-name order
  double value = 0;              // counters and gauges
  HistogramValue histogram;      // histograms and summaries
  uint64_t created_unix_ns = 0;  // when the series was created (OpenMetrics _created)
  bool has_exemplar = false;
  Exemplar exemplar;
};

struct Family {
  std::string name;  // base name: no `_total` for counters
  std::string help;
  std::string unit;  // OpenMetrics unit, empty when none; `name` ends with `_<unit>`
  MetricType type = MetricType::kGauge;
  std::vector<std::string> label_names;
  std::vector<Point> points;
};

struct Snapshot {
  uint64_t timestamp_unix_ns = 0;
  std::vector<Family> families;
};

// Quantile q in [0, 1] of `h` in recorded units: the geometric midpoint of the exponential
// bucket holding rank ceil(q * count), clamped to [min, max]; q == 0 is min, q == 1 is max.
// Relative error <= 0.55% against the exact order statistic. 0 when count == 0.
double QuantileOf(const HistogramValue& h, double q);

}  // namespace strobe::snapshot
