#pragma once

// The C++ span API: a Tracer creates scoped Spans; a Span records name, kind, attributes,
// events, links and status into an inline SpanRecord, and at End() (or destruction) hands the
// record to the Tracer's SpanSink.
//
//   strobe::trace::SpanBuffer buffer;
//   strobe::trace::Tracer tracer(buffer);
//   {
//     strobe::trace::Span span(tracer, "GET /cart", strobe::trace::SpanKind::kServer);
//     span.SetAttribute("http.response.status_code", 200);
//     strobe::trace::Span child(tracer, "db.query");  // parent = the current span
//   }
//
// Parents: by default the thread's current span (Span::Current()); or an explicit SpanContext /
// RemoteContext (from Extract() of W3C headers); or none (kRoot). Every Span becomes the thread's
// current span until it ends; ending restores the nearest enclosing span that has not ended.
// Spans are stack objects: not copyable or movable, created and ended on one thread.
//
// Sampling: a child follows its parent's sampled flag; a root is sampled when its trace id falls
// under `sample_ratio` (trace-id ratio, so every process decides the same for one trace). A
// span that is not sampled still propagates its context but records nothing.
//
// Cost: no allocation, lock or syscall after the first span on a thread (the id generator
// seeds itself once per thread); see span_start_end_4attrs in trace_benchmark.cc.
//
// Thread class: Tracer is thread-safe (immutable after construction); Span is owner-thread only.

#include <cstdint>
#include <string>
#include <string_view>

#include "strobe/base/clock.h"
#include "strobe/trace/id_generator.h"
#include "strobe/trace/span_record.h"
#include "strobe/trace/span_sink.h"
#include "strobe/trace/trace_context.h"

namespace strobe::trace {

// Wall clock in Unix nanoseconds (CLOCK_REALTIME through the vDSO: strobe::WallNowNs()). The
// default span clock is the cheaper strobe::FastWallNowNs() (strobe/base/clock.h).
uint64_t SystemNowUnixNs() noexcept;

struct TracerOptions {
  std::string scope_name = "strobe";
  std::string scope_version;
  uint64_t (*now_unix_ns)() noexcept = &strobe::FastWallNowNs;  // injectable clock
  IdGenerator* ids = nullptr;                                   // nullptr: DefaultIdGenerator()
  double sample_ratio = 1.0;                                    // roots only; clamped to [0, 1]
};

class Tracer {
 public:
  // `sink` must outlive the Tracer and every Span it creates.
  explicit Tracer(SpanSink& sink, TracerOptions options = {});

  const std::string& scope_name() const { return options_.scope_name; }
  const std::string& scope_version() const { return options_.scope_version; }
  uint64_t Now() const noexcept { return options_.now_unix_ns(); }
  IdGenerator& ids() const noexcept { return *ids_; }
  SpanSink& sink() const noexcept { return *sink_; }
  // The root sampling decision for `trace_id`.
  bool SampleRoot(const TraceId& trace_id) const noexcept;

 private:
  SpanSink* sink_;
  TracerOptions options_;
  IdGenerator* ids_;
  uint64_t sample_threshold_;  // sampled when the low 64 trace-id bits are below this
  bool sample_all_;
};

class Span {
 public:
  struct Root {};  // tag: start a new trace even when a span is current
  static constexpr Root kRoot{};

  // Child of the thread's current span, or a root when there is none.
  Span(Tracer& tracer, std::string_view name, SpanKind kind = SpanKind::kInternal) noexcept;
  Span(Tracer& tracer, std::string_view name, Root, SpanKind kind = SpanKind::kInternal) noexcept;
  // Child of an explicit parent context (local or remote). An invalid context makes a root.
  Span(Tracer& tracer, std::string_view name, const SpanContext& parent,
       SpanKind kind = SpanKind::kInternal) noexcept;
  // Child of an extracted remote context; its tracestate is carried on.
  Span(Tracer& tracer, std::string_view name, const RemoteContext& parent,
       SpanKind kind = SpanKind::kInternal) noexcept;
  ~Span();
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

  // Attributes: a repeated key replaces the value. Beyond the record's limits they are
  // dropped and counted (SpanRecord::dropped_attributes). No-ops when not recording or ended.
  void SetAttribute(std::string_view key, int64_t value) noexcept;
  void SetAttribute(std::string_view key, int value) noexcept {
    SetAttribute(key, static_cast<int64_t>(value));
  }
  void SetAttribute(std::string_view key, double value) noexcept;
  void SetAttribute(std::string_view key, bool value) noexcept;
  void SetAttribute(std::string_view key, std::string_view value) noexcept;
  void SetAttribute(std::string_view key, const char* value) noexcept {
    SetAttribute(key, std::string_view(value));
  }

  // Adds a timestamped event (now, or `time_unix_ns`); returns its index for
  // SetEventAttribute, or -1 when dropped.
  int AddEvent(std::string_view name) noexcept;
  int AddEvent(std::string_view name, uint64_t time_unix_ns) noexcept;
  void SetEventAttribute(int event, std::string_view key, std::string_view value) noexcept;
  void SetEventAttribute(int event, std::string_view key, int64_t value) noexcept;
  // Records an exception as OpenTelemetry does: an "exception" event with type and message.
  void RecordException(std::string_view type, std::string_view message) noexcept;

  void AddLink(const SpanContext& linked) noexcept;
  // kError/kOk/kUnset; the message is kept for kError only (OpenTelemetry semantics). kOk is
  // final: later calls do not change it.
  void SetStatus(SpanStatus status, std::string_view message = {}) noexcept;
  void SetName(std::string_view name) noexcept;

  // Ends the span now (or at `end_unix_ns`) and hands it to the sink; later calls do nothing.
  void End() noexcept;
  void End(uint64_t end_unix_ns) noexcept;

  const SpanContext& context() const noexcept { return record_.context; }
  bool recording() const noexcept { return recording_ && !ended_; }
  bool ended() const noexcept { return ended_; }
  std::string_view trace_state() const noexcept { return record_.Str(record_.trace_state); }
  // The record as it stands (for tests and sinks that want to peek).
  const SpanRecord& record() const noexcept { return record_; }

  // The thread's current span, or nullptr.
  static Span* Current() noexcept;

 private:
  void Init(std::string_view name, const SpanContext* parent, std::string_view trace_state,
            SpanKind kind) noexcept;

  Tracer* tracer_;
  Span* previous_;  // the span that was current when this one started
  bool recording_ = false;
  bool ended_ = false;
  SpanRecord record_;
};

}  // namespace strobe::trace
