#pragma once

// The span event: one operation of a distributed trace, in the OpenTelemetry shape
// (trace/v1 Span). Ids are raw bytes (TraceId 16, SpanId 8) as on the wire; an all-zero id
// is invalid. Times are nanoseconds since the Unix epoch.
//
// A Span is a plain struct of views: strings, attributes, events and links point into the
// arena of the Batch that holds it. Copying a Span struct is a shallow copy; use
// event::CopySpan (batch.h) to move one into another batch's arena.
// Thread class: thread-compatible.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "strobed/event/attribute.h"
#include "strobed/event/resource.h"

namespace strobed::event {

struct TraceId {
  std::array<uint8_t, 16> bytes{};

  bool IsValid() const;
  // Big-endian halves, as in the W3C/OTel hex form: High() = bytes[0..7], Low() = bytes[8..15].
  uint64_t High() const;
  uint64_t Low() const;
  // 32 lowercase hex digits.
  std::string ToHex() const;
  // Parses 32 hex digits (either case); nullopt otherwise.
  static std::optional<TraceId> FromHex(std::string_view hex);
  static TraceId FromHalves(uint64_t high, uint64_t low);

  friend bool operator==(const TraceId& a, const TraceId& b) { return a.bytes == b.bytes; }
};

struct SpanId {
  std::array<uint8_t, 8> bytes{};

  bool IsValid() const;
  uint64_t Value() const;  // big-endian
  std::string ToHex() const;
  static std::optional<SpanId> FromHex(std::string_view hex);
  static SpanId FromValue(uint64_t v);

  friend bool operator==(const SpanId& a, const SpanId& b) { return a.bytes == b.bytes; }
};

// Values match OTLP Span.SpanKind.
enum class SpanKind : uint8_t {
  kUnspecified = 0,
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5,
};

// Values match OTLP Status.StatusCode.
enum class StatusCode : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

struct SpanStatus {
  StatusCode code = StatusCode::kUnset;
  std::string_view message;
};

// A timed annotation inside a span (OTLP Span.Event).
struct SpanEvent {
  uint64_t time_ns = 0;
  std::string_view name;
  std::span<const Attribute> attributes;
  uint32_t dropped_attributes_count = 0;
};

struct SpanLink {
  TraceId trace_id;
  SpanId span_id;
  std::string_view trace_state;
  std::span<const Attribute> attributes;
  uint32_t flags = 0;
  uint32_t dropped_attributes_count = 0;
};

struct Span {
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // invalid (all zero) for a root span
  std::string_view trace_state;
  uint32_t flags = 0;  // W3C trace flags (bit 0 = sampled) and OTLP span flags
  std::string_view name;
  SpanKind kind = SpanKind::kUnspecified;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  SpanStatus status;
  std::span<const Attribute> attributes;
  std::span<const SpanEvent> events;
  std::span<const SpanLink> links;
  const Resource* resource = nullptr;
  const InstrumentationScope* scope = nullptr;
  uint32_t dropped_attributes_count = 0;
  uint32_t dropped_events_count = 0;
  uint32_t dropped_links_count = 0;

  bool IsRoot() const { return !parent_span_id.IsValid(); }
  uint64_t DurationNs() const { return end_ns > start_ns ? end_ns - start_ns : 0; }
};

}  // namespace strobed::event
