#include "strobe/trace/span_record.h"

#include <algorithm>
#include <cstring>

namespace strobe::trace {

SpanContext LinkSlot::context() const noexcept {
  SpanContext c;
  std::memcpy(c.trace_id.bytes.data(), trace_id, 16);
  std::memcpy(c.span_id.bytes.data(), span_id, 8);
  c.trace_flags = trace_flags;
  return c;
}

void SpanRecord::Clear() noexcept {
  context = {};
  parent_span_id = {};
  start_unix_ns = end_unix_ns = 0;
  kind = SpanKind::kInternal;
  status = SpanStatus::kUnset;
  attr_count = event_count = link_count = 0;
  arena_used = 0;
  name = status_message = trace_state = {};
  dropped_attributes = dropped_events = dropped_links = truncated_strings = 0;
}

StrRef SpanRecord::Intern(std::string_view s) noexcept {
  size_t room = static_cast<size_t>(kArenaBytes) - arena_used;
  size_t n = std::min(room, s.size());
  if (n < s.size()) ++truncated_strings;
  StrRef r{arena_used, static_cast<uint16_t>(n)};
  if (n == 0) return r;
  std::memcpy(arena + arena_used, s.data(), n);
  arena_used = static_cast<uint16_t>(arena_used + n);
  return r;
}

AttrSlot* SpanRecord::SlotFor(std::string_view key, uint8_t owner) noexcept {
  if (owner == 0) {
    // Replace semantics for span attributes, as OpenTelemetry's SetAttribute has.
    for (int i = 0; i < attr_count; ++i) {
      if (attrs[i].owner == 0 && Str(attrs[i].key) == key) return &attrs[i];
    }
  }
  if (attr_count == kMaxAttributes) {
    ++dropped_attributes;
    return nullptr;
  }
  AttrSlot* s = &attrs[attr_count++];
  s->key = Intern(key);
  s->owner = owner;
  return s;
}

bool SpanRecord::AddInt(std::string_view key, int64_t v, uint8_t owner) noexcept {
  AttrSlot* s = SlotFor(key, owner);
  if (s == nullptr) return false;
  s->type = AttrType::kInt;
  s->v.i = v;
  return true;
}

bool SpanRecord::AddDouble(std::string_view key, double v, uint8_t owner) noexcept {
  AttrSlot* s = SlotFor(key, owner);
  if (s == nullptr) return false;
  s->type = AttrType::kDouble;
  s->v.d = v;
  return true;
}

bool SpanRecord::AddBool(std::string_view key, bool v, uint8_t owner) noexcept {
  AttrSlot* s = SlotFor(key, owner);
  if (s == nullptr) return false;
  s->type = AttrType::kBool;
  s->v.b = v;
  return true;
}

bool SpanRecord::AddString(std::string_view key, std::string_view v, uint8_t owner) noexcept {
  AttrSlot* s = SlotFor(key, owner);
  if (s == nullptr) return false;
  s->type = AttrType::kString;
  s->str = Intern(v);  // a replaced value's old bytes stay in the arena unused
  return true;
}

uint8_t SpanRecord::AddEvent(std::string_view event_name, uint64_t time_unix_ns) noexcept {
  if (event_count == kMaxEvents) {
    ++dropped_events;
    return 0;
  }
  EventSlot& e = events[event_count++];
  e.time_unix_ns = time_unix_ns;
  e.name = Intern(event_name);
  return event_count;
}

bool SpanRecord::AddLink(const SpanContext& ctx) noexcept {
  if (link_count == kMaxLinks) {
    ++dropped_links;
    return false;
  }
  LinkSlot& l = links[link_count++];
  std::memcpy(l.trace_id, ctx.trace_id.bytes.data(), 16);
  std::memcpy(l.span_id, ctx.span_id.bytes.data(), 8);
  l.trace_flags = ctx.trace_flags;
  return true;
}

}  // namespace strobe::trace
