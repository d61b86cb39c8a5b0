#pragma once

// Converting libstrobe's SpanRecord (lib/strobe/trace: what the C++ span API produces) into
// the daemon's event model, so spans recorded in process enter a pipeline like spans received
// over OTLP:
//
//   strobe::trace::SpanBuffer buffer;                     // the Tracer's sink
//   ...
//   event::BatchPtr batch = ingest.pool().Acquire();
//   buffer.Drain([&](const strobe::trace::SpanRecord& r) {
//     AppendSpanRecord(r, *batch, keys, resource, scope);
//   });
//   ingest.Push(std::move(batch));
//
// Strings are copied into the batch arena; attribute keys are interned (a full KeyTable drops
// the attribute and counts it in dropped_attributes_count). The record's own drop counters
// carry over into the span's dropped_*_count fields; truncated strings are kept truncated.
//
// Thread class: thread-compatible (one batch per caller).

#include "strobe/trace/span_record.h"
#include "strobed/event/batch.h"

namespace strobed::trace {

event::Span& AppendSpanRecord(const strobe::trace::SpanRecord& record, event::Batch& batch,
                              event::KeyTable& keys, const event::Resource* resource = nullptr,
                              const event::InstrumentationScope* scope = nullptr);

}  // namespace strobed::trace
