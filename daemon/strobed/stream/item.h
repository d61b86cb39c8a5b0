#pragma once

// stream::Item: the one shape every stream operator (windows, CEP rules) consumes, and
// ForEachItem(), which flattens an event::Batch into Items without copying.
//
//   span        name = span name, time = end time, value = duration in seconds,
//               status = span status (error when StatusCode::kError)
//   metric      name = metric name, time = point time; what a point contributes is decided by
//               MetricDeltas (metric_deltas.h), which ForEachItem's caller supplies:
//                 gauge (and cumulative non-monotonic sum): value = the point's value
//                 counter (monotonic sum): value = its increase since the series' previous
//                   point (cumulative points are turned into deltas per series, with reset
//                   detection), counter = true
//                 histogram, exponential histogram, summary: the observations the point adds
//                   (a delta), weight = their count, value = their mean, distribution = their
//                   exact sum, min/max and (histograms) their buckets for quantiles
//               so a window's count and sum over metric points are exact
//   log         name = event_name or "log", time = timestamp (or observed time), value = 1,
//               status = error when severity >= ERROR (17)
//
// Attribute lookups search the item's own attributes first, then its resource's (so
// `service.name` works for spans whose service is a resource attribute).
//
// Thread class: value types and pure functions; thread-compatible.

#include <cstdint>
#include <span>
#include <string_view>

#include "strobe/metrics/histogram_data.h"
#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"

namespace strobed::stream {

enum class ItemStatus : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

enum class ItemKind : uint8_t { kSpan = 0, kMetric, kLog };

// The observations a histogram or summary point adds to a window (item.weight of them).
struct Distribution {
  double sum = 0;  // exact: the point's sum (or the difference of two cumulative sums)
  // Smallest and largest observation: exact when the producer reported them for these
  // observations, else the representative value of the lowest/highest non-empty bucket.
  double min = 0;
  double max = 0;
  // The non-negative observations in libstrobe's buckets, for quantiles (each source bucket's
  // count at its representative value: docs/stream.md states the error); nullptr for a
  // summary, whose quantiles cannot be merged.
  const strobe::metrics::HistogramData* buckets = nullptr;
};

struct Item {
  ItemKind kind = ItemKind::kSpan;
  std::string_view name;
  uint64_t time_ns = 0;  // event time, Unix epoch
  double value = 0;
  uint64_t weight = 1;  // how many observations this item stands for (histogram points)
  // Metric points only: `value` is a counter's increase (rate and increase add it up instead
  // of counting the item).
  bool counter = false;
  const Distribution* distribution = nullptr;  // histogram and summary points, else nullptr
  ItemStatus status = ItemStatus::kUnset;
  std::span<const event::Attribute> attributes;
  std::span<const event::Attribute> resource_attributes;

  // The attribute `key` from the item, else from its resource; nullptr when absent.
  const event::Value* Find(event::KeyId key) const noexcept {
    if (const event::Value* v = event::FindAttribute(attributes, key)) return v;
    return event::FindAttribute(resource_attributes, key);
  }
  bool IsError() const noexcept { return status == ItemStatus::kError; }
};

// Calls fn(const Item&) for every span, every metric point for which
// `metric_item(const event::MetricPoint&, Item&)` returns true (it fills kind-specific
// fields: value, weight, counter, distribution; ForEachItem sets the rest), and every log
// record of `batch`, in that order. Allocation-free apart from what `metric_item` does.
template <typename MetricItemFn, typename Fn>
void ForEachItem(const event::Batch& batch, MetricItemFn&& metric_item, Fn&& fn) {
  Item item;
  for (const event::Span& s : batch.spans()) {
    item.kind = ItemKind::kSpan;
    item.name = s.name;
    item.time_ns = s.end_ns != 0 ? s.end_ns : s.start_ns;
    item.value = static_cast<double>(s.DurationNs()) * 1e-9;
    item.weight = 1;
    item.status = static_cast<ItemStatus>(s.status.code);
    item.attributes = s.attributes;
    item.resource_attributes =
        s.resource != nullptr ? s.resource->attributes : std::span<const event::Attribute>{};
    fn(static_cast<const Item&>(item));
  }
  for (const event::MetricPoint& m : batch.metrics()) {
    item.kind = ItemKind::kMetric;
    item.name = m.name;
    item.time_ns = m.time_ns;
    item.status = ItemStatus::kUnset;
    item.attributes = m.labels;
    item.resource_attributes =
        m.resource != nullptr ? m.resource->attributes : std::span<const event::Attribute>{};
    item.value = 0;
    item.weight = 1;
    item.counter = false;
    item.distribution = nullptr;
    if (!metric_item(m, item)) continue;
    fn(static_cast<const Item&>(item));
  }
  item.counter = false;
  item.distribution = nullptr;
  for (const event::LogRecord& l : batch.logs()) {
    item.kind = ItemKind::kLog;
    item.name = l.event_name.empty() ? std::string_view("log") : l.event_name;
    item.time_ns = l.time_ns != 0 ? l.time_ns : l.observed_time_ns;
    item.value = 1;
    item.weight = 1;
    item.status = l.severity_number >= static_cast<uint8_t>(event::Severity::kError)
                      ? ItemStatus::kError
                      : ItemStatus::kUnset;
    item.attributes = l.attributes;
    item.resource_attributes =
        l.resource != nullptr ? l.resource->attributes : std::span<const event::Attribute>{};
    fn(static_cast<const Item&>(item));
  }
}

}  // namespace strobed::stream
