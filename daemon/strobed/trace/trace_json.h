#pragma once

// The JSON documents of trace analysis, as the HTTP API (service/trace_api.h) and the shm
// snapshot serve them; shapes documented in docs/tracing.md.
//   TraceJson         one analysed trace: spans with parent links, self time, status,
//                     attributes, the critical path and the breakdown by service/operation
//   ServiceGraphJson  edges caller → callee over the window: calls, errors, p50/p90/p99 (ms)
//
// Thread class: pure functions of their arguments (thread-safe).

#include <string>
#include <vector>

#include "strobed/trace/trace_analysis.h"
#include "strobed/trace/trace_store.h"

namespace strobed::trace {

std::string TraceJson(const AnalyzedTrace& t);
std::string ServiceGraphJson(const std::vector<ServiceEdge>& edges, double window_seconds);

}  // namespace strobed::trace
