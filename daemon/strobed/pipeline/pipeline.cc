#include "strobed/pipeline/pipeline.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>

#include "strobe/base/check.h"
#include "strobe/metrics/histogram.h"
#include "strobe/metrics/registry.h"
#include "strobed/pipeline/sampling.h"

namespace strobed::pipeline {

namespace {

constexpr int kSpinsBeforeWait = 64;
constexpr std::size_t kMaxBatchesPerDrain = 64;

std::chrono::nanoseconds RealWait(uint64_t from_ns, uint64_t until_ns,
                                  std::chrono::nanoseconds cap) {
  if (until_ns <= from_ns) return std::chrono::nanoseconds(0);
  auto d = std::chrono::nanoseconds(static_cast<int64_t>(
      std::min<uint64_t>(until_ns - from_ns, static_cast<uint64_t>(cap.count()))));
  return d;
}

}  // namespace

std::string_view BackPressurePolicyName(BackPressurePolicy policy) {
  switch (policy) {
    case BackPressurePolicy::kBlock:
      return "block";
    case BackPressurePolicy::kDropNewest:
      return "drop_newest";
    case BackPressurePolicy::kDropOldest:
      return "drop_oldest";
    case BackPressurePolicy::kSample:
      return "sample";
  }
  return "unknown";
}

strobe::Result<BackPressurePolicy> ParseBackPressurePolicy(std::string_view name) {
  if (name == "block") return BackPressurePolicy::kBlock;
  if (name == "drop_newest") return BackPressurePolicy::kDropNewest;
  if (name == "drop_oldest") return BackPressurePolicy::kDropOldest;
  if (name == "sample") return BackPressurePolicy::kSample;
  return strobe::InvalidArgument("unknown back-pressure policy '" + std::string(name) +
                                 "' (use block, drop_newest, drop_oldest or sample)");
}

// The ProcessContext of processor `index`: Emit() runs the next stage inline on the worker.
class Pipeline::StageContext final : public ProcessContext {
 public:
  StageContext(Pipeline& p, std::size_t index) : p_(p), index_(index) {}
  void Emit(event::BatchPtr&& batch) noexcept override {
    if (!batch) return;
    p_.processor_counters_[index_]->AddForwarded(batch->size());
    p_.RunStage(index_ + 1, std::move(batch));
  }
  void Drop(DropReason reason, uint64_t events) noexcept override {
    p_.processor_counters_[index_]->AddDropped(reason, events);
  }
  uint64_t NowNs() const noexcept override { return p_.clock_->NowNs(); }

 private:
  Pipeline& p_;
  std::size_t index_;
};

Pipeline::Pipeline(PipelineOptions options, std::vector<Stage<Processor>> processors,
                   std::vector<Stage<Exporter>> exporters)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : &base::MonotonicClock::Steady()),
      pool_(options_.pool != nullptr ? options_.pool : &event::BatchPool::Default()),
      processors_(std::move(processors)),
      exporters_(std::move(exporters)),
      entry_counters_(std::make_unique<StageCounters>()),
      backoff_(options_.retry.Policy(), options_.seed ^ 0x9e3779b97f4a7c15ULL),
      shed_rate_bits_(std::bit_cast<uint64_t>(1.0)),
      latency_registry_(std::make_unique<strobe::metrics::Registry>()) {
  // A fixed, valid name in a fresh registry: registration only fails on a programming error.
  auto latency = latency_registry_->AddHistogram(
      {"strobe_pipeline_export_latency_seconds", "Ingest to export latency of batches.", "seconds"},
      {.unit_scale = 1e-9});
  STROBE_CHECK(latency.ok());
  latency_ = *latency;
  QueueOptions& q = options_.queue;
  if (q.policy == BackPressurePolicy::kDropOldest) q.single_producer = false;  // evicts = pops
  if (q.single_producer) {
    spsc_ = std::make_unique<strobe::SpscRing<event::Batch*>>(q.max_batches);
  } else {
    mpmc_ = std::make_unique<strobe::MpmcQueue<event::Batch*>>(q.max_batches);
  }
  for (std::size_t i = 0; i < processors_.size(); ++i) {
    contexts_.push_back(std::make_unique<StageContext>(*this, i));
    processor_counters_.push_back(std::make_unique<StageCounters>());
  }
  for (std::size_t i = 0; i < exporters_.size(); ++i) {
    exporter_counters_.push_back(std::make_unique<StageCounters>());
  }
  exporter_backoff_until_.assign(exporters_.size(), 0);
  exporter_parked_events_.assign(exporters_.size(), 0);
}

