#pragma once

// Family<T>: a metric with label names, one series per distinct set of label values.
//
//   auto& requests = *registry.AddCounterFamily({"http_requests", "Requests served"},
//                                               {"method", "code"}).value();
//   Counter& get_ok = requests.With({{"method", "GET"}, {"code", "200"}});  // once
//   get_ok.Inc();                                                          // hot path
//
// With() resolves label values to a series handle (hash lookup under the family mutex, and
// creation on first use): call it once and keep the reference; the hot path never hashes
// strings. The reference stays valid until the registry or the family (Registry::Remove)
// is destroyed.
//
// Bad labels: With() given names that do not match the family's label names (any order is
// accepted), or values that are not valid UTF-8, returns the family's overflow series and
// counts the call in strobe_metrics_label_errors_total; TryWith() returns the error instead.
// Cardinality: when a family holds max_series series, further new label sets fold into one
// overflow series (every label value "__overflow__") and each such call is counted in
// strobe_metrics_cardinality_overflow_total. Nothing is dropped: the values land in the
// overflow series.
//
// Thread class: thread-safe. T is Counter, FloatCounter, Gauge, UpDownCounter or Histogram.

#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "strobe/base/status.h"
#include "strobe/base/thread_annotations.h"
#include "strobe/metrics/counter.h"
#include "strobe/metrics/gauge.h"
#include "strobe/metrics/histogram.h"
#include "strobe/metrics/internal/family_base.h"
#include "strobe/metrics/internal/mutex.h"
#include "strobe/metrics/labels.h"

namespace strobe::metrics {

inline constexpr std::string_view kOverflowLabelValue = "__overflow__";

template <typename T>
class Family final : public internal::FamilyBase {
 public:
  // Created by Registry only.
  Family(internal::FamilyInfo info, internal::Kind kind, size_t max_series,
         std::shared_ptr<internal::RegistryCounters> counters,
         std::unique_ptr<internal::HistogramSpec> spec);
  ~Family() override;

  // The series for `labels`; see the header comment for bad labels and the overflow series.
  T& With(std::initializer_list<LabelPair> labels) { return With(AsSpan(labels)); }
  T& With(std::span<const LabelPair> labels);
  // Spelling of the issue text and of the Prometheus Go client's `With`.
  T& with(std::initializer_list<LabelPair> labels) { return With(AsSpan(labels)); }

  // Like With(), but INVALID_ARGUMENT for label names that do not match or values that are
  // not UTF-8, and RESOURCE_EXHAUSTED when the family is full (no folding).
  Result<T*> TryWith(std::initializer_list<LabelPair> labels) { return TryWith(AsSpan(labels)); }
  Result<T*> TryWith(std::span<const LabelPair> labels);

  const std::string& name() const { return info().name; }
  size_t max_series() const { return max_series_; }

  void Visit(internal::Visitor& visitor, internal::VisitScratch& scratch) override;
  size_t SeriesCount() const override;
  uint64_t OwnedBytes() const override;
  const internal::HistogramSpec* histogram_spec() const { return spec_.get(); }

 private:
  struct Entry {
    internal::SeriesMeta meta;  // before `metric`, which points at it
    std::unique_ptr<T> metric;
  };
  static std::span<const LabelPair> AsSpan(std::initializer_list<LabelPair> l) {
    return {l.begin(), l.size()};
  }
  // Orders `labels` by the family's label names into `values`; error when they do not match.
  Status Order(std::span<const LabelPair> labels, std::vector<std::string_view>* values) const;
  Entry* CreateLocked(const std::string& key, const std::vector<std::string_view>& values)
      STROBE_REQUIRES(mu_);
  Entry* OverflowLocked() STROBE_REQUIRES(mu_);

  const size_t max_series_;
  const std::shared_ptr<internal::RegistryCounters> counters_;
  const std::unique_ptr<internal::HistogramSpec> spec_;
  mutable internal::Mutex mu_;
  std::unordered_map<std::string, Entry*> index_ STROBE_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Entry>> entries_ STROBE_GUARDED_BY(mu_);
  Entry* overflow_ STROBE_GUARDED_BY(mu_) = nullptr;
  uint64_t label_bytes_ STROBE_GUARDED_BY(mu_) = 0;
};

extern template class Family<Counter>;
extern template class Family<FloatCounter>;
extern template class Family<Gauge>;
extern template class Family<UpDownCounter>;
extern template class Family<Histogram>;

}  // namespace strobe::metrics
