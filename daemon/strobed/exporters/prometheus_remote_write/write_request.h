#pragma once

// WriteRequestBuilder: turns a batch's metric points into Prometheus remote-write 1.0 requests —
// the protobuf `prometheus.WriteRequest` (prompb/remote.proto, types.proto), before snappy —
// split by sample count and size. The hot path of the prometheus_remote_write exporter.
//
// Mapping (one sample per series per point; series labels and names are the prometheus
// exporter's: exporters/prometheus/mapping.h and naming.h):
//   gauge                          → <name>                       (gauge)
//   sum, monotonic, cumulative     → <name>_total                 (counter)
//   sum, not monotonic, cumulative → <name>                       (gauge)
//   histogram, cumulative          → <name>_bucket{le="b"} per bound and le="+Inf"
//                                    (cumulative counts), <name>_sum, <name>_count
//   exponential histogram, cumul.  → the same, with the `le` bounds of the first
//                                    histogram_buckets rule matching the OTLP or exposed name,
//                                    else DefaultHistogramBounds (prometheus.h); the error
//                                    bound of the bucket placement is in mapping.h
//   summary                        → <name>{quantile="q"} per quantile, <name>_sum, <name>_count
//   resource attributes            → job/instance on every series; the others on one
//                                    target_info series (value 1) per resource and batch, or
//                                    on every series with resource_to_telemetry_conversion
//   external_labels                → added to every series that does not have that label
// Deltas are refused, not converted: a delta point of any type counts as kDelta (the exporter
// counts it as failed, reason delta_temporality). Converting needs the running total of every
// series, which the `prometheus` exporter keeps and this one deliberately does not (a remote
// store sums correctly only from cumulative streams); send cumulative data to this exporter.
// A point flagged "no recorded value" writes Prometheus' stale marker (NaN 0x7ff0000000000002)
// on each of its series. Labels with an empty value are left out (Prometheus' rule: an empty
// label is an absent one). Timestamps are the points' times in milliseconds (truncated); a
// point without a time takes `now_ms`.
//
// Series and order: samples of one series (same sorted label set, incl. __name__) across the
// batch form one TimeSeries, in timestamp order (stable: points keep their arrival order);
// of two samples with the same timestamp the later one wins (Prometheus refuses a request
// with two different values at one timestamp). Metadata (type, help, unit per family) goes into
// the first request when send_metadata is set; the metric_family_name is the counter's
// `_total` name, else the base name.
//
// Encoding is by hand (no generated message classes): labels are encoded once per series into
// one reused buffer that also serves as the series key (an open-addressing table of offsets), so
// a batch of known shape allocates nothing after the first. Sizes of nested messages are
// computed before they are written. write_request_benchmark.cc has the figures.
//
// Thread class: thread-compatible (one builder per exporter, used by the pipeline worker).

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "strobe/snapshot/snapshot.h"
#include "strobed/event/metric.h"
#include "strobed/exporters/prometheus/mapping.h"
#include "strobed/exporters/prometheus/naming.h"

namespace strobed::exporters {

struct WriteRequestOptions {
  std::string name_space;           // prefix of every name
  bool add_metric_suffixes = true;  // unit suffixes (naming.h)
  bool resource_to_telemetry_conversion = false;
  bool target_info = true;
  bool send_metadata = true;
  // Exponential histograms' `le` bounds: first matching rule wins (as the prometheus exporter).
  std::vector<HistogramBucketsRule> histogram_buckets;
  // Added to every series lacking the label. Valid label names not starting with "__".
  std::vector<strobe::snapshot::Label> external_labels;
  size_t max_samples_per_request = 5000;       // >= 1
  size_t max_request_bytes = size_t{4} << 20;  // uncompressed; >= 1024
};

// What happened to the points given to Add().
struct MapStats {
  uint64_t points = 0;   // mapped into samples
  uint64_t delta = 0;    // refused: delta temporality
  uint64_t invalid = 0;  // refused: malformed (unspecified temporality, bad buckets, ...)
  uint64_t samples = 0;  // samples produced (before same-timestamp deduplication)
};

class WriteRequestBuilder {
 public:
  // `keys` resolves attribute names (outlives the builder).
  WriteRequestBuilder(WriteRequestOptions options, event::KeyTable& keys);

