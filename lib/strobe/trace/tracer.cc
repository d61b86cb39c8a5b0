#include "strobe/trace/tracer.h"

#include <cmath>
#include <cstring>
#include <ctime>

namespace strobe::trace {
namespace {

thread_local Span* t_current = nullptr;

}  // namespace

uint64_t SystemNowUnixNs() noexcept { return strobe::WallNowNs(); }

Tracer::Tracer(SpanSink& sink, TracerOptions options)
    : sink_(&sink),
      options_(std::move(options)),
      ids_(options_.ids != nullptr ? options_.ids : &DefaultIdGenerator()) {
  double r = options_.sample_ratio;
  if (!(r >= 0.0)) r = 0.0;  // also NaN
  sample_all_ = r >= 1.0;
  sample_threshold_ = sample_all_ ? UINT64_MAX : static_cast<uint64_t>(std::ldexp(r, 64));
}

bool Tracer::SampleRoot(const TraceId& trace_id) const noexcept {
  if (sample_all_) return true;
  uint64_t low;
  std::memcpy(&low, trace_id.bytes.data() + 8, 8);
  return low < sample_threshold_;
}

Span::Span(Tracer& tracer, std::string_view name, SpanKind kind) noexcept
    : tracer_(&tracer), previous_(t_current) {
  if (previous_ != nullptr) {
    Init(name, &previous_->record_.context, previous_->trace_state(), kind);
  } else {
    Init(name, nullptr, {}, kind);
  }
}

Span::Span(Tracer& tracer, std::string_view name, Root, SpanKind kind) noexcept
    : tracer_(&tracer), previous_(t_current) {
  Init(name, nullptr, {}, kind);
}

Span::Span(Tracer& tracer, std::string_view name, const SpanContext& parent, SpanKind kind) noexcept
    : tracer_(&tracer), previous_(t_current) {
  Init(name, parent.valid() ? &parent : nullptr, {}, kind);
}

Span::Span(Tracer& tracer, std::string_view name, const RemoteContext& parent,
           SpanKind kind) noexcept
    : tracer_(&tracer), previous_(t_current) {
  if (!parent.context.valid()) {
    Init(name, nullptr, {}, kind);
    return;
  }
  // The header form is rebuilt only when a remote tracestate exists (rare; allocates).
  if (parent.state.empty()) {
    Init(name, &parent.context, {}, kind);
  } else {
    std::string header = parent.state.ToHeader();
    Init(name, &parent.context, header, kind);
  }
}

void Span::Init(std::string_view name, const SpanContext* parent, std::string_view trace_state,
                SpanKind kind) noexcept {
  record_.Clear();
  record_.kind = kind;
  if (parent != nullptr) {
    record_.context.trace_id = parent->trace_id;
    record_.context.trace_flags = parent->trace_flags;
    record_.parent_span_id = parent->span_id;
    recording_ = parent->sampled();
  } else {
    record_.context.trace_id = tracer_->ids().NewTraceId();
    recording_ = tracer_->SampleRoot(record_.context.trace_id);
    record_.context.trace_flags = recording_ ? kTraceFlagSampled : 0;
  }
  record_.context.span_id = tracer_->ids().NewSpanId();
  t_current = this;
  if (!recording_) return;
  record_.name = record_.Intern(name);
  if (!trace_state.empty()) record_.trace_state = record_.Intern(trace_state);
  record_.start_unix_ns = tracer_->Now();
}

Span::~Span() { End(); }

void Span::SetAttribute(std::string_view key, int64_t value) noexcept {
  if (recording()) record_.AddInt(key, value);
}
void Span::SetAttribute(std::string_view key, double value) noexcept {
  if (recording()) record_.AddDouble(key, value);
}
void Span::SetAttribute(std::string_view key, bool value) noexcept {
  if (recording()) record_.AddBool(key, value);
}
void Span::SetAttribute(std::string_view key, std::string_view value) noexcept {
  if (recording()) record_.AddString(key, value);
}

int Span::AddEvent(std::string_view name) noexcept {
  if (!recording()) return -1;
  return AddEvent(name, tracer_->Now());
}

int Span::AddEvent(std::string_view name, uint64_t time_unix_ns) noexcept {
  if (!recording()) return -1;
  uint8_t owner = record_.AddEvent(name, time_unix_ns);
  return owner == 0 ? -1 : owner - 1;
}

void Span::SetEventAttribute(int event, std::string_view key, std::string_view value) noexcept {
  if (!recording() || event < 0 || event >= record_.event_count) return;
  record_.AddString(key, value, static_cast<uint8_t>(event + 1));
}

void Span::SetEventAttribute(int event, std::string_view key, int64_t value) noexcept {
  if (!recording() || event < 0 || event >= record_.event_count) return;
  record_.AddInt(key, value, static_cast<uint8_t>(event + 1));
}

void Span::RecordException(std::string_view type, std::string_view message) noexcept {
  int e = AddEvent("exception");
  SetEventAttribute(e, "exception.type", type);
  SetEventAttribute(e, "exception.message", message);
}

void Span::AddLink(const SpanContext& linked) noexcept {
  if (recording() && linked.valid()) record_.AddLink(linked);
}

void Span::SetStatus(SpanStatus status, std::string_view message) noexcept {
  if (!recording() || record_.status == SpanStatus::kOk) return;
  record_.status = status;
  record_.status_message =
      status == SpanStatus::kError && !message.empty() ? record_.Intern(message) : StrRef{};
}

void Span::SetName(std::string_view name) noexcept {
  if (recording()) record_.name = record_.Intern(name);
}

void Span::End() noexcept {
  if (ended_) return;
  End(recording_ ? tracer_->Now() : 0);
}

void Span::End(uint64_t end_unix_ns) noexcept {
  if (ended_) return;
  ended_ = true;
  if (t_current == this) {
    // Restore the nearest enclosing span that is still running. Spans live on the stack of
    // this thread, so every `previous_` outlives this one.
    Span* p = previous_;
    while (p != nullptr && p->ended_) p = p->previous_;
    t_current = p;
  }
  if (!recording_) return;
  record_.end_unix_ns = end_unix_ns < record_.start_unix_ns ? record_.start_unix_ns : end_unix_ns;
  tracer_->sink().Consume(record_);
}

Span* Span::Current() noexcept { return t_current; }

}  // namespace strobe::trace
