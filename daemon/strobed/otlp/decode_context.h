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
// Thread class: owned by one decode call on one thread.

#include <string>
#include <string_view>
#include <utility>

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
        max_depth(options.max_depth) {}

  event::Batch& batch;
  event::Arena& arena;
  event::KeyTable& keys;
  int max_depth;
  DecodeStats stats;
  std::string error;  // the first failure; empty while the decode succeeds

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

  // The statistics when `ok`, else InvalidArgument with the recorded error.
  strobe::Result<DecodeStats> Finish(bool ok) const {
    if (!ok) return strobe::InvalidArgument(error);
    return stats;
  }
};

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
