#pragma once

// The trace store's metrics, published as callback families in a metrics registry (read at
// each scrape; the one way the daemon publishes self-metrics):
//   strobe_trace_spans_received_total, strobe_trace_completed_traces_total,
//   strobe_trace_incomplete_traces_total, strobe_trace_evicted_traces_total,
//   strobe_trace_late_spans_total, strobe_trace_pending_traces, strobe_trace_pending_bytes,
//   strobe_service_graph_calls{client,server}, strobe_service_graph_errors{client,server},
//   strobe_service_graph_latency_p50_seconds / _p90_ / _p99_ {client,server} (window),
//   strobe_trace_operation_{spans,errors}_total{service,operation},
//   strobe_trace_operation_{self,critical_path}_seconds_total{service,operation}.
//
// Thread class: call from the control thread; the callbacks are thread-safe (the store is).

#include "strobe/base/status.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/clock.h"
#include "strobed/trace/trace_store.h"

namespace strobed::trace {

// Adds the families above to `registry`; `store` and `clock` must outlive the registry's
// use of them. ALREADY_EXISTS when a family of that name is registered already.
strobe::Status RegisterTraceMetrics(strobe::metrics::Registry& registry, TraceStore& store,
                                    base::MonotonicClock& clock);

}  // namespace strobed::trace