Pipeline::~Pipeline() {
  (void)Shutdown(std::chrono::milliseconds(1000));
  event::Batch* b = nullptr;
  while (QueueTryPop(b)) event::BatchPtr release(b);
  // Last processor first: a later stage may hold batches adopted from an earlier stage's pool
  // (tail sampler storage inside the batcher's pending batch).
  while (!processors_.empty()) processors_.pop_back();
}

strobe::Status Pipeline::Start() {
  strobe::MutexLock lock(lifecycle_mu_);
  if (started_.load() || shut_down_) return strobe::FailedPrecondition("pipeline already started");
  for (auto& p : processors_) {
    STROBE_RETURN_IF_ERROR(p.component->Start().WithContext("processor " + p.name));
  }
  for (auto& e : exporters_) {
    if (e.component) {
      STROBE_RETURN_IF_ERROR(e.component->Start().WithContext("exporter " + e.name));
    }
  }
  started_.store(true);
  worker_ = std::thread([this] { WorkerLoop(); });
  return strobe::OkStatus();
}

bool Pipeline::QueueTryPush(event::Batch* b) noexcept {
  return spsc_ ? spsc_->TryPush(b) : mpmc_->TryPush(b);
}

bool Pipeline::QueueTryPop(event::Batch*& b) noexcept {
  return spsc_ ? spsc_->TryPop(b) : mpmc_->TryPop(b);
}

