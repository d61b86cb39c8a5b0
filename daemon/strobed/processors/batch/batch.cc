#include "strobed/processors/batch/batch.h"

#include <memory>
#include <utility>

#include "strobe/base/check.h"

namespace strobed::processors {

void BatchProcessor::Process(event::BatchPtr&& batch, pipeline::ProcessContext& ctx) noexcept {
  if (!pending_) {
    pending_ = std::move(batch);  // the first input becomes the output: no pool round trip
    deadline_ns_ = ctx.NowNs() + static_cast<uint64_t>(options_.timeout.count());
  } else {
    pending_->Append(std::move(batch));
  }
  std::size_t n = pending_->size();
  if (n >= options_.send_batch_size) {
    EmitPending(ctx);
  } else {
    held_.store(n, std::memory_order_relaxed);
  }
}

void BatchProcessor::OnTick(pipeline::ProcessContext& ctx) noexcept {
  if (pending_ && ctx.NowNs() >= deadline_ns_) EmitPending(ctx);
}

void BatchProcessor::EmitPending(pipeline::ProcessContext& ctx) noexcept {
  deadline_ns_ = pipeline::kNoDeadline;
  if (!pending_) return;
  held_.store(0, std::memory_order_relaxed);
  ctx.Emit(std::move(pending_));
  pending_.reset();
}

void RegisterBatchProcessor(pipeline::PluginRegistry& registry) {
  using pipeline::OptionType;
  STROBE_CHECK(
      registry
          .AddProcessor({
              .type = "batch",
              .description = "Groups events into batches by size and by time before "
                             "export (zero-copy merge).",
              .signals = event::kSignalAll,
              .options =
                  {
                      {"send_batch_size",
                       OptionType::kInt,
                       "1000",
                       "emit once a batch holds at least this many events",
                       {.min = "1"}},
                      {"timeout",
                       OptionType::kDuration,
                       "100ms",
                       "emit a non-empty batch this long after its first event",
                       {.min = "0ms", .min_exclusive = true}},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Processor>> {
                BatchOptions o;
                o.send_batch_size = static_cast<std::size_t>(ctx.options.GetInt("send_batch_size"));
                o.timeout = ctx.options.GetDuration("timeout");
                return std::unique_ptr<pipeline::Processor>(std::make_unique<BatchProcessor>(o));
              },
          })
          .ok());
}

}  // namespace strobed::processors
