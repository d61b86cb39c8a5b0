#include "strobed/trace/span_records.h"

#include <cstring>

namespace strobed::trace {
namespace {

event::Value ToValue(const strobe::trace::SpanRecord& r, const strobe::trace::AttrSlot& a,
                     event::Arena& arena) {
  switch (a.type) {
    case strobe::trace::AttrType::kBool:
      return event::Value::Bool(a.v.b);
    case strobe::trace::AttrType::kInt:
      return event::Value::Int(a.v.i);
    case strobe::trace::AttrType::kDouble:
      return event::Value::Double(a.v.d);
    case strobe::trace::AttrType::kString:
      return event::Value::String(arena.CopyString(r.Str(a.str)));
  }
  return event::Value();
}

// Attributes of `owner` (0 = the span, i + 1 = event i) as an arena array.
std::span<const event::Attribute> Attributes(const strobe::trace::SpanRecord& r, uint8_t owner,
                                             event::Arena& arena, event::KeyTable& keys,
                                             uint32_t& dropped) {
  size_t n = 0;
  for (int i = 0; i < r.attr_count; ++i) n += r.attrs[i].owner == owner ? 1 : 0;
  if (n == 0) return {};
  auto* out = arena.AllocateArray<event::Attribute>(n);
  size_t k = 0;
  for (int i = 0; i < r.attr_count; ++i) {
    const strobe::trace::AttrSlot& a = r.attrs[i];
    if (a.owner != owner) continue;
    std::optional<event::KeyId> id = keys.Intern(r.Str(a.key));
    if (!id) {
      ++dropped;
      continue;
    }
    out[k++] = {*id, ToValue(r, a, arena)};
  }
  return {out, k};
}

}  // namespace

event::Span& AppendSpanRecord(const strobe::trace::SpanRecord& r, event::Batch& batch,
                              event::KeyTable& keys, const event::Resource* resource,
                              const event::InstrumentationScope* scope) {
  event::Arena& arena = batch.arena();
  event::Span& s = batch.AddSpan();
  std::memcpy(s.trace_id.bytes.data(), r.context.trace_id.bytes.data(), 16);
  std::memcpy(s.span_id.bytes.data(), r.context.span_id.bytes.data(), 8);
  std::memcpy(s.parent_span_id.bytes.data(), r.parent_span_id.bytes.data(), 8);
  s.flags = r.context.trace_flags;
  s.trace_state = arena.CopyString(r.Str(r.trace_state));
  s.name = arena.CopyString(r.Name());
  s.kind = static_cast<event::SpanKind>(r.kind);
  s.start_ns = r.start_unix_ns;
  s.end_ns = r.end_unix_ns;
  s.status.code = static_cast<event::StatusCode>(r.status);
  s.status.message = arena.CopyString(r.Str(r.status_message));
  s.resource = resource;
  s.scope = scope;
  s.dropped_attributes_count = r.dropped_attributes;
  s.attributes = Attributes(r, 0, arena, keys, s.dropped_attributes_count);
  if (r.event_count > 0) {
    auto* evs = arena.AllocateArray<event::SpanEvent>(r.event_count);
    for (int i = 0; i < r.event_count; ++i) {
      evs[i] = event::SpanEvent();
      evs[i].time_ns = r.events[i].time_unix_ns;
      evs[i].name = arena.CopyString(r.Str(r.events[i].name));
      evs[i].attributes =
          Attributes(r, static_cast<uint8_t>(i + 1), arena, keys, evs[i].dropped_attributes_count);
    }
    s.events = {evs, r.event_count};
  }
  if (r.link_count > 0) {
    auto* links = arena.AllocateArray<event::SpanLink>(r.link_count);
    for (int i = 0; i < r.link_count; ++i) {
      links[i] = event::SpanLink();
      strobe::trace::SpanContext c = r.links[i].context();
      std::memcpy(links[i].trace_id.bytes.data(), c.trace_id.bytes.data(), 16);
      std::memcpy(links[i].span_id.bytes.data(), c.span_id.bytes.data(), 8);
      links[i].flags = c.trace_flags;
    }
    s.links = {links, r.link_count};
  }
  s.dropped_events_count = r.dropped_events;
  s.dropped_links_count = r.dropped_links;
  return s;
}

}  // namespace strobed::trace
