#include "strobed/pipeline/fanout.h"

namespace strobed::pipeline {

PushResult FanoutIngest::Push(event::BatchPtr&& batch, const PushOptions& options) noexcept {
  uint8_t present = batch->signals();
  std::size_t wanted_count = 0;
  uint8_t covered = 0;
  for (const Target& t : targets_) {
    if ((t.signals & present) != 0) {
      ++wanted_count;
      covered |= t.signals;
    }
  }
  // Events of kinds no pipeline takes are counted and removed.
  uint8_t unrouted = present & static_cast<uint8_t>(~covered);
  if (unrouted != 0) {
    uint64_t n = 0;
    if ((unrouted & event::kSignalTraces) != 0) {
      n += batch->RemoveSpansIf([](const event::Span&) { return true; });
    }
    if ((unrouted & event::kSignalMetrics) != 0) {
      n += batch->RemoveMetricsIf([](const event::MetricPoint&) { return true; });
    }
    if ((unrouted & event::kSignalLogs) != 0) {
      n += batch->RemoveLogsIf([](const event::LogRecord&) { return true; });
    }
    unrouted_.fetch_add(n, std::memory_order_relaxed);  // statistic
  }
  if (wanted_count == 0) return PushResult{PushStatus::kDropped, RefuseReason::kCount, {}, {}};

  PushResult worst;
  std::size_t seen = 0;
  for (const Target& t : targets_) {
    if ((t.signals & present) == 0) continue;
    ++seen;
    event::BatchPtr mine;
    if (seen == wanted_count) {
      mine = std::move(batch);
      StripTo(*mine, t.signals);
    } else {
      mine = pool_.Acquire();
      event::EventCopier copier(*mine, *batch);
      if ((t.signals & event::kSignalTraces) != 0) {
        for (const auto& s : batch->spans()) copier.CopySpan(s);
      }
      if ((t.signals & event::kSignalMetrics) != 0) {
        for (const auto& m : batch->metrics()) copier.CopyMetric(m);
      }
      if ((t.signals & event::kSignalLogs) != 0) {
        for (const auto& l : batch->logs()) copier.CopyLog(l);
      }
    }
    PushResult r = t.pipeline->Push(std::move(mine), options);
    if (static_cast<int>(r.status) > static_cast<int>(worst.status)) worst = std::move(r);
  }
  return worst;
}

void FanoutIngest::StripTo(event::Batch& b, uint8_t signals) {
  if ((signals & event::kSignalTraces) == 0) {
    b.RemoveSpansIf([](const event::Span&) { return true; });
  }
  if ((signals & event::kSignalMetrics) == 0) {
    b.RemoveMetricsIf([](const event::MetricPoint&) { return true; });
  }
  if ((signals & event::kSignalLogs) == 0) {
    b.RemoveLogsIf([](const event::LogRecord&) { return true; });
  }
}

ExportResult ForwardExporter::Export(const event::Batch& batch) noexcept {
  event::BatchPtr copy = pool_.Acquire();
  event::EventCopier copier(*copy, batch);
  copier.CopyAll(batch);
  PushResult r = ingest_.Push(std::move(copy), {});
  switch (r.status) {
    case PushStatus::kAccepted:
    case PushStatus::kDropped:  // counted by the downstream pipeline
      return ExportResult::kOk;
    case PushStatus::kThrottled:
    case PushStatus::kRefused:
      return ExportResult::RetryAfter(r.retry_after);  // the downstream pipeline's hint
    case PushStatus::kShutdown:
      return ExportResult::kFailed;
  }
  return ExportResult::kFailed;
}

}  // namespace strobed::pipeline
