#pragma once

// TraceComponent: plugs trace analysis into `strobe serve`. At Start it mounts the trace API
// (trace_api.h) on the daemon's API router and registers the store's metrics in the daemon's
// registry (so they appear on /metrics):
//   strobe_trace_spans_received_total, strobe_trace_completed_traces_total,
//   strobe_trace_incomplete_traces_total, strobe_trace_evicted_traces_total,
//   strobe_trace_late_spans_total, strobe_trace_pending_traces, strobe_trace_pending_bytes,
//   strobe_service_graph_calls{client,server}, strobe_service_graph_errors{client,server},
//   strobe_service_graph_latency_p50_seconds / _p90_ / _p99_ {client,server} (window),
//   strobe_trace_operation_{spans,errors}_total{service,operation},
//   strobe_trace_operation_{self,critical_path}_seconds_total{service,operation}.
// Spans reach the store through a pipeline with the `trace_analysis` exporter.
//
// Thread class: control thread (Start/Shutdown); the routes and metric callbacks are
// thread-safe.

#include <string>

#include "strobed/base/clock.h"
#include "strobed/daemon/component.h"
#include "strobed/trace/trace_store.h"

namespace strobed::trace {

class TraceComponent final : public daemon::Component {
 public:
  explicit TraceComponent(TraceStore& store = TraceStore::Default(),
                          base::MonotonicClock& clock = base::MonotonicClock::Steady())
      : store_(store), clock_(clock) {}

  std::string Name() const override { return "trace"; }
  strobe::Status Start(const daemon::ComponentContext& ctx) override;
  strobe::Status Shutdown(daemon::Deadline deadline) override;

 private:
  TraceStore& store_;
  base::MonotonicClock& clock_;
};

}  // namespace strobed::trace