bool Pipeline::Reserve(std::size_t events, std::size_t bytes) noexcept {
  // Relaxed: these are budgets, not publication; the queue cell orders the batch itself.
  uint64_t e = queued_events_.value.fetch_add(events, std::memory_order_relaxed);
  if (e != 0 && e + events > options_.queue.max_events) {
    queued_events_.value.fetch_sub(events, std::memory_order_relaxed);
    return false;
  }
  uint64_t b = queued_bytes_.value.fetch_add(bytes, std::memory_order_relaxed);
  if (b != 0 && b + bytes > options_.queue.max_bytes) {
    queued_bytes_.value.fetch_sub(bytes, std::memory_order_relaxed);
    queued_events_.value.fetch_sub(events, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void Pipeline::Unreserve(std::size_t events, std::size_t bytes) noexcept {
  queued_events_.value.fetch_sub(events, std::memory_order_relaxed);
  queued_bytes_.value.fetch_sub(bytes, std::memory_order_relaxed);
}

bool Pipeline::TryEnqueue(event::BatchPtr& batch, std::size_t events, std::size_t bytes) noexcept {
  if (!Reserve(events, bytes)) return false;
  event::Batch* raw = batch.release();
  if (QueueTryPush(raw)) return true;
  batch.reset(raw);
  Unreserve(events, bytes);
  return false;
}

double Pipeline::Fill() const noexcept {
  const QueueOptions& q = options_.queue;
  double slots = static_cast<double>(spsc_ ? spsc_->SizeApprox() : mpmc_->SizeApprox()) /
                 static_cast<double>(spsc_ ? spsc_->capacity() : mpmc_->capacity());
  double ev = static_cast<double>(queued_events_.value.load(std::memory_order_relaxed)) /
              static_cast<double>(std::max<std::size_t>(q.max_events, 1));
  double by = static_cast<double>(queued_bytes_.value.load(std::memory_order_relaxed)) /
              static_cast<double>(std::max<std::size_t>(q.max_bytes, 1));
  return std::max({slots, ev, by});
}

std::size_t Pipeline::ShedLoad(event::Batch& batch) noexcept {
  const QueueOptions& q = options_.queue;
  double fill = Fill();
  double rate = 1.0;
  if (fill > q.sample_start_fill) {
    double span = std::max(1e-9, 1.0 - q.sample_start_fill);
    rate = 1.0 - (fill - q.sample_start_fill) / span * (1.0 - q.sample_min_rate);
    rate = std::clamp(rate, q.sample_min_rate, 1.0);
  }
  shed_rate_bits_.store(std::bit_cast<uint64_t>(rate), std::memory_order_relaxed);
  if (rate >= 1.0) return 0;
  uint64_t threshold = RatioToThreshold(rate);
  std::size_t removed = batch.RemoveSpansIf(
      [threshold](const event::Span& s) { return !KeepTrace(s.trace_id, threshold); });
  // Relaxed: a per-batch stream index for the PRNG; uniqueness is all that matters.
  uint64_t stream = shed_counter_.value.fetch_add(1, std::memory_order_relaxed);
  SplitMix64 rng(options_.seed ^ (stream * 0x9e3779b97f4a7c15ULL));
  removed += batch.RemoveMetricsIf(
      [&rng, threshold](const event::MetricPoint&) { return rng.Next56() < threshold; });
  removed += batch.RemoveLogsIf(
      [&rng, threshold](const event::LogRecord&) { return rng.Next56() < threshold; });
  return removed;
}

void Pipeline::WakeWorker() noexcept {
  // Pairs with the exchange in WorkerLoop. Both are seq_cst read-modify-writes of
  // worker_sleeping_, so one of them reads the other's write: either the worker's exchange
  // comes later and synchronises with us (its queue re-check then sees our batch), or our RMW
  // comes later and reads 1 (we take the mutex and notify). An RMW rather than a fence because
  // ThreadSanitizer does not model standalone fences.
  if (worker_sleeping_.fetch_add(0) != 0) {
    std::lock_guard<std::mutex> lock(wake_mu_);
    work_cv_.notify_one();
  }
}

void Pipeline::WakeProducers() noexcept {
  // Same pattern as WakeWorker, with the blocked producer's fetch_add(1) in Push().
  if (producers_waiting_.fetch_add(0) > 0) {
    std::lock_guard<std::mutex> lock(wake_mu_);
    space_cv_.notify_all();
  }
}

void Pipeline::WakeForTest() {
  std::lock_guard<std::mutex> lock(wake_mu_);
  work_cv_.notify_one();
}

PushResult Pipeline::Refuse(event::BatchPtr&& batch, PushStatus status, RefuseReason reason,
                            std::size_t events) noexcept {
  entry_counters_->AddRefused(reason, events);
  if (batch) batch->SetCharge(nullptr, 0);  // give the memory charge back
  PushResult r;
  r.status = status;
  r.refuse_reason = reason;
  if (options_.limiter != nullptr) r.retry_after = options_.limiter->options().retry_after;
  if (r.retry_after.count() == 0) r.retry_after = std::chrono::milliseconds(1000);
  r.batch = std::move(batch);
  return r;
}

PushResult Pipeline::Push(event::BatchPtr&& batch, const PushOptions& options) noexcept {
  STROBE_DCHECK(batch != nullptr);
  active_pushes_.fetch_add(1);  // seq_cst: Shutdown reads it after setting stopping_
  struct Done {
    std::atomic<int>& n;
    ~Done() { n.fetch_sub(1); }
  } done{active_pushes_};

  const std::size_t total = batch->size();
  if (stopping_.load() || !started_.load(std::memory_order_acquire)) {
    return Refuse(std::move(batch), PushStatus::kShutdown, RefuseReason::kShutdown, total);
  }
  if (total == 0) return {};

  std::size_t bytes = batch->bytes();
  if (options_.limiter != nullptr) {
    switch (options_.limiter->TryCharge(bytes)) {
      case MemoryLimiter::Admission::kOk:
        batch->SetCharge(options_.limiter, bytes);
        break;
      case MemoryLimiter::Admission::kSoft:
        return Refuse(std::move(batch), PushStatus::kThrottled, RefuseReason::kMemorySoft, total);
      case MemoryLimiter::Admission::kHard:
        return Refuse(std::move(batch), PushStatus::kRefused, RefuseReason::kMemoryHard, total);
    }
  }
  uint64_t now = clock_->NowNs();
  batch->set_ingest_ns(now);
  StageCounters& entry = *entry_counters_;
  entry.AddReceived(total);

  const QueueOptions& q = options_.queue;
  std::size_t n = total;
  if (q.policy == BackPressurePolicy::kSample) {
    std::size_t shed = ShedLoad(*batch);
    if (shed != 0) entry.AddDropped(DropReason::kLoadShed, shed);
    n -= shed;
    if (n == 0) return PushResult{PushStatus::kDropped, RefuseReason::kCount, {}, nullptr};
  }

  if (TryEnqueue(batch, n, bytes)) {
    WakeWorker();
    return {};
  }

  switch (q.policy) {
    case BackPressurePolicy::kDropNewest:
    case BackPressurePolicy::kSample:
      entry.AddDropped(DropReason::kQueueFull, n);
      batch.reset();
      return PushResult{PushStatus::kDropped, RefuseReason::kCount, {}, nullptr};

    case BackPressurePolicy::kDropOldest: {
      for (std::size_t attempt = 0; attempt <= q.max_batches * 2; ++attempt) {
        event::Batch* old = nullptr;
        if (QueueTryPop(old)) {
          std::size_t old_n = old->size();
          Unreserve(old_n, old->bytes());
          entry.AddDropped(DropReason::kQueueEvicted, old_n);
          event::BatchPtr release(old);
        }
        if (TryEnqueue(batch, n, bytes)) {
          WakeWorker();
          return {};
        }
      }
      entry.AddDropped(DropReason::kQueueFull, n);  // lost every race against other producers
      batch.reset();
      return PushResult{PushStatus::kDropped, RefuseReason::kCount, {}, nullptr};
    }

    case BackPressurePolicy::kBlock: {
      uint64_t deadline = options.deadline_ns != 0
                              ? options.deadline_ns
                              : now + static_cast<uint64_t>(q.block_timeout.count());
      for (int i = 0; i < kSpinsBeforeWait; ++i) {
        std::this_thread::yield();
        if (TryEnqueue(batch, n, bytes)) {
          WakeWorker();
          return {};
        }
      }
      for (;;) {
        std::unique_lock<std::mutex> lock(wake_mu_);
        producers_waiting_.fetch_add(1);  // seq_cst RMW; pairs with WakeProducers
        bool ok = TryEnqueue(batch, n, bytes);
        if (!ok && !stopping_.load()) {
          uint64_t t = clock_->NowNs();
          if (t < deadline) {
            space_cv_.wait_for(lock, RealWait(t, deadline, std::chrono::milliseconds(10)));
            ok = TryEnqueue(batch, n, bytes);
          }
        }
        producers_waiting_.fetch_sub(1);
        lock.unlock();
        if (ok) {
          WakeWorker();
          return {};
        }
        if (stopping_.load()) {
          entry.received.fetch_sub(total, std::memory_order_relaxed);
          return Refuse(std::move(batch), PushStatus::kShutdown, RefuseReason::kShutdown, total);
        }
        if (clock_->NowNs() >= deadline) {
          entry.received.fetch_sub(total, std::memory_order_relaxed);
          return Refuse(std::move(batch), PushStatus::kRefused, RefuseReason::kQueueFull, total);
        }
      }
    }
  }
  return {};
}

void Pipeline::RunStage(std::size_t index, event::BatchPtr&& batch) noexcept {
  if (!batch || batch->empty()) return;
  if (index == processors_.size()) {
    ExportAll(std::move(batch));
    return;
  }
  processor_counters_[index]->AddReceived(batch->size());
  processors_[index].component->Process(std::move(batch), *contexts_[index]);
}

namespace {

// Events of `signals` (an event::Signal set) in `batch`.
std::size_t CountSignals(const event::Batch& batch, uint8_t signals) noexcept {
  std::size_t n = 0;
  if ((signals & event::kSignalTraces) != 0) n += batch.spans().size();
  if ((signals & event::kSignalMetrics) != 0) n += batch.metrics().size();
  if ((signals & event::kSignalLogs) != 0) n += batch.logs().size();
  return n;
}

constexpr std::size_t kMaxRetriesPerPass = 16;  // then drain, flush and tick get a turn

}  // namespace

void Pipeline::ExportAll(event::BatchPtr&& batch) noexcept {
  const std::size_t n = batch->size();
  const uint8_t present = batch->signals();
  for (std::size_t j = 0; j < exporters_.size(); ++j) {
    exporter_counters_[j]->AddReceived(n);
    const uint64_t until = exporter_backoff_until_[j];
    if (until != 0 && until > clock_->NowNs()) {
      // The exporter is backing off: wait with its parked batches instead of spending an
      // export timeout on a backend known to be failing.
      Park(j, *batch, present, /*attempts=*/0, until);
      continue;
    }
    uint64_t due = 0;
    const uint8_t retry = CallExporter(j, *batch, present, /*attempts=*/1, &due);
    if (retry != 0) Park(j, *batch, retry, /*attempts=*/1, due);
  }
  uint64_t ingest = batch->ingest_ns();
  if (ingest != 0) {
    uint64_t now = clock_->NowNs();
    uint64_t lat = now > ingest ? now - ingest : 0;
    latency_->RecordUnsigned(lat);  // lock-free, the worker's own shard
  }
}

uint8_t Pipeline::CallExporter(std::size_t j, const event::Batch& batch, uint8_t signals,
                               int attempts, uint64_t* due_ns) noexcept {
  Stage<Exporter>& stage = exporters_[j];
  Exporter* exporter = stage.component ? stage.component.get() : stage.shared;
  StageCounters& c = *exporter_counters_[j];
  c.in_flight.store(exporter_parked_events_[j] + CountSignals(batch, signals),
                    std::memory_order_relaxed);
  ExportResult r;
  if (stage.shared_mu != nullptr) {
    std::lock_guard<std::mutex> lock(*stage.shared_mu);
    r = exporter->Export(batch);
  } else {
    r = exporter->Export(batch);
  }
  const uint8_t ok = r.Signals(ExportOutcome::kOk, signals);
  uint64_t evicted = 0;
  for (event::Signal s : {event::kSignalTraces, event::kSignalMetrics, event::kSignalLogs}) {
    if ((ok & s) != 0) evicted += std::min<uint64_t>(r.evicted(s), CountSignals(batch, s));
  }
  c.AddForwarded(CountSignals(batch, ok) - evicted);
  c.AddDropped(DropReason::kExporterEvicted, evicted);
  c.AddDropped(DropReason::kExportFailed,
               CountSignals(batch, r.Signals(ExportOutcome::kFailed, signals)));
  const uint8_t retry = r.Signals(ExportOutcome::kRetry, signals);
  const uint64_t now = clock_->NowNs();
  uint8_t parked = 0;
  if (retry == 0) {
    // The backend answered: whatever waited for it may go now.
    if (exporter_backoff_until_[j] != 0) {
      exporter_backoff_until_[j] = 0;
      for (Parked& p : parked_) {
        if (p.exporter == j) p.due_ns = std::min(p.due_ns, now);
      }
    }
  } else if (backoff_.Exhausted(attempts)) {
    c.AddDropped(DropReason::kRetryExhausted, CountSignals(batch, retry));
  } else if (abort_drain_.load(std::memory_order_relaxed)) {
    c.AddDropped(DropReason::kShutdown, CountSignals(batch, retry));
  } else {
    std::chrono::nanoseconds hint{0};
    for (event::Signal s : {event::kSignalTraces, event::kSignalMetrics, event::kSignalLogs}) {
      if ((retry & s) != 0) hint = std::max(hint, r.retry_after(s));
    }
    const auto delay = static_cast<uint64_t>(backoff_.Delay(attempts, hint).count());
    *due_ns = now + delay;
    exporter_backoff_until_[j] = std::max(exporter_backoff_until_[j], *due_ns);
    parked = retry;
  }
  SetInFlight(j);
  return parked;
}

void Pipeline::Park(std::size_t j, const event::Batch& batch, uint8_t signals, int attempts,
                    uint64_t due_ns) noexcept {
  StageCounters& c = *exporter_counters_[j];
  const std::size_t n = CountSignals(batch, signals);
  if (n == 0) return;
  const RetryOptions& o = options_.retry;
  if (parked_.size() >= o.max_parked_batches || parked_events_total_ + n > o.max_parked_events) {
    c.AddDropped(DropReason::kRetryQueueFull, n);
    return;
  }
  // A copy of just the signals to re-send: the original batch goes on to other exporters and
  // back to its pool, and a later attempt must not re-send what was delivered.
  event::BatchPtr copy = pool_->Acquire();
  event::EventCopier copier(*copy, batch);
  if ((signals & event::kSignalTraces) != 0) {
    for (const auto& e : batch.spans()) copier.CopySpan(e);
  }
  if ((signals & event::kSignalMetrics) != 0) {
    for (const auto& e : batch.metrics()) copier.CopyMetric(e);
  }
  if ((signals & event::kSignalLogs) != 0) {
    for (const auto& e : batch.logs()) copier.CopyLog(e);
  }
  const std::size_t bytes = copy->bytes();
  if (parked_bytes_total_ + bytes > o.max_parked_bytes) {
    c.AddDropped(DropReason::kRetryQueueFull, n);
    return;
  }
  copy->set_ingest_ns(batch.ingest_ns());
  parked_.push_back(Parked{std::move(copy), j, attempts, due_ns, n, bytes});
  parked_events_total_ += n;
  parked_bytes_total_ += bytes;
  exporter_parked_events_[j] += n;
  SetInFlight(j);
}

bool Pipeline::RetryDue(bool drop_all) noexcept {
  bool called = false;
  std::size_t calls = 0;
  for (std::size_t i = 0; i < parked_.size();) {
    const uint64_t now = clock_->NowNs();
    Parked& p = parked_[i];
    const std::size_t j = p.exporter;
    const bool drop = drop_all || abort_drain_.load(std::memory_order_relaxed);
    if (!drop && (p.due_ns > now || calls >= kMaxRetriesPerPass)) {
      ++i;
      continue;
    }
    if (!drop && exporter_backoff_until_[j] > now) {
      // Another attempt to this exporter failed since `p` became due: wait with it.
      p.due_ns = exporter_backoff_until_[j];
      ++i;
      continue;
    }
    Parked entry = std::move(p);
    if (i + 1 != parked_.size()) parked_[i] = std::move(parked_.back());
    parked_.pop_back();
    parked_events_total_ -= entry.events;
    parked_bytes_total_ -= entry.bytes;
    exporter_parked_events_[j] -= entry.events;
    if (drop) {
      exporter_counters_[j]->AddDropped(DropReason::kShutdown, entry.events);
      SetInFlight(j);
      continue;
    }
    called = true;
    ++calls;
    const uint8_t signals = entry.batch->signals();
    uint64_t due = 0;
    const uint8_t retry = CallExporter(j, *entry.batch, signals, entry.attempts + 1, &due);
    if (retry == signals) {  // all of it again: re-park in place, no copy
      entry.attempts += 1;
      entry.due_ns = due;
      parked_events_total_ += entry.events;
      parked_bytes_total_ += entry.bytes;
      exporter_parked_events_[j] += entry.events;
      parked_.push_back(std::move(entry));
      SetInFlight(j);
    } else if (retry != 0) {
      Park(j, *entry.batch, retry, entry.attempts + 1, due);
    }
    // Entries moved into slot i (or appended) are visited by this same loop.
  }
  return called;
}

uint64_t Pipeline::NextRetry() const noexcept {
  uint64_t next = kNoDeadline;
  for (const Parked& p : parked_) next = std::min(next, p.due_ns);
  return next;
}

void Pipeline::SetInFlight(std::size_t j) noexcept {
  exporter_counters_[j]->in_flight.store(exporter_parked_events_[j], std::memory_order_relaxed);
}

uint64_t Pipeline::NextDeadline() const noexcept {
  uint64_t next = kNoDeadline;
  for (const auto& p : processors_) next = std::min(next, p.component->NextDeadlineNs());
  return next;
}

void Pipeline::Tick(bool force_flush) noexcept {
  uint64_t now = clock_->NowNs();
  for (std::size_t i = 0; i < processors_.size(); ++i) {
    Processor& p = *processors_[i].component;
    if (force_flush) {
      p.Flush(*contexts_[i]);
    } else if (p.NextDeadlineNs() <= now) {
      p.OnTick(*contexts_[i]);
    }
  }
}

bool Pipeline::DrainOnce() {
  bool any = false;
  for (std::size_t k = 0; k < kMaxBatchesPerDrain; ++k) {
    event::Batch* raw = nullptr;
    if (!QueueTryPop(raw)) break;
    any = true;
    event::BatchPtr batch(raw);
    std::size_t n = batch->size();
    Unreserve(n, batch->bytes());
    WakeProducers();
    if (abort_drain_.load(std::memory_order_relaxed)) {
      entry_counters_->AddDropped(DropReason::kShutdown, n);
      continue;
    }
    entry_counters_->AddForwarded(n);
    RunStage(0, std::move(batch));
  }
  return any;
}

void Pipeline::WorkerLoop() {
  for (;;) {
    bool did = DrainOnce();
    did = RetryDue(/*drop_all=*/false) || did;
    uint64_t now = clock_->NowNs();
    uint64_t want_flush = flush_requested_.load();
    if (want_flush != flush_done_.load()) {
      Tick(/*force_flush=*/true);
      for (auto& e : exporters_) {
        Exporter* ex = e.component ? e.component.get() : e.shared;
        (void)ex->Flush(std::chrono::milliseconds(1000));
      }
      {
        std::lock_guard<std::mutex> lock(wake_mu_);
        flush_done_.store(want_flush);
      }
      flush_cv_.notify_all();
    } else if (NextDeadline() <= now) {
      Tick(/*force_flush=*/false);
    }
    if (did) continue;
    bool empty = (spsc_ ? spsc_->SizeApprox() : mpmc_->SizeApprox()) == 0;
    if (stopping_.load() && active_pushes_.load() == 0 && empty) break;

    std::unique_lock<std::mutex> lock(wake_mu_);
    worker_sleeping_.exchange(1);  // seq_cst RMW; pairs with WakeWorker
    empty = (spsc_ ? spsc_->SizeApprox() : mpmc_->SizeApprox()) == 0;
    if (empty && !stopping_.load() && flush_requested_.load() == flush_done_.load()) {
      uint64_t t = clock_->NowNs();
      uint64_t next = std::min(NextDeadline(), NextRetry());
      auto wait =
          next == kNoDeadline ? options_.max_idle_wait : RealWait(t, next, options_.max_idle_wait);
      if (wait.count() > 0) work_cv_.wait_for(lock, wait);
    } else if (empty && stopping_.load()) {
      // Waiting for in-progress pushes to finish.
      work_cv_.wait_for(lock, std::chrono::microseconds(100));
    }
    worker_sleeping_.store(0, std::memory_order_relaxed);  // a stale 1 only costs a notify
  }
  // Drained: push everything held downstream, then flush the exporters.
  Tick(/*force_flush=*/true);
  for (auto& e : exporters_) {
    Exporter* ex = e.component ? e.component.get() : e.shared;
    (void)ex->Flush(std::chrono::milliseconds(1000));
  }
  // Parked events keep their schedule until they are delivered, exhausted, or the shutdown
  // deadline passes (Shutdown sets abort_drain_ and wakes us; RetryDue then drops them).
  while (!parked_.empty()) {
    if (RetryDue(/*drop_all=*/false)) continue;
    std::unique_lock<std::mutex> lock(wake_mu_);
    if (abort_drain_.load()) continue;
    auto wait = RealWait(clock_->NowNs(), NextRetry(), options_.max_idle_wait);
    if (wait.count() > 0) work_cv_.wait_for(lock, wait);
  }
  worker_done_.store(true);
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    flush_done_.store(flush_requested_.load());
  }
  flush_cv_.notify_all();
}

strobe::Status Pipeline::Flush(std::chrono::milliseconds deadline) {
  if (!started_.load() || worker_done_.load()) return strobe::OkStatus();
  uint64_t target = flush_requested_.fetch_add(1) + 1;
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    work_cv_.notify_one();
  }
  std::unique_lock<std::mutex> lock(wake_mu_);
  bool ok = flush_cv_.wait_for(lock, deadline, [&] { return flush_done_.load() >= target; });
  if (!ok) return strobe::DeadlineExceeded("pipeline '" + options_.name + "' flush timed out");
  return strobe::OkStatus();
}

strobe::Status Pipeline::Shutdown(std::chrono::milliseconds deadline) {
  strobe::MutexLock lifecycle(lifecycle_mu_);
  if (shut_down_) return strobe::OkStatus();
  shut_down_ = true;
  auto until = std::chrono::steady_clock::now() + deadline;
  stopping_.store(true);
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    space_cv_.notify_all();
    work_cv_.notify_one();
  }
  strobe::Status status;
  if (started_.load()) {
    while (!worker_done_.load() && std::chrono::steady_clock::now() < until) {
      std::unique_lock<std::mutex> lock(wake_mu_);
      flush_cv_.wait_for(lock, std::chrono::milliseconds(1),
                         [this] { return worker_done_.load(); });
    }
    if (!worker_done_.load()) {
      abort_drain_.store(true);
      {
        std::lock_guard<std::mutex> lock(wake_mu_);
        work_cv_.notify_all();
      }
      // An export blocked on a backend that does not answer would hold the join below for
      // its own timeout (a 30 s request past a 2 s grace): end it now.
      for (auto& e : exporters_) {
        Exporter* ex = e.component ? e.component.get() : e.shared;
        ex->Cancel();
      }
    }
    worker_.join();
  }
  // Anything left (pushes that raced with a never-started pipeline) is dropped and counted.
  event::Batch* raw = nullptr;
  while (QueueTryPop(raw)) {
    event::BatchPtr batch(raw);
    Unreserve(batch->size(), batch->bytes());
    entry_counters_->AddDropped(DropReason::kShutdown, batch->size());
  }
  // Every stage counts reason shutdown only from here (abort_drain_ or a never-started
  // pipeline), so the total is what this shutdown dropped; an event dropped by two exporters
  // of the pipeline counts twice, as in strobe_pipeline_dropped_events_total.
  uint64_t dropped = entry_counters_->dropped[static_cast<std::size_t>(DropReason::kShutdown)];
  for (const auto& c : processor_counters_) {
    dropped += c->dropped[static_cast<std::size_t>(DropReason::kShutdown)];
  }
  for (const auto& c : exporter_counters_) {
    dropped += c->dropped[static_cast<std::size_t>(DropReason::kShutdown)];
  }
  if (abort_drain_.load() || dropped != 0) {
    status = strobe::DeadlineExceeded("pipeline '" + options_.name +
                                      "' did not drain before the shutdown deadline; dropped " +
                                      std::to_string(dropped) + " events (reason shutdown)");
  }
  auto remaining = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    return std::max(left, std::chrono::milliseconds(0));
  };
  for (auto& p : processors_) {
    strobe::Status s = p.component->Shutdown(remaining());
    if (!s.ok() && status.ok()) status = s.WithContext("processor " + p.name);
  }
  for (auto& e : exporters_) {
    if (!e.component) continue;  // shared exporters are shut down by their owner
    strobe::Status s = e.component->Shutdown(remaining());
    if (!s.ok() && status.ok()) status = s.WithContext("exporter " + e.name);
  }
  return status;
}

