#pragma once

// Decoding OTLP export requests (ExportTraceServiceRequest, ExportMetricsServiceRequest,
// ExportLogsServiceRequest) into strobe's event model (strobed/event), from both encodings of
// OTLP/HTTP:
//   - protobuf (application/x-protobuf): strobe's own wire decoder over the schema in proto/.
//     It copies the request body into the batch arena once and points every string of the
//     events into that copy: no per-string allocation, which is what ingest at a million spans
//     a second needs (see the otlp_decode benchmark). The protoc-generated classes are used by
//     the encoder and by the tests that cross-check this decoder.
//   - JSON (application/json) with the OTLP/JSON rules: lowerCamelCase field names, trace and
//     span ids as hex strings, 64-bit integers as strings or numbers, enums as integers,
//     unknown fields ignored.
//
// Mapping of metrics: gauge → kGauge; sum → kSum with its temporality and monotonicity;
// histogram → kHistogram; exponential histogram → kExponentialHistogram; summary → kSummary
// (count, sum and the quantile values, in the order received).
//
// Validation (a failure rejects the whole request with InvalidArgument and a message naming
// the element): malformed wire data or JSON, trace_id not 16 bytes or all zero, span_id not 8
// bytes or all zero, parent_span_id neither empty nor 8 bytes, log trace/span ids of the wrong
// length, histogram bucket counts that do not match the bounds, a summary with more than
// SummaryData::kMaxQuantiles quantile values or a quantile outside [0, 1] (or NaN), AnyValue
// nested deeper than DecodeOptions::max_depth.
//
// Attribute keys are interned under DecodeOptions::budget (event::KeyBudget: the request's
// limit on keys new to the table and its source's quota). A key that cannot be interned (table
// full, key too long, a limit reached) never vanishes silently and never changes a series:
//   - a metric data point whose own attributes, resource or scope lost a key is refused as a
//     whole (not appended), counted in DecodeStats::refused_items and refused_by; the rest of
//     the request is kept, and the receiver reports the refused points as partial success;
//   - an attribute of a span, span event, link, log record or resource is dropped and counted
//     in that element's dropped_attributes_count and in DecodeStats::dropped_attributes and
//     dropped_by.
// A metric point with a string that is not valid UTF-8 in its labels or its resource's
// attributes (nested values included) is refused alone: removed from the batch and counted in
// DecodeStats::invalid_utf8, the request's other points kept (label values must be UTF-8 in
// every exposition; docs/security.md). The JSON decoder already rejects a body that is not
// UTF-8 as a whole.
//
// Thread class: thread-safe (no shared state besides the thread-safe KeyTable).

#include <cstdint>
#include <string_view>

#include "strobe/base/status.h"
#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"

namespace strobed::otlp {

enum class Signal : uint8_t { kTraces = 0, kMetrics, kLogs };
// What one item of `signal` is called in OTLP responses and self-metric labels: "spans",
// "metric_points", "log_records".
const char* ItemName(Signal signal);
enum class Encoding : uint8_t { kProtobuf = 0, kJson };

std::string_view SignalName(Signal s);  // "traces", "metrics", "logs"

struct DecodeOptions {
  event::KeyTable* keys = nullptr;     // nullptr: KeyTable::Global()
  event::KeyBudget* budget = nullptr;  // limits on new keys; nullptr: unlimited
  int max_depth = 16;                  // nesting of AnyValue arrays/kvlists
};

struct DecodeStats {
  uint64_t items = 0;  // spans, metric points or log records appended to the batch
  // Attribute keys refused, each dropping its attribute (for metrics: within refused points).
  uint64_t dropped_attributes = 0;
  // Metric points refused because a label value (or an attribute of their resource) is not
  // valid UTF-8 (see "Validation" above); not in `items`.
  uint64_t invalid_utf8 = 0;
  uint64_t dropped_by[event::kKeyRefusalCount] = {};  // dropped_attributes by KeyRefusal
  // Metric points refused because a key of their identity was refused (not in `items`).
  uint64_t refused_items = 0;
  uint64_t refused_by[event::kKeyRefusalCount] = {};  // refused_items by KeyRefusal
};

// Appends the events of one request body to `batch`. On error the batch may hold part of the
// request; the caller discards it. Never throws.
strobe::Result<DecodeStats> Decode(Signal signal, Encoding encoding, std::string_view body,
                                   event::Batch& batch, const DecodeOptions& options = {});

namespace internal {
strobe::Result<DecodeStats> DecodeProtobuf(Signal signal, std::string_view body,
                                           event::Batch& batch, const DecodeOptions& options);
strobe::Result<DecodeStats> DecodeJson(Signal signal, std::string_view body, event::Batch& batch,
                                       const DecodeOptions& options);
}  // namespace internal

}  // namespace strobed::otlp
