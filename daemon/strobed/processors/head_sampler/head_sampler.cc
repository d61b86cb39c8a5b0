#include "strobed/processors/head_sampler/head_sampler.h"

#include <memory>

#include "strobe/base/check.h"

namespace strobed::processors {

HeadSampler::HeadSampler(HeadSamplerOptions options)
    : options_(options),
      threshold_(options.mode == HeadSamplerMode::kAlwaysOn ? 0
                 : options.mode == HeadSamplerMode::kAlwaysOff
                     ? pipeline::kMaxThreshold
                     : pipeline::RatioToThreshold(options.ratio)),
      rng_(options.seed) {}

bool HeadSampler::KeepRandom() noexcept {
  if (threshold_ == 0) return true;
  if (threshold_ >= pipeline::kMaxThreshold) return false;
  return rng_.Next56() >= threshold_;
}

bool HeadSampler::KeepSpan(const event::Span& span) noexcept {
  switch (options_.mode) {
    case HeadSamplerMode::kAlwaysOn:
      return true;
    case HeadSamplerMode::kAlwaysOff:
      return false;
    case HeadSamplerMode::kTraceIdRatio:
      return pipeline::KeepTrace(span.trace_id, threshold_);
    case HeadSamplerMode::kProbabilistic:
      return KeepRandom();
  }
  return true;
}

void HeadSampler::Process(event::BatchPtr&& batch, pipeline::ProcessContext& ctx) noexcept {
  std::size_t before = batch->size();
  std::size_t dropped = batch->RemoveSpansIf([this](const event::Span& s) { return !KeepSpan(s); });
  dropped += batch->RemoveLogsIf([this](const event::LogRecord& l) {
    if (options_.mode == HeadSamplerMode::kTraceIdRatio && l.trace_id.IsValid()) {
      return !pipeline::KeepTrace(l.trace_id, threshold_);
    }
    return !KeepRandom();
  });
  if (options_.include_metrics) {
    dropped += batch->RemoveMetricsIf([this](const event::MetricPoint&) { return !KeepRandom(); });
  }
  // Single writer (the worker): load+store instead of a locked RMW.
  kept_.store(kept_.load(std::memory_order_relaxed) + (before - dropped),
              std::memory_order_relaxed);
  if (dropped != 0) {
    dropped_.store(dropped_.load(std::memory_order_relaxed) + dropped, std::memory_order_relaxed);
    ctx.Drop(pipeline::DropReason::kSampled, dropped);
  }
  ctx.Emit(std::move(batch));
}

std::vector<pipeline::ProcessorStat> HeadSampler::Stats() const {
  double kept = static_cast<double>(kept_.load(std::memory_order_relaxed));
  double dropped = static_cast<double>(dropped_.load(std::memory_order_relaxed));
  double total = kept + dropped;
  return {
      {"sampler_kept_events_total", "", "", kept, true},
      {"sampler_dropped_events_total", "", "", dropped, true},
      {"sampler_effective_ratio", "", "", total > 0 ? kept / total : 1.0, false},
  };
}

void RegisterHeadSampler(pipeline::PluginRegistry& registry) {
  using pipeline::OptionType;
  STROBE_CHECK(
      registry
          .AddProcessor({
              .type = "head_sampler",
              .description = "Head sampling: always_on, always_off, trace_id_ratio "
                             "(OpenTelemetry TraceIdRatioBased, consistent per trace) or "
                             "probabilistic.",
              .signals = event::kSignalTraces | event::kSignalLogs,
              .options =
                  {
                      {"sampler",
                       OptionType::kString,
                       "trace_id_ratio",
                       "which sampler",
                       {.choices = {"always_on", "always_off", "trace_id_ratio", "probabilistic"}}},
                      {"ratio", OptionType::kDouble, "1.0", "keep ratio", {.min = "0", .max = "1"}},
                      {"include_metrics", OptionType::kBool, "false",
                       "also sample metric points (probabilistically)"},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Processor>> {
                HeadSamplerOptions o;
                std::string mode = ctx.options.GetString("sampler");
                if (mode == "always_on") {
                  o.mode = HeadSamplerMode::kAlwaysOn;
                } else if (mode == "always_off") {
                  o.mode = HeadSamplerMode::kAlwaysOff;
                } else if (mode == "trace_id_ratio") {
                  o.mode = HeadSamplerMode::kTraceIdRatio;
                } else {  // "probabilistic": the option's choices allow nothing else
                  o.mode = HeadSamplerMode::kProbabilistic;
                }
                o.ratio = ctx.options.GetDouble("ratio");
                o.include_metrics = ctx.options.GetBool("include_metrics");
                o.seed = ctx.seed;
                return std::unique_ptr<pipeline::Processor>(std::make_unique<HeadSampler>(o));
              },
          })
          .ok());
}

}  // namespace strobed::processors
