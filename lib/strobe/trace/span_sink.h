#pragma once

// Where finished spans go. A SpanSink receives each ended, sampled SpanRecord exactly once, on
// the thread that ended the span. Implementations: SpanBuffer (in-process, drained by a
// consumer such as the daemon's pipeline), and the shm ring writer (to the daemon).
//
// Thread class: Consume() must be thread-safe and must obey the hot-path rules (no lock,
// allocation, syscall, logging or exception); a sink that cannot take a record drops it and
// counts the drop.

#include "strobe/trace/span_record.h"

namespace strobe::trace {

class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual void Consume(const SpanRecord& record) noexcept = 0;
};

// Copies the used part of `src` (header, used slots, used arena bytes) into `dst`: cheaper
// than a full copy of the ~1.6 KB record.
void CopyUsed(const SpanRecord& src, SpanRecord& dst) noexcept;

}  // namespace strobe::trace
