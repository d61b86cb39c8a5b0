#pragma once

// SpanRecord: one finished span as a fixed-size, allocation-free value. A Span builds its record
// in place while it runs; at End() the record is handed to a SpanSink (in-process buffer, shm
// ring). Strings (name, attribute keys and string values, event names, status message,
// tracestate) live in one inline byte arena; whatever does not fit is truncated or dropped and
// counted in the record's dropped_* fields, so nothing is lost silently.
//
// Limits: 16 attributes (span and event attributes share the table), 8 events, 4 links,
// 768 arena bytes. Enum values equal OTLP's wire values.
//
// Thread class: thread-compatible value type.

#include <cstdint>
#include <string_view>

#include "strobe/trace/span_context.h"

namespace strobe::trace {

enum class SpanKind : uint8_t {
  kUnspecified = 0,
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5,
};

enum class SpanStatus : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

enum class AttrType : uint8_t { kBool = 0, kInt = 1, kDouble = 2, kString = 3 };

// The slot types are trivial (no member initializers) on purpose: a SpanRecord lives on the
// stack of every Span, and zero-filling ~1 KB of unused slots cost ~15 ns per span. Only the
// first attr_count / event_count / link_count slots and arena_used bytes are meaningful.
struct StrRef {
  uint16_t offset;
  uint16_t length;
};

struct AttrSlot {
  StrRef key;
  StrRef str;  // kString only
  AttrType type;
  uint8_t owner;  // 0: the span; i + 1: events[i]
  union {
    int64_t i;
    double d;
    bool b;
  } v;
};

struct EventSlot {
  uint64_t time_unix_ns;
  StrRef name;
};

struct LinkSlot {
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint8_t trace_flags;

  SpanContext context() const noexcept;
};

class SpanRecord {
 public:
  static constexpr int kMaxAttributes = 16;
  static constexpr int kMaxEvents = 8;
  static constexpr int kMaxLinks = 4;
  static constexpr int kArenaBytes = 768;

  SpanContext context;
  SpanId parent_span_id;  // all zero for a root span
  uint64_t start_unix_ns = 0;
  uint64_t end_unix_ns = 0;
  SpanKind kind = SpanKind::kInternal;
  SpanStatus status = SpanStatus::kUnset;
  uint8_t attr_count = 0;
  uint8_t event_count = 0;
  uint8_t link_count = 0;
  uint16_t arena_used = 0;
  StrRef name{};
  StrRef status_message{};
  StrRef trace_state{};
  uint16_t dropped_attributes = 0;
  uint16_t dropped_events = 0;
  uint16_t dropped_links = 0;
  uint16_t truncated_strings = 0;
  AttrSlot attrs[kMaxAttributes];  // NOLINT(cppcoreguidelines-pro-type-member-init): see above
  EventSlot events[kMaxEvents];
  LinkSlot links[kMaxLinks];
  char arena[kArenaBytes];

  // Resets to an empty record (does not clear the arena bytes).
  void Clear() noexcept;

  std::string_view Str(StrRef r) const noexcept { return {arena + r.offset, r.length}; }
  std::string_view Name() const noexcept { return Str(name); }

  // Copies `s` into the arena, truncating to what is left (counted in truncated_strings).
  StrRef Intern(std::string_view s) noexcept;

  // Appends an attribute owned by the span (owner 0) or by an event (owner i + 1). Replaces an
  // existing span attribute with the same key. Returns false (and counts) when full.
  bool AddInt(std::string_view key, int64_t v, uint8_t owner = 0) noexcept;
  bool AddDouble(std::string_view key, double v, uint8_t owner = 0) noexcept;
  bool AddBool(std::string_view key, bool v, uint8_t owner = 0) noexcept;
  bool AddString(std::string_view key, std::string_view v, uint8_t owner = 0) noexcept;

  // Appends an event; returns its owner index for attributes (i + 1), or 0 when full.
  uint8_t AddEvent(std::string_view event_name, uint64_t time_unix_ns) noexcept;
  bool AddLink(const SpanContext& ctx) noexcept;

 private:
  AttrSlot* SlotFor(std::string_view key, uint8_t owner) noexcept;
};

}  // namespace strobe::trace
