#include "strobed/exporters/trace_analysis/trace_analysis.h"

#include <memory>

#include "strobe/base/check.h"

namespace strobed::exporters {

pipeline::ExportResult TraceAnalysisExporter::Export(const event::Batch& batch) noexcept {
  uint64_t now = clock_.NowNs();
  if (!batch.spans().empty()) store_.Add(batch.spans(), keys_, now);
  store_.Tick(now);
  return pipeline::ExportResult::kOk;
}

strobe::Status TraceAnalysisExporter::Flush(std::chrono::milliseconds deadline) {
  (void)deadline;
  store_.Tick(clock_.NowNs());
  return strobe::OkStatus();
}

strobe::Status TraceAnalysisExporter::Shutdown(std::chrono::milliseconds deadline) {
  (void)deadline;
  store_.FlushAll(clock_.NowNs());
  return strobe::OkStatus();
}

void RegisterTraceAnalysisExporter(pipeline::PluginRegistry& registry) {
  STROBE_CHECK(
      registry
          .AddExporter({
              .type = "trace_analysis",
              .description = "Assembles spans into traces and analyses them: critical path, "
                             "self time, latency breakdown, service graph (served at "
                             "/api/v1/traces/{id} and /api/v1/service-graph).",
              .signals = event::kSignalTraces,
              .options =
                  {
                      {"quiet_period", pipeline::OptionType::kDuration, "2s",
                       "a trace is complete when its root arrived and no span came for this long"},
                      {"max_trace_age", pipeline::OptionType::kDuration, "30s",
                       "a trace without root is finalised (incomplete) after this long"},
                      {"max_pending_traces", pipeline::OptionType::kInt, "10000",
                       "traces being assembled at most; the oldest is evicted and counted"},
                      {"max_pending_bytes", pipeline::OptionType::kBytes, "64MiB",
                       "memory of traces being assembled at most"},
                      {"max_completed_traces", pipeline::OptionType::kInt, "1000",
                       "analysed traces kept for the API"},
                      {"window", pipeline::OptionType::kDuration, "5m",
                       "service-graph aggregation window (30 buckets)"},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Exporter>> {
                trace::TraceStoreOptions o;
                o.quiet_period = ctx.options.GetDuration("quiet_period");
                o.max_trace_age = ctx.options.GetDuration("max_trace_age");
                int64_t pending = ctx.options.GetInt("max_pending_traces");
                int64_t completed = ctx.options.GetInt("max_completed_traces");
                if (pending < 1 || completed < 1) {
                  return strobe::InvalidArgument(
                      ctx.options.Where("max_pending_traces") +
                      ": trace_analysis: max_pending_traces and max_completed_traces must be >= 1");
                }
                o.max_pending_traces = static_cast<size_t>(pending);
                o.max_completed_traces = static_cast<size_t>(completed);
                o.max_pending_bytes = ctx.options.GetBytes("max_pending_bytes");
                o.window_buckets = 30;
                o.bucket = ctx.options.GetDuration("window") / 30;
                if (o.bucket.count() <= 0) {
                  return strobe::InvalidArgument(ctx.options.Where("window") +
                                                 ": trace_analysis: window must be > 0");
                }
                trace::TraceStore* store = ctx.services.trace_store;
                if (store == nullptr) {
                  return strobe::FailedPrecondition(
                      ctx.id.ToString() +
                      ": no trace store in this process (the "
                      "`trace_analysis` exporter runs inside `strobe serve`)");
                }
                // The first trace_analysis exporter configures the shared store; later ones
                // feed it as configured (documented in the header).
                (void)store->Configure(o);
                return std::unique_ptr<pipeline::Exporter>(
                    std::make_unique<TraceAnalysisExporter>(*store, ctx.clock, ctx.keys));
              },
          })
          .ok());
}

}  // namespace strobed::exporters
