#pragma once

// HTTP API of trace analysis, mounted on the daemon's API router:
//   GET /api/v1/traces              recent analysed trace ids (?limit=N, default 50), newest
//                                   first; with ?summary=1 one object per trace instead:
//                                   traceId, service and operation of the root, start, duration,
//                                   span and error-span counts, complete
//   GET /api/v1/traces/{trace_id}   one trace (32 hex digits): spans with parent links, self
//                                   time, status and attributes; the critical path; the
//                                   breakdown by service and operation. 404 when unknown, 400
//                                   for a malformed id. A trace still assembling is returned
//                                   with "complete": false.
//   GET /api/v1/service-graph       edges caller → callee over the window: calls, errors,
//                                   p50/p90/p99 latency (ms)
// JSON shapes are documented in docs/tracing.md (built by trace/trace_json.h).
//
// Thread class: handlers are thread-safe (the store is).

#include "strobed/base/clock.h"
#include "strobed/server/router.h"
#include "strobed/trace/trace_store.h"

namespace strobed::service {

// Mounts the routes above; `store` and `clock` must outlive `router`'s use of them.
void MountTraceApi(server::Router& router, trace::TraceStore& store, base::MonotonicClock& clock);

}  // namespace strobed::service
