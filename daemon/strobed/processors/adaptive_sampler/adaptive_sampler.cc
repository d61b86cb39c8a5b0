#include "strobed/processors/adaptive_sampler/adaptive_sampler.h"

#include <algorithm>
#include <memory>

#include "strobe/base/check.h"

namespace strobed::processors {

namespace {
const char* const kClassNames[] = {"error", "slow", "base"};

void Bump(std::atomic<uint64_t>& a, uint64_t n) {
  // Single writer (the worker): load+store instead of a locked RMW; Stats() reads relaxed.
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
}  // namespace

AdaptiveSampler::AdaptiveSampler(AdaptiveSamplerOptions options)
    : options_(options),
      slow_threshold_(pipeline::RatioToThreshold(options.slow_ratio)),
      base_ratio_(options.base_ratio),
      base_threshold_(pipeline::RatioToThreshold(options.base_ratio)) {}

void AdaptiveSampler::MaybeAdjust(uint64_t now_ns) noexcept {
  if (window_start_ns_ == 0) {
    window_start_ns_ = now_ns;
    return;
  }
  auto interval = static_cast<uint64_t>(options_.adjust_interval.count());
  if (now_ns - window_start_ns_ < interval) return;
  double seconds = static_cast<double>(now_ns - window_start_ns_) / 1e9;
  if (options_.target_spans_per_second > 0) {
    double priority_rate =
        static_cast<double>(window_kept_[kError] + window_kept_[kSlow]) / seconds;
    double base_in_rate = static_cast<double>(window_in_[kBase]) / seconds;
    double budget = std::max(0.0, options_.target_spans_per_second - priority_rate);
    double ratio = base_in_rate > 0 ? budget / base_in_rate : 1.0;
    ratio = std::clamp(ratio, options_.min_ratio, 1.0);
    base_ratio_.store(ratio, std::memory_order_relaxed);
    base_threshold_ = pipeline::RatioToThreshold(ratio);
  }
  window_start_ns_ = now_ns;
  for (int c = 0; c < kClasses; ++c) window_in_[c] = window_kept_[c] = 0;
}

void AdaptiveSampler::Process(event::BatchPtr&& batch, pipeline::ProcessContext& ctx) noexcept {
  MaybeAdjust(ctx.NowNs());
  uint64_t kept[kClasses] = {};
  uint64_t dropped[kClasses] = {};
  auto latency = static_cast<uint64_t>(options_.latency_threshold.count());
  std::size_t removed = batch->RemoveSpansIf([&](const event::Span& s) {
    int c = kBase;
    bool keep = false;
    if (s.status.code == event::StatusCode::kError) {
      c = kError;
      keep = true;
    } else if (s.DurationNs() >= latency) {
      c = kSlow;
      keep = pipeline::KeepTrace(s.trace_id, slow_threshold_);
    } else {
      keep = pipeline::KeepTrace(s.trace_id, base_threshold_);
    }
    (keep ? kept : dropped)[c]++;
    return !keep;
  });
  for (int c = 0; c < kClasses; ++c) {
    window_in_[c] += kept[c] + dropped[c];
    window_kept_[c] += kept[c];
    if (kept[c] != 0) Bump(kept_[c], kept[c]);
    if (dropped[c] != 0) Bump(dropped_[c], dropped[c]);
  }
  if (removed != 0) ctx.Drop(pipeline::DropReason::kSampled, removed);
  ctx.Emit(std::move(batch));
}

std::vector<pipeline::ProcessorStat> AdaptiveSampler::Stats() const {
  std::vector<pipeline::ProcessorStat> out;
  double kept_total = 0;
  double all = 0;
  for (int c = 0; c < kClasses; ++c) {
    double k = static_cast<double>(kept_[c].load(std::memory_order_relaxed));
    double d = static_cast<double>(dropped_[c].load(std::memory_order_relaxed));
    kept_total += k;
    all += k + d;
    out.push_back({"sampler_kept_spans_total", "policy", kClassNames[c], k, true});
    out.push_back({"sampler_dropped_spans_total", "policy", kClassNames[c], d, true});
  }
  out.push_back({"sampler_effective_ratio", "", "", all > 0 ? kept_total / all : 1.0, false});
  out.push_back({"sampler_base_ratio", "", "", base_ratio(), false});
  return out;
}

void RegisterAdaptiveSampler(pipeline::PluginRegistry& registry) {
  using pipeline::OptionType;
  STROBE_CHECK(
      registry
          .AddProcessor({
              .type = "adaptive_sampler",
              .description = "Priority sampling: keeps all error spans, slow_ratio of spans "
                             "slower than latency_threshold, and a base ratio of the rest that "
                             "adapts to hold target_spans_per_second.",
              .signals = event::kSignalTraces,
              .options =
                  {
                      {"latency_threshold", OptionType::kDuration, "500ms",
                       "spans at least this long are 'slow'"},
                      {"slow_ratio",
                       OptionType::kDouble,
                       "0.5",
                       "keep ratio of slow spans",
                       {.min = "0", .max = "1"}},
                      {"base_ratio",
                       OptionType::kDouble,
                       "0.1",
                       "initial keep ratio of other spans",
                       {.min = "0", .max = "1"}},
                      {"target_spans_per_second",
                       OptionType::kDouble,
                       "0",
                       "adapt the base ratio to keep about this many spans/s (0 = fixed)",
                       {.min = "0"}},
                      {"min_ratio",
                       OptionType::kDouble,
                       "0.0001",
                       "lowest base ratio",
                       {.min = "0", .max = "1"}},
                      {"adjust_interval",
                       OptionType::kDuration,
                       "1s",
                       "how often the base ratio is recomputed",
                       {.min = "0ms", .min_exclusive = true}},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Processor>> {
                AdaptiveSamplerOptions o;
                o.latency_threshold = ctx.options.GetDuration("latency_threshold");
                o.slow_ratio = ctx.options.GetDouble("slow_ratio");
                o.base_ratio = ctx.options.GetDouble("base_ratio");
                o.target_spans_per_second = ctx.options.GetDouble("target_spans_per_second");
                o.min_ratio = ctx.options.GetDouble("min_ratio");
                o.adjust_interval = ctx.options.GetDuration("adjust_interval");
                return std::unique_ptr<pipeline::Processor>(std::make_unique<AdaptiveSampler>(o));
              },
          })
          .ok());
}

}  // namespace strobed::processors
