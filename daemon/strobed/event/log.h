#pragma once

// The log event (OpenTelemetry logs/v1 LogRecord): timestamp, severity, body, attributes, and
// the optional trace context it was emitted in. Views point into the holding Batch's arena.
// Thread class: thread-compatible.

#include <cstdint>
#include <span>
#include <string_view>

#include "strobed/event/attribute.h"
#include "strobed/event/resource.h"
#include "strobed/event/span.h"

namespace strobed::event {

// OTel SeverityNumber ranges: TRACE 1-4, DEBUG 5-8, INFO 9-12, WARN 13-16, ERROR 17-20,
// FATAL 21-24; 0 = unspecified.
enum class Severity : uint8_t {
  kUnspecified = 0,
  kTrace = 1,
  kDebug = 5,
  kInfo = 9,
  kWarn = 13,
  kError = 17,
  kFatal = 21,
};

struct LogRecord {
  uint64_t time_ns = 0;
  uint64_t observed_time_ns = 0;
  uint8_t severity_number = 0;  // 0..24, see Severity
  std::string_view severity_text;
  Value body;
  std::span<const Attribute> attributes;
  TraceId trace_id;  // invalid when not in a trace
  SpanId span_id;
  uint32_t flags = 0;
  std::string_view event_name;
  const Resource* resource = nullptr;
  const InstrumentationScope* scope = nullptr;
  uint32_t dropped_attributes_count = 0;
};

}  // namespace strobed::event