PipelineSnapshot Pipeline::Snapshot() const {
  PipelineSnapshot s;
  s.name = options_.name;
  s.queued_events = queued_events_.value.load(std::memory_order_relaxed);
  s.queued_bytes = queued_bytes_.value.load(std::memory_order_relaxed);
  s.stages.push_back(ReadCounters("queue", *entry_counters_, s.queued_events));
  for (std::size_t i = 0; i < processors_.size(); ++i) {
    StageSnapshot st = ReadCounters("processor/" + processors_[i].name, *processor_counters_[i],
                                    processors_[i].component->HeldEvents());
    for (ProcessorStat& ps : processors_[i].component->Stats()) {
      st.extra.push_back({std::move(ps.name), std::move(ps.label_key), std::move(ps.label_value),
                          ps.value, ps.counter});
    }
    s.stages.push_back(std::move(st));
  }
  for (std::size_t i = 0; i < exporters_.size(); ++i) {
    s.stages.push_back(
        ReadCounters("exporter/" + exporters_[i].name, *exporter_counters_[i],
                     exporter_counters_[i]->in_flight.load(std::memory_order_relaxed)));
  }
  s.load_shed_rate = std::bit_cast<double>(shed_rate_bits_.load(std::memory_order_relaxed));
  // Within libstrobe's 0.55% and never outside the recorded min/max (docs/metrics.md).
  const strobe::metrics::HistogramData latency = latency_->Data();
  s.latency_p50_ns = static_cast<uint64_t>(std::llround(latency.Quantile(0.5)));
  s.latency_p99_ns = static_cast<uint64_t>(std::llround(latency.Quantile(0.99)));
  return s;
}

}  // namespace strobed::pipeline
