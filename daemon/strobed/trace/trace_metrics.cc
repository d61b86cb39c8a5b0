#include "strobed/trace/trace_metrics.h"

#include <span>
#include <string_view>

namespace strobed::trace {

strobe::Status RegisterTraceMetrics(strobe::metrics::Registry& registry, TraceStore& store_ref,
                                    base::MonotonicClock& clock_ref) {
  strobe::metrics::Registry& r = registry;
  TraceStore* store = &store_ref;
  base::MonotonicClock* clock = &clock_ref;
  using strobe::metrics::CallbackSink;
  using strobe::metrics::CallbackType;
  auto stat = [&](const char* name, const char* help, CallbackType type,
                  uint64_t TraceStoreStats::*field) {
    return r.AddCallbackFamily({name, help, ""}, type, {}, [store, clock, field](CallbackSink& s) {
      store->Tick(clock->NowNs());
      s.Emit(std::span<const std::string_view>(), static_cast<double>(store->Stats().*field));
    });
  };
  STROBE_RETURN_IF_ERROR(stat("strobe_trace_spans_received_total", "Spans added to trace assembly.",
                              CallbackType::kCounter, &TraceStoreStats::spans_received));
  STROBE_RETURN_IF_ERROR(stat("strobe_trace_completed_traces_total",
                              "Traces assembled and analysed.", CallbackType::kCounter,
                              &TraceStoreStats::traces_completed));
  STROBE_RETURN_IF_ERROR(stat("strobe_trace_incomplete_traces_total",
                              "Analysed traces without a root or with missing parents.",
                              CallbackType::kCounter, &TraceStoreStats::traces_incomplete));
  STROBE_RETURN_IF_ERROR(stat("strobe_trace_evicted_traces_total",
                              "Pending traces dropped unanalysed by the memory bound.",
                              CallbackType::kCounter, &TraceStoreStats::traces_evicted));
  STROBE_RETURN_IF_ERROR(stat("strobe_trace_evicted_spans_total",
                              "Spans of the pending traces dropped unanalysed by the memory bound.",
                              CallbackType::kCounter, &TraceStoreStats::spans_evicted));
  STROBE_RETURN_IF_ERROR(stat("strobe_trace_late_spans_total",
                              "Spans that arrived after their trace completed.",
                              CallbackType::kCounter, &TraceStoreStats::late_spans));
  STROBE_RETURN_IF_ERROR(stat("strobe_trace_pending_traces", "Traces being assembled.",
                              CallbackType::kGauge, &TraceStoreStats::pending_traces));
  STROBE_RETURN_IF_ERROR(stat("strobe_trace_pending_bytes",
                              "Memory held by traces being assembled.", CallbackType::kGauge,
                              &TraceStoreStats::pending_bytes));

  auto edge = [&](const char* name, const char* help, auto value) {
    return r.AddCallbackFamily({name, help, ""}, CallbackType::kGauge, {"client", "server"},
                               [store, clock, value](CallbackSink& s) {
                                 for (const ServiceEdge& e : store->ServiceGraph(clock->NowNs())) {
                                   s.Emit({e.caller, e.callee}, value(e));
                                 }
                               });
  };
  STROBE_RETURN_IF_ERROR(edge("strobe_service_graph_calls",
                              "Calls client→server service within the service-graph window.",
                              [](const ServiceEdge& e) { return static_cast<double>(e.calls); }));
  STROBE_RETURN_IF_ERROR(edge("strobe_service_graph_errors",
                              "Failed calls (callee status ERROR) within the window.",
                              [](const ServiceEdge& e) { return static_cast<double>(e.errors); }));
  STROBE_RETURN_IF_ERROR(
      edge("strobe_service_graph_latency_p50_seconds", "Median callee duration within the window.",
           [](const ServiceEdge& e) { return static_cast<double>(e.p50_ns) / 1e9; }));
  STROBE_RETURN_IF_ERROR(
      edge("strobe_service_graph_latency_p90_seconds",
           "90th percentile callee duration within the window.",
           [](const ServiceEdge& e) { return static_cast<double>(e.p90_ns) / 1e9; }));
  STROBE_RETURN_IF_ERROR(
      edge("strobe_service_graph_latency_p99_seconds",
           "99th percentile callee duration within the window.",
           [](const ServiceEdge& e) { return static_cast<double>(e.p99_ns) / 1e9; }));

  auto op = [&](const char* name, const char* help, auto value) {
    return r.AddCallbackFamily({name, help, ""}, CallbackType::kCounter, {"service", "operation"},
                               [store, value](CallbackSink& s) {
                                 for (const Breakdown& b : store->OperationTotals()) {
                                   s.Emit({b.service, b.operation}, value(b));
                                 }
                               });
  };
  STROBE_RETURN_IF_ERROR(op("strobe_trace_operation_spans_total",
                            "Spans of analysed traces by service and operation.",
                            [](const Breakdown& b) { return static_cast<double>(b.spans); }));
  STROBE_RETURN_IF_ERROR(op("strobe_trace_operation_errors_total",
                            "Error spans of analysed traces by service and operation.",
                            [](const Breakdown& b) { return static_cast<double>(b.errors); }));
  STROBE_RETURN_IF_ERROR(
      op("strobe_trace_operation_self_seconds_total", "Self time by service and operation.",
         [](const Breakdown& b) { return static_cast<double>(b.self_ns) / 1e9; }));
  STROBE_RETURN_IF_ERROR(op("strobe_trace_operation_critical_path_seconds_total",
                            "Critical-path time by service and operation.", [](const Breakdown& b) {
                              return static_cast<double>(b.critical_ns) / 1e9;
                            }));
  return strobe::OkStatus();
}

}  // namespace strobed::trace
