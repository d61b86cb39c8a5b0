#pragma once

// How a strobe metric point becomes Prometheus series labels and classic `le` buckets: the one
// mapping the `prometheus` exporter (scraped /metrics) and the `prometheus_remote_write`
// exporter (pushed samples) share, so a point gets the same series whichever way it leaves.
// Names are naming.h's.
//
//   labels      the point's attributes (SanitizeLabelName; values as text: strings as they
//               are, bools true/false, ints in decimal, doubles in shortest round-trip form;
//               names that collide after sanitising get their values joined with `;`), plus
//               `job` (service.namespace/service.name) and `instance` (service.instance.id)
//               of the point's own resource; an attribute named job, instance or the label the
//               series type adds itself (`quantile` of a summary, `le` of a histogram) becomes
//               exported_<name>. With resource_to_telemetry every other resource attribute is
//               a label too (a point attribute of the same name wins). Sorted by name.
//   target_info the other resource attributes, with job/instance, as one target_info series
//               per resource (none when the resource has nothing beyond job/instance).
//   buckets     exponential histograms to classic `le` buckets: each exponential bucket is
//               counted at the first bound that any of its values can be at or below
//               (libstrobe's FillClassicBuckets; the zero bucket at the first bound >= 0,
//               negative buckets at the first bound >= their lowest value), so `le=b` may also
//               count observations less than one exponential bucket width above b (a factor
//               2^(2^-scale): 1.09% at scale 6). Bounds that are bucket boundaries are exact.
//
// Thread class: SeriesLabeler is thread-compatible (it caches the last resource's labels);
// the free functions are thread-safe (pure).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "strobe/snapshot/snapshot.h"
#include "strobed/event/attribute.h"
#include "strobed/event/metric.h"
#include "strobed/event/resource.h"

namespace strobed::exporters::prometheus {

// An attribute value as label text (see the overview).
std::string LabelValueText(const event::Value& v);

// A bound or quantile as label text, exactly as strobe's text exposition writes it: integers
// below 1e15 in decimal ("1", "250"), other finite values in shortest round-trip form
// ("0.005", "2.5e-07"), "+Inf"/"-Inf", "NaN".
std::string NumberLabelText(double v);
// Appends NumberLabelText(v) to `out` (no allocation beyond the string's growth).
void AppendNumberLabelText(std::string* out, double v);

// Sorts `labels` by name (stable) and joins the values of equal names with ';'.
void NormalizeLabels(std::vector<strobe::snapshot::Label>* labels);

class SeriesLabeler {
 public:
  // `keys` resolves attribute key ids (must outlive the labeler).
  SeriesLabeler(event::KeyTable& keys, bool resource_to_telemetry);

  // Forgets the cached resource: call at the start of every batch (resources live in the
  // batch; a later batch may reuse the address).
  void Reset() noexcept;

  // The sorted labels of `p` (overview). `reserved`: the label the series type adds itself
  // ("quantile", "le"; "" for none); an attribute of that name is renamed exported_<name>.
  std::vector<strobe::snapshot::Label> Labels(const event::MetricPoint& p,
                                              std::string_view reserved = {});

  // Appends the resource's job/instance labels and, when `all`, every other attribute
  // (sanitised names) to `out`, unsorted. Nothing for nullptr.
  void ResourceLabels(const event::Resource* r, std::vector<strobe::snapshot::Label>* out,
                      bool all) const;

  // The sorted labels of the resource's target_info series; false when it has no attribute
  // beyond job/instance (no target_info then).
  bool TargetInfoLabels(const event::Resource& r, std::vector<strobe::snapshot::Label>* out) const;

 private:
  event::KeyTable& keys_;
  const bool resource_to_telemetry_;
  // Interned once so lookups are integer compares (nullopt only if the key table is full).
  std::optional<event::KeyId> service_name_key_;
  std::optional<event::KeyId> service_namespace_key_;
  std::optional<event::KeyId> service_instance_key_;
  // The sanitised label name of an attribute key (SanitizeLabelName allocates; a batch repeats
  // the same few keys). Keyed by id and checked against the key's current text, since ids of
  // reclaimed keys are reused. Bounded: cleared when it holds kMaxCachedNames.
  const std::string& LabelName(event::KeyId key);
  struct CachedName {
    std::string raw;
    std::string sanitized;
  };
  std::unordered_map<uint32_t, CachedName> label_names_;
  // Labels of cached_resource_ (points of one resource follow each other in a batch).
  const event::Resource* cached_resource_ = nullptr;
  std::vector<strobe::snapshot::Label> cached_resource_labels_;
};

// Non-cumulative classic bucket counts (bounds.size() + 1 entries, the last for +Inf) of an
// exponential histogram given by its scale, zero count and both sides (overview for how a
// bucket is placed). `bounds` finite and strictly increasing. Their total is zero_count plus
// every positive and negative count.
void ExponentialToClassic(int32_t scale, uint64_t zero_count, int32_t positive_offset,
                          std::span<const uint64_t> positive, int32_t negative_offset,
                          std::span<const uint64_t> negative, std::span<const double> bounds,
                          std::vector<uint64_t>* counts);

// Upper boundary base^(index+1) of exponential bucket `index` at `scale`.
double ExponentialUpper(int32_t scale, int64_t index);

}  // namespace strobed::exporters::prometheus

namespace strobed::exporters {

// `le` bounds for the exponential-histogram families whose OTLP or exposed name matches
// `pattern` (fnmatch glob: `*`, `?`, `[...]`; a plain name matches itself).
struct HistogramBucketsRule {
  std::string pattern;
  std::vector<double> bounds;  // 1..kMaxHistogramBounds, finite, strictly increasing
};
inline constexpr size_t kMaxHistogramBounds = 64;

// The default `le` bounds of an exponential-histogram family, by the unit word of its
// OpenMetrics unit (`unit`), else of the name's last `_` part: seconds 0.001 .. 60 in 1-2.5-5
// steps plus 30 and 60 (15 bounds; milliseconds, microseconds, nanoseconds the same durations
// in those units); bytes 16 B .. 4 GiB in powers of 4 (15, exact at every scale >= -1);
// anything else powers of ten 0.001 .. 1e9 (13). Thread-safe (pure).
std::vector<double> DefaultHistogramBounds(std::string_view family, std::string_view unit);

// The `le` bounds of a new exponential-histogram family: those of the first rule whose pattern
// matches `source_name` (the OTLP name) or `family` (the exposed name), else
// DefaultHistogramBounds(family, unit). Thread-safe (pure).
std::vector<double> SelectHistogramBounds(std::span<const HistogramBucketsRule> rules,
                                          std::string_view source_name, const std::string& family,
                                          std::string_view unit);

}  // namespace strobed::exporters