  // Maps `points` (one batch: their resources must stay valid until Encode) into the pending
  // series. Adds to what earlier calls since Clear() produced. Never throws except bad_alloc.
  MapStats Add(std::span<const event::MetricPoint> points, int64_t now_ms);

  // One encoded request: the uncompressed WriteRequest bytes, and what it carries.
  struct Request {
    std::string_view body;  // valid until the next call into the builder
    uint64_t samples = 0;
    uint64_t series = 0;  // TimeSeries messages (a series split across requests counts in each)
  };
  // Encodes the pending series into requests of at most max_samples_per_request samples and
  // max_request_bytes bytes (a single series larger than either is split into chunks of its
  // samples, in order; one sample always fits), calling `sink` with each in order until it
  // returns false. Returns the number of requests handed to `sink`. Does not clear.
  size_t Encode(const std::function<bool(const Request&)>& sink);

  // Drops the pending series (keeps buffers for reuse).
  void Clear() noexcept;

  size_t pending_series() const noexcept { return series_.size(); }
  size_t pending_samples() const noexcept { return samples_.size(); }

 private:
  struct LabelView {
    std::string_view name;
    std::string_view value;
  };
  struct Series {
    uint64_t hash = 0;           // of the encoded labels
    uint32_t labels_offset = 0;  // encoded Label fields in labels_
    uint32_t labels_size = 0;
    uint32_t samples = 0;  // after Finish(): count, then first index into sorted_
    uint32_t first = 0;
  };
  struct Sample {
    uint32_t series = 0;
    int64_t timestamp_ms = 0;
    double value = 0;
  };
  struct Family {
    uint8_t type = 0;  // prompb MetricMetadata.MetricType
    std::string help;
    std::string unit;
  };

  // Maps one point; false when refused (stats updated by the caller).
  bool MapPoint(const event::MetricPoint& p, int64_t now_ms, MapStats& stats);
  // The point's base labels merged with the external labels, sorted, into point_labels_.
  void PointLabels(const event::MetricPoint& p, std::string_view reserved);
  // base_labels_ merged with the external labels into point_labels_, and encoded into
  // point_encoded_ (label i at point_offsets_[i] .. [i + 1]; empty values left out).
  void MergeExternal();
  // Adds a sample to the series `name` + point_labels_ (+ extra label when extra_name is set).
  void AddSample(std::string_view name, std::string_view extra_name, std::string_view extra_value,
                 int64_t ts_ms, double value);
  // The series whose encoded labels are labels_[labels_offset, end): an existing one (the
  // tentative bytes are removed again) or a new one.
  uint32_t FindOrAddSeries(size_t labels_offset);
  void Rehash(size_t slots);
  void NoteFamily(const std::string& family, uint8_t type, std::string_view help,
                  std::string_view unit);
  const prometheus::MetricName& Name(std::string_view name, std::string_view unit,
                                     prometheus::NameKind kind);
  const std::vector<double>& ExpBounds(std::string_view source, const std::string& family,
                                       std::string_view unit);
  // Orders samples by series, then timestamp; drops same-timestamp duplicates.
  void Finish();

  const WriteRequestOptions options_;
  prometheus::SeriesLabeler labeler_;

  // Pending batch.
  std::string labels_;  // encoded Label fields of every series, back to back
  std::vector<Series> series_;
  std::vector<uint32_t> table_;  // open addressing: series index + 1, 0 = empty
  std::vector<Sample> samples_;
  std::vector<Sample> sorted_;
  std::unordered_map<std::string, Family> families_;  // metadata of this batch
  bool finished_ = false;

  // Scratch, reused.
  std::vector<strobe::snapshot::Label> base_labels_;
  std::vector<LabelView> point_labels_;
  std::string point_encoded_;
  std::vector<uint32_t> point_offsets_;
  std::vector<uint64_t> counts_;
  std::string text_;
  std::string out_;
  const event::Resource* last_target_info_ = nullptr;

  // Caches bounded by kMaxCached (untrusted names): cleared when full.
  std::unordered_map<std::string, prometheus::MetricName> names_;
  std::unordered_map<std::string, std::vector<double>> exp_bounds_;
};

// Writes `v` as a protobuf varint to `out`. Exposed for tests.
void AppendVarint(std::string* out, uint64_t v);

}  // namespace strobed::exporters
