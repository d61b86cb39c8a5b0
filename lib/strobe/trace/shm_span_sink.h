#pragma once

// ShmSpanSink: ends spans into the strobe daemon's shared-memory rings (lib/strobe/shm), so a
// C++ program traced with strobe::trace::Tracer ships its spans to `strobe serve` without a
// socket or a system call per span.
//
//   auto sink = strobe::trace::ShmSpanSink::Create({.service_name = "checkout"}).value();
//   strobe::trace::Tracer tracer(*sink);
//
// Each thread that ends spans writes its own ring (one writer per ring, as the ring protocol
// requires): `<dir>/strobe-<ring>-<id>` with id = pid + k * 2^22 (k = 1, 2, ... per thread),
// created on the thread's first span (that first call makes the system calls of
// shm::Producer::Connect; every later one is a reserve, a copy and a release store). A
// thread's ring is closed when the thread exits, and the daemon drains and removes it.
//
// Mapping onto the SPAN record (docs/shm-format.md): trace id bytes as is; span ids as the
// big-endian value of their 8 bytes; attributes as "key\0value\0" text (ints, doubles and
// bools formatted); kind, status and status message as the conventional attributes
// span.kind, otel.status_code, otel.status_description, and `service_name` (when set) as
// service.name — the daemon's shm receiver turns these back into span fields and the resource.
// Span events become EVENT records carrying trace_id / span_id attributes (hex), so the
// daemon keeps them correlated; links are not carried by the ring format (counted in
// links_dropped()).
//
// fork(): the child detaches the rings it inherited (the parent keeps writing them) and
// creates its own on its next span.
//
// Full ring: the configured policy (drop and count by default; never blocks past the spin
// bound). Every span that is not written is counted: dropped().
//
// Thread class: Consume() is thread-safe and allocation-free after a thread's first span.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "strobe/base/status.h"
#include "strobe/shm/producer.h"
#include "strobe/trace/span_sink.h"

namespace strobe::trace {

struct ShmSpanSinkOptions {
  std::string ring = "strobe";
  std::string dir = "/dev/shm";
  uint64_t capacity_bytes = uint64_t{1} << 22;  // per thread
  shm::FullPolicy policy = shm::FullPolicy::kDrop;
  uint64_t spin_limit = 1 << 16;
  std::string service_name;  // service.name of every span; empty: none
  // Create() fails (Unavailable) when no daemon consumes `ring`.
  bool require_daemon = true;
};

class ShmSpanSink final : public SpanSink {
 public:
  static Result<std::unique_ptr<ShmSpanSink>> Create(ShmSpanSinkOptions options);
  ~ShmSpanSink() override;

  void Consume(const SpanRecord& record) noexcept override;

  // Spans not written: ring full, a thread's ring could not be created, or the encoded span
  // is larger than one record.
  uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  uint64_t events_dropped() const noexcept {
    return events_dropped_.load(std::memory_order_relaxed);
  }
  uint64_t links_dropped() const noexcept { return links_dropped_.load(std::memory_order_relaxed); }

 private:
  explicit ShmSpanSink(ShmSpanSinkOptions options);
  shm::Producer* ThreadProducer() noexcept;
  bool WriteSpan(shm::Producer& p, const SpanRecord& r) noexcept;
  void WriteEvents(shm::Producer& p, const SpanRecord& r) noexcept;

  const ShmSpanSinkOptions options_;
  const uint64_t id_;  // distinguishes sinks in the per-thread producer table
  // Statistics only; relaxed. Written only on the drop paths (a successful span touches no
  // shared cache line).
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> events_dropped_{0};
  std::atomic<uint64_t> links_dropped_{0};
};

}  // namespace strobe::trace
