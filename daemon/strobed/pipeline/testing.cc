#include "strobed/pipeline/testing.h"

#include <string>
#include <thread>

namespace strobed::pipeline::testing {

event::Span& AddSpan(event::Batch& batch, const SpanSpec& spec) {
  event::Arena& arena = batch.arena();
  event::Span& s = batch.AddSpan();
  s.trace_id = spec.trace_id;
  s.span_id = event::SpanId::FromValue(spec.span_id);
  s.parent_span_id = event::SpanId::FromValue(spec.parent_span_id);
  s.name = arena.CopyString(spec.name);
  s.start_ns = spec.start_ns;
  s.end_ns = spec.end_ns;
  s.status.code = spec.status;
  if (spec.attributes > 0) {
    auto n = static_cast<std::size_t>(spec.attributes);
    auto* attrs = arena.AllocateArray<event::Attribute>(n);
    for (std::size_t i = 0; i < n; ++i) {
      attrs[i].key = *event::KeyTable::Global().Intern("attr" + std::to_string(i));
      attrs[i].value = event::Value::Int(static_cast<int64_t>(i));
    }
    s.attributes = {attrs, n};
  }
  return s;
}

event::MetricPoint& AddGauge(event::Batch& batch, std::string_view name, double value,
                             std::string_view label_value, uint64_t time_ns) {
  static const event::KeyId kHost = *event::KeyTable::Global().Intern("host");
  event::Arena& arena = batch.arena();
  event::MetricPoint& m = batch.AddMetric();
  m.name = arena.CopyString(name);
  m.type = event::MetricType::kGauge;
  m.double_value = value;
  m.time_ns = time_ns;
  auto* label = arena.AllocateArray<event::Attribute>(1);
  label->key = kHost;
  label->value = event::Value::String(arena.CopyString(label_value));
  m.labels = {label, 1};
  return m;
}

event::LogRecord& AddLog(event::Batch& batch, std::string_view body, uint8_t severity) {
  event::LogRecord& l = batch.AddLog();
  l.body = event::Value::String(batch.arena().CopyString(body));
  l.severity_number = severity;
  return l;
}

event::BatchPtr MetricBatch(event::BatchPool& pool, std::size_t n) {
  event::BatchPtr b = pool.Acquire();
  for (std::size_t i = 0; i < n; ++i) AddGauge(*b, "m", static_cast<double>(i));
  return b;
}

uint64_t RecordingContext::EmittedEvents() const {
  uint64_t n = 0;
  for (const auto& b : emitted) n += b->size();
  return n;
}

uint64_t RecordingContext::EmittedSpans() const {
  uint64_t n = 0;
  for (const auto& b : emitted) n += b->spans().size();
  return n;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace strobed::pipeline::testing
