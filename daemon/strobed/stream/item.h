#pragma once

// stream::Item: the one shape every stream operator (windows, CEP rules) consumes, and
// ForEachItem(), which flattens an event::Batch into Items without copying.
//
//   span        name = span name, time = end time, value = duration in seconds,
//               status = span status (error when StatusCode::kError)
//   metric      name = metric name, time = point time, value = gauge/sum value; histogram
//               and summary points give value = sum / count and weight = count (so count and
//               sum are exact; a summary's quantiles are not used: they cannot be merged)
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

#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"

namespace strobed::stream {

enum class ItemStatus : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

enum class ItemKind : uint8_t { kSpan = 0, kMetric, kLog };

struct Item {
  ItemKind kind = ItemKind::kSpan;
  std::string_view name;
  uint64_t time_ns = 0;  // event time, Unix epoch
  double value = 0;
  uint64_t weight = 1;  // how many observations this item stands for (histogram points)
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

// Calls fn(const Item&) for every span, metric point (gauge, sum, histogram or summary with
// count > 0) and log record of `batch`, in that order. Allocation-free.
template <typename Fn>
void ForEachItem(const event::Batch& batch, Fn&& fn) {
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
    if (m.type == event::MetricType::kHistogram ||
        m.type == event::MetricType::kExponentialHistogram ||
        m.type == event::MetricType::kSummary) {
      // Distributions enter windows as their mean, weighted by their count (a summary's
      // quantiles cannot be re-aggregated, so windows use its count and sum only).
      uint64_t count = 0;
      double sum = 0;
      if (m.histogram != nullptr) {
        count = m.histogram->count;
        sum = m.histogram->sum;
      } else if (m.exp_histogram != nullptr) {
        count = m.exp_histogram->count;
        sum = m.exp_histogram->sum;
      } else if (m.summary != nullptr) {
        count = m.summary->count;
        sum = m.summary->sum;
      }
      if (count == 0) continue;
      item.value = sum / static_cast<double>(count);
      item.weight = count;
    } else {
      item.value = m.Number();
      item.weight = 1;
    }
    fn(static_cast<const Item&>(item));
  }
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
