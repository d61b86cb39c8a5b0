#pragma once

// strobed::otlp::internal::DecodeContext: the state of one OTLP request decode, shared by the
// protobuf decoder (otlp_decode.cc) and the JSON decoder (otlp_json.cc): the batch the events
// go to, the arena and key table they use, the nesting limit, the statistics, and the first
// error; and the metric point header both fill the same way. Private to the two decoders.
//
// Error protocol: every decode function returns false on failure; the first failure records
// its message through Fail (or Malformed/Type, which word it for the encoding) and later
// ones keep it, so the request is rejected with the innermost cause. Finish turns the outcome
// into the decoders' result.
//
// Keys: every attribute key is interned through InternKey, under the request's KeyBudget
// (DecodeOptions::budget, or an unlimited one), into `batch`, which the caller acquired before
// the decode: the ids are reclaimable and `batch`'s key epoch keeps them valid (attribute.h). A
// refused key never vanishes silently: a span, event, link, log record or resource counts it in its
// dropped_attributes_count; a metric point whose identity lost a label (its own attributes, or its
// resource's or scope's) is refused as a whole by DecodeMetricPoint and removed by Finish, so what
// is stored never merges two series into one.
//
// Thread class: owned by one decode call on one thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"
#include "strobed/otlp/otlp_decode.h"

namespace strobed::otlp::internal {

struct DecodeContext {
  // Events go to `batch` and its arena; keys are interned in options.keys (nullptr: the
  // global table).
  DecodeContext(event::Batch& b, const DecodeOptions& options)
      : batch(b),
        arena(b.arena()),
        keys(options.keys != nullptr ? *options.keys : event::KeyTable::Global()),
        key_section(keys),
        budget(options.budget != nullptr ? *options.budget : own_budget),
        max_depth(options.max_depth) {}

  event::Batch& batch;
  event::Arena& arena;
  event::KeyTable& keys;
  // One key table read section for the whole decode: every InternKey inside nests in it, so a
  // known key costs a thread-local check rather than a shared counter update (attribute.h).
  event::KeyTable::ReadSection key_section;
  event::KeyBudget own_budget;  // used when the caller passes none: unlimited
  event::KeyBudget& budget;
  int max_depth;
  DecodeStats stats;
  std::string error;  // the first failure; empty while the decode succeeds
  // Why a key of the current resource / scope was refused (kNone: none was); set by the
  // decoders when they decode one, reset for each Resource*/Scope* container.
  event::KeyRefusal resource_refusal = event::KeyRefusal::kNone;
  event::KeyRefusal scope_refusal = event::KeyRefusal::kNone;
  // Indices of the metric points to remove, ascending (allocated only when one is refused).
  std::vector<uint32_t> refused_points;

  // The id of attribute key `key` under the request's budget; nullopt when refused (the
  // budget says why). Lock-free for known keys.
  std::optional<event::KeyId> InternKey(std::string_view key) { return keys.Intern(key, budget); }

  // The reason the next refusal check will see for `refused_before` = budget.refused before
  // decoding an element: kNone when no key of that element was refused since.
  event::KeyRefusal RefusedSince(uint32_t refused_before) const {
    return budget.refused != refused_before ? budget.last_refusal : event::KeyRefusal::kNone;
  }

  // Records `what` unless an error is already recorded. Always returns false.
  bool Fail(std::string what) {
    if (error.empty()) error = std::move(what);
    return false;
  }
  // Protobuf: "malformed protobuf in <where>".
  bool Malformed(const char* where) { return Fail(std::string("malformed protobuf in ") + where); }
  // JSON, a field of the wrong type: "field '<field>' must be <want>".
  bool Type(std::string_view field, const char* want) {
    return Fail("field '" + std::string(field) + "' must be " + want);
  }

  // The statistics when `ok`, else InvalidArgument with the recorded error. Removes the metric
  // points refused by DecodeMetricPoint from the batch (counted in stats.refused_items).
  strobe::Result<DecodeStats> Finish(bool ok) {
    if (!ok) return strobe::InvalidArgument(error);
    for (std::size_t r = 0; r < event::kKeyRefusalCount; ++r) {
      stats.dropped_by[r] = budget.refused_by[r];
    }
    if (!refused_points.empty()) {
      // RemoveMetricsIf visits the points once each, in order.
      std::size_t i = 0;
      std::size_t next = 0;
      batch.RemoveMetricsIf([&](const event::MetricPoint&) {
        bool remove = next < refused_points.size() && refused_points[next] == i;
        if (remove) ++next;
        ++i;
        return remove;
      });
      stats.items -= refused_points.size();
    }
    return stats;
  }
};

// Decodes one metric data point with `decode` (which appends at most one point to the batch
// and returns false on a decode error) and refuses that point when a key of its attributes,
// or of its resource or scope, was refused: series identity must never lose a label.
// Counted in stats.refused_items and stats.refused_by; Finish removes the point.
template <typename Fn>
bool DecodeMetricPoint(DecodeContext& c, Fn decode) {
  const uint32_t refused_before = c.budget.refused;
  const std::size_t index = c.batch.metrics().size();
  if (!decode()) return false;
  if (c.batch.metrics().size() == index) return true;
  event::KeyRefusal why = c.RefusedSince(refused_before);
  if (why == event::KeyRefusal::kNone) why = c.resource_refusal;
  if (why == event::KeyRefusal::kNone) why = c.scope_refusal;
  if (why == event::KeyRefusal::kNone) return true;
  c.refused_points.push_back(static_cast<uint32_t>(index));
  ++c.stats.refused_items;
  ++c.stats.refused_by[static_cast<std::size_t>(why)];
  return true;
}

// The fields of an OTLP Metric that every one of its data points carries.
struct MetricHeader {
  std::string_view name;
  std::string_view unit;
  std::string_view description;
  const event::Resource* resource;
  const event::InstrumentationScope* scope;
};

// Appends a metric point with the header's fields, `type`, `t` and `monotonic` to the batch
// and counts it in stats.items; the caller fills the value.
inline event::MetricPoint& NewPoint(DecodeContext& c, const MetricHeader& h, event::MetricType type,
                                    event::Temporality t, bool monotonic) {
  event::MetricPoint& p = c.batch.AddMetric();
  p.name = h.name;
  p.unit = h.unit;
  p.description = h.description;
  p.type = type;
  p.temporality = t;
  p.is_monotonic = monotonic;
  p.resource = h.resource;
  p.scope = h.scope;
  ++c.stats.items;
  return p;
}

}  // namespace strobed::otlp::internal
