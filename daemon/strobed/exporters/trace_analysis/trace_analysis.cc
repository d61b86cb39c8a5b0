#include "strobed/exporters/trace_analysis/trace_analysis.h"

#include <algorithm>
#include <memory>

#include "strobe/base/check.h"

namespace strobed::exporters {

pipeline::ExportResult TraceAnalysisExporter::Export(const event::Batch& batch) noexcept {
  uint64_t now = clock_.NowNs();
  if (!batch.spans().empty()) evicted_unreported_ += store_.Add(batch.spans(), keys_, now);
  store_.Tick(now);
  pipeline::ExportResult r = pipeline::ExportResult::kOk;
  const uint64_t charge = std::min<uint64_t>(evicted_unreported_, batch.spans().size());
  evicted_unreported_ -= charge;
  r.SetEvicted(event::kSignalTraces, charge);
  return r;
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
                      {"max_pending_traces",
                       pipeline::OptionType::kInt,
                       "10000",
                       "traces being assembled at most; the oldest is evicted and counted",
                       {.min = "1"}},
                      {"max_pending_bytes", pipeline::OptionType::kBytes, "64MiB",
                       "memory of traces being assembled at most"},
                      {"max_completed_traces",
                       pipeline::OptionType::kInt,
                       "1000",
                       "analysed traces kept for the API",
                       {.min = "1"}},
                      {"window",
                       pipeline::OptionType::kDuration,
                       "5m",
                       "service-graph aggregation window (30 buckets)",
                       {.min = "30ns"}},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Exporter>> {
                trace::TraceStoreOptions o;
                o.quiet_period = ctx.options.GetDuration("quiet_period");
                o.max_trace_age = ctx.options.GetDuration("max_trace_age");
                o.max_pending_traces =
                    static_cast<size_t>(ctx.options.GetInt("max_pending_traces"));
                o.max_completed_traces =
                    static_cast<size_t>(ctx.options.GetInt("max_completed_traces"));
                o.max_pending_bytes = ctx.options.GetBytes("max_pending_bytes");
                o.window_buckets = 30;
                o.bucket = ctx.options.GetDuration("window") / 30;  // >= 1ns (window >= 30ns)
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
