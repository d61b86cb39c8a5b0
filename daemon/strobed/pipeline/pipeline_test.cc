#include "strobed/pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "strobed/pipeline/sampling.h"
#include "strobed/pipeline/testing.h"

namespace strobed::pipeline {
namespace {

using testing::AddSpan;
using testing::MetricBatch;
using testing::WaitFor;

// A sink that counts events and can be held shut (a gate) to fill the queue deterministically.
class GateExporter final : public Exporter {
 public:
  ExportResult Export(const event::Batch& batch) noexcept override {
    entered.fetch_add(1);
    while (closed.load()) std::this_thread::yield();
    if (!results.empty()) {
      std::lock_guard<std::mutex> lock(mu);
      ExportResult r = results.front();
      results.erase(results.begin());
      calls.fetch_add(1);
      if (r != ExportResult::kOk) return r;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& m : batch.metrics()) first_values.push_back(m.double_value);
    }
    events.fetch_add(batch.size());
    return ExportResult::kOk;
  }
  strobe::Status Shutdown(std::chrono::milliseconds) override { return strobe::OkStatus(); }
  // The pipeline cancels exports in progress once its shutdown deadline has passed.
  void Cancel() noexcept override {
    cancelled.store(true);
    if (open_on_cancel.load()) closed.store(false);
  }

  std::atomic<bool> closed{false};
  std::atomic<bool> open_on_cancel{false};  // the gate opens when the pipeline cancels
  std::atomic<bool> cancelled{false};
  std::atomic<int> entered{0};
  std::atomic<int> calls{0};
  std::atomic<uint64_t> events{0};
  std::mutex mu;
  std::vector<ExportResult> results;  // scripted results, then kOk
  std::vector<double> first_values;
};

struct Harness {
  explicit Harness(QueueOptions q, std::vector<Stage<Processor>> procs = {},
                   MemoryLimiter* limiter = nullptr, RetryOptions retry = {}) {
    auto ex = std::make_unique<GateExporter>();
    sink = ex.get();
    std::vector<Stage<Exporter>> exporters;
    exporters.push_back({"gate", std::move(ex)});
    PipelineOptions o;
    o.name = "test";
    o.queue = q;
    o.clock = &clock;
    o.pool = &pool;
    o.limiter = limiter;
    o.retry = retry;
    pipeline = std::make_unique<Pipeline>(o, std::move(procs), std::move(exporters));
    EXPECT_TRUE(pipeline->Start().ok());
  }
  // Blocks the worker inside Export() with one batch of `n` events taken off the queue.
  void JamWorker(std::size_t n) {
    sink->closed = true;
    ASSERT_TRUE(pipeline->Push(MetricBatch(pool, n)).accepted());
    ASSERT_TRUE(WaitFor([&] { return sink->entered.load() == 1; }));
  }
  void CheckBalanced() {
    PipelineSnapshot s = pipeline->Snapshot();
    for (const StageSnapshot& st : s.stages) {
      EXPECT_TRUE(st.Balanced()) << st.stage << " received=" << st.received
                                 << " forwarded=" << st.forwarded
                                 << " dropped=" << st.DroppedTotal()
                                 << " in_flight=" << st.in_flight;
    }
  }

  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  GateExporter* sink;
  std::unique_ptr<Pipeline> pipeline;
};

TEST(PipelineTest, DeliversEverythingAndBalances) {
  Harness h(QueueOptions{});
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(h.pipeline->Push(MetricBatch(h.pool, 10)).status, PushStatus::kAccepted);
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(h.sink->events.load(), 1000u);
  PipelineSnapshot s = h.pipeline->Snapshot();
  EXPECT_EQ(s.stages[0].received, 1000u);
  EXPECT_EQ(s.stages[0].forwarded, 1000u);
  EXPECT_EQ(s.stages[1].forwarded, 1000u);
  h.CheckBalanced();
}

// Ingest → export latency percentiles come from libstrobe's histogram: within its 0.55% of
// the exact order statistic (docs/metrics.md). Batch k waits k ms in the jammed worker.
TEST(PipelineTest, ExportLatencyPercentilesWithinHistogramBound) {
  Harness h(QueueOptions{});
  for (int k = 1; k <= 10; ++k) {
    h.sink->closed = true;
    ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 1)).accepted());
    ASSERT_TRUE(WaitFor([&] { return h.sink->entered.load() == k; }));
    h.clock.AdvanceNs(static_cast<uint64_t>(k) * 1'000'000);
    h.sink->closed = false;  // the worker reads the clock after this (seq_cst flag)
    ASSERT_TRUE(WaitFor([&] { return h.sink->events.load() == static_cast<uint64_t>(k); }));
  }
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  PipelineSnapshot s = h.pipeline->Snapshot();
  EXPECT_NEAR(static_cast<double>(s.latency_p50_ns), 5e6, 5e6 * 0.0055);
  EXPECT_NEAR(static_cast<double>(s.latency_p99_ns), 10e6, 10e6 * 0.0055);
}

TEST(PipelineTest, DropNewestCountsExactly) {
  QueueOptions q;
  q.max_batches = 4;
  q.policy = BackPressurePolicy::kDropNewest;
  Harness h(q);
  h.JamWorker(7);
  int dropped_pushes = 0;
  for (int i = 0; i < 10; ++i) {
    PushResult r = h.pipeline->Push(MetricBatch(h.pool, 7));
    if (r.status == PushStatus::kDropped) ++dropped_pushes;
  }
  EXPECT_EQ(dropped_pushes, 6);
  PipelineSnapshot s = h.pipeline->Snapshot();
  EXPECT_EQ(s.stages[0].Dropped(DropReason::kQueueFull), 6u * 7);
  EXPECT_EQ(s.stages[0].in_flight, 4u * 7);
  h.CheckBalanced();
  h.sink->closed = false;
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(h.sink->events.load(), 5u * 7);
  h.CheckBalanced();
}

TEST(PipelineTest, DropOldestEvictsTheOldestAndCountsExactly) {
  QueueOptions q;
  q.max_batches = 4;
  q.policy = BackPressurePolicy::kDropOldest;
  Harness h(q);
  h.JamWorker(1);  // value 0
  for (int i = 1; i <= 10; ++i) {
    event::BatchPtr b = h.pool.Acquire();
    testing::AddGauge(*b, "m", i);
    EXPECT_EQ(h.pipeline->Push(std::move(b)).status, PushStatus::kAccepted);
  }
  PipelineSnapshot s = h.pipeline->Snapshot();
  EXPECT_EQ(s.stages[0].Dropped(DropReason::kQueueEvicted), 6u);
  h.sink->closed = false;
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  std::lock_guard<std::mutex> lock(h.sink->mu);
  EXPECT_EQ(h.sink->first_values, (std::vector<double>{0, 7, 8, 9, 10}));
  h.CheckBalanced();
}

TEST(PipelineTest, EventBudgetLimitsTheQueue) {
  QueueOptions q;
  q.max_batches = 1024;
  q.max_events = 100;
  q.policy = BackPressurePolicy::kDropNewest;
  Harness h(q);
  h.JamWorker(1);
  for (int i = 0; i < 30; ++i) (void)h.pipeline->Push(MetricBatch(h.pool, 10));
  PipelineSnapshot s = h.pipeline->Snapshot();
  EXPECT_EQ(s.queued_events, 100u);
  EXPECT_EQ(s.stages[0].Dropped(DropReason::kQueueFull), 200u);
  h.sink->closed = false;
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(h.sink->events.load(), 101u);
  h.CheckBalanced();
}

TEST(PipelineTest, SamplePolicyShedsUnderLoadAndCountsEverything) {
  QueueOptions q;
  q.max_batches = 64;
  q.max_events = 1000;
  q.policy = BackPressurePolicy::kSample;
  q.sample_start_fill = 0.2;
  q.sample_min_rate = 0.05;
  Harness h(q);
  h.JamWorker(1);
  pipeline::SplitMix64 rng(42);
  uint64_t pushed = 0;
  for (int i = 0; i < 100; ++i) {
    event::BatchPtr b = h.pool.Acquire();
    for (int j = 0; j < 50; ++j) {
      testing::SpanSpec spec;
      spec.trace_id = event::TraceId::FromHalves(rng.Next(), rng.Next());
      AddSpan(*b, spec);
    }
    pushed += 50;
    (void)h.pipeline->Push(std::move(b));
  }
  PipelineSnapshot s = h.pipeline->Snapshot();
  EXPECT_GT(s.stages[0].Dropped(DropReason::kLoadShed), 0u);
  EXPECT_LT(s.load_shed_rate, 1.0);
  h.sink->closed = false;
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  s = h.pipeline->Snapshot();
  EXPECT_EQ(s.stages[0].received, pushed + 1);
  EXPECT_EQ(h.sink->events.load() + s.stages[0].DroppedTotal(), pushed + 1);
  h.CheckBalanced();
}

TEST(PipelineTest, BlockPolicyRefusesAtTheDeadline) {
  QueueOptions q;
  q.max_batches = 2;
  q.policy = BackPressurePolicy::kBlock;
  Harness h(q);
  h.JamWorker(3);
  ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 3)).accepted());
  ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 3)).accepted());
  PushOptions opts;
  opts.deadline_ns = h.clock.NowNs();  // already due: no waiting
  PushResult r = h.pipeline->Push(MetricBatch(h.pool, 3), opts);
  EXPECT_EQ(r.status, PushStatus::kRefused);
  EXPECT_EQ(r.refuse_reason, RefuseReason::kQueueFull);
  ASSERT_NE(r.batch, nullptr);  // handed back for a retry
  EXPECT_EQ(r.batch->size(), 3u);
  EXPECT_EQ(h.pipeline->Snapshot().stages[0].Refused(RefuseReason::kQueueFull), 3u);
  h.sink->closed = false;
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(h.sink->events.load(), 9u);
  h.CheckBalanced();
}

TEST(PipelineTest, MemoryLimiterThrottlesAboveSoftAndRefusesAboveHard) {
  event::BatchPool pool;
  std::size_t one = MetricBatch(pool, 10)->bytes();
  MemoryLimiterOptions mo;
  mo.soft_limit_bytes = one * 2;
  mo.hard_limit_bytes = one * 3 - 1;
  mo.retry_after = std::chrono::milliseconds(250);
  MemoryLimiter limiter(mo);
  QueueOptions q;
  Harness h(q, {}, &limiter);
  h.sink->closed = true;
  ASSERT_EQ(h.pipeline->Push(MetricBatch(h.pool, 10)).status, PushStatus::kAccepted);
  EXPECT_EQ(limiter.used_bytes(), one);
  // A bigger batch would pass the soft check but exceed the hard limit.
  PushResult big = h.pipeline->Push(MetricBatch(h.pool, 500));
  EXPECT_EQ(big.status, PushStatus::kRefused);
  EXPECT_EQ(big.refuse_reason, RefuseReason::kMemoryHard);
  EXPECT_EQ(big.retry_after, std::chrono::milliseconds(250));
  ASSERT_EQ(h.pipeline->Push(MetricBatch(h.pool, 10)).status, PushStatus::kAccepted);
  EXPECT_EQ(limiter.used_bytes(), 2 * one);
  PushResult slow = h.pipeline->Push(MetricBatch(h.pool, 10));
  EXPECT_EQ(slow.status, PushStatus::kThrottled);
  EXPECT_EQ(slow.refuse_reason, RefuseReason::kMemorySoft);
  EXPECT_NE(slow.batch, nullptr);
  EXPECT_LE(limiter.peak_bytes(), mo.hard_limit_bytes);
  PipelineSnapshot s = h.pipeline->Snapshot();
  EXPECT_EQ(s.stages[0].Refused(RefuseReason::kMemoryHard), 500u);
  EXPECT_EQ(s.stages[0].Refused(RefuseReason::kMemorySoft), 10u);
  h.sink->closed = false;
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(limiter.used_bytes(), 0u);  // every charge came back
  EXPECT_EQ(h.sink->events.load(), 20u);
  h.CheckBalanced();
}

TEST(PipelineTest, RetriesThenSucceeds) {
  RetryOptions retry;
  retry.max_attempts = 3;
  retry.initial_backoff = std::chrono::nanoseconds(0);
  Harness h(QueueOptions{}, {}, nullptr, retry);
  h.sink->results = {ExportResult::kRetry, ExportResult::kRetry};
  ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 5)).accepted());
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(h.sink->events.load(), 5u);
  EXPECT_EQ(h.pipeline->Snapshot().stages[1].forwarded, 5u);
}

TEST(PipelineTest, RetryBudgetAndPermanentFailureAreDropsWithReasons) {
  RetryOptions retry;
  retry.max_attempts = 2;
  retry.initial_backoff = std::chrono::nanoseconds(0);
  Harness h(QueueOptions{}, {}, nullptr, retry);
  h.sink->results = {ExportResult::kRetry, ExportResult::kRetry, ExportResult::kFailed};
  ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 5)).accepted());
  ASSERT_TRUE(WaitFor([&] { return h.sink->calls.load() == 2; }));
  ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 7)).accepted());
  ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 11)).accepted());
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  StageSnapshot ex = h.pipeline->Snapshot().stages[1];
  EXPECT_EQ(ex.Dropped(DropReason::kRetryExhausted), 5u);
  EXPECT_EQ(ex.Dropped(DropReason::kExportFailed), 7u);
  EXPECT_EQ(ex.forwarded, 11u);
  h.CheckBalanced();
}

// Drops every other event and holds the last odd batch until flushed: exercises the
// accounting of a processor that emits, drops and holds.
class HalvingProcessor final : public Processor {
 public:
  void Process(event::BatchPtr&& batch, ProcessContext& ctx) noexcept override {
    bool keep = false;
    std::size_t removed = batch->RemoveMetricsIf([&keep](const event::MetricPoint&) {
      keep = !keep;
      return !keep;
    });
    ctx.Drop(DropReason::kSampled, removed);
    if (held_) ctx.Emit(std::move(held_));
    held_ = std::move(batch);
    held_events_.store(held_->size());
  }
  void Flush(ProcessContext& ctx) noexcept override {
    held_events_.store(0);
    if (held_) ctx.Emit(std::move(held_));
  }
  uint64_t HeldEvents() const noexcept override { return held_events_.load(); }

 private:
  event::BatchPtr held_;
  std::atomic<uint64_t> held_events_{0};
};

TEST(PipelineTest, StatsInvariantHoldsForEveryStage) {
  std::vector<Stage<Processor>> procs;
  procs.push_back({"halving", std::make_unique<HalvingProcessor>()});
  Harness h(QueueOptions{}, std::move(procs));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 10)).accepted());
  ASSERT_TRUE(WaitFor([&] { return h.sink->events.load() == 19u * 5; }));
  PipelineSnapshot s = h.pipeline->Snapshot();
  ASSERT_EQ(s.stages.size(), 3u);
  EXPECT_EQ(s.stages[1].in_flight, 5u);  // the held batch
  EXPECT_EQ(s.stages[1].Dropped(DropReason::kSampled), 100u);
  h.CheckBalanced();
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(h.sink->events.load(), 100u);
  h.CheckBalanced();
}

TEST(PipelineTest, ShutdownRefusesNewPushesAndHandsTheBatchBack) {
  Harness h(QueueOptions{});
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  PushResult r = h.pipeline->Push(MetricBatch(h.pool, 4));
  EXPECT_EQ(r.status, PushStatus::kShutdown);
  ASSERT_NE(r.batch, nullptr);
  EXPECT_EQ(h.pipeline->Snapshot().stages[0].Refused(RefuseReason::kShutdown), 4u);
}

TEST(PipelineTest, ShutdownDeadlineDropsWhatIsQueuedWithReason) {
  QueueOptions q;
  Harness h(q);
  h.JamWorker(2);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 2)).accepted());
  // The deadline passes while the sink is jammed; the sink recovers only when the pipeline
  // cancels it, which it does after the deadline (no timing assumption about the machine).
  h.sink->open_on_cancel = true;
  strobe::Status st = h.pipeline->Shutdown(std::chrono::milliseconds(10));
  EXPECT_TRUE(h.sink->cancelled.load());
  EXPECT_EQ(st.code(), strobe::StatusCode::kDeadlineExceeded);
  PipelineSnapshot s = h.pipeline->Snapshot();
  EXPECT_EQ(s.stages[0].Dropped(DropReason::kShutdown), 10u);
  EXPECT_EQ(h.sink->events.load(), 2u);
  h.CheckBalanced();
}

// An exporter whose Export waits for a backend that never answers, up to its own timeout,
// unless Cancel() ends the wait.
class HangingExporter final : public Exporter {
 public:
  ExportResult Export(const event::Batch&) noexcept override {
    std::unique_lock<std::mutex> lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(20), [this] { return cancelled; });
    return ExportResult::kRetry;
  }
  void Cancel() noexcept override {
    std::lock_guard<std::mutex> lock(mu);
    cancelled = true;
    cv.notify_all();
  }
  strobe::Status Shutdown(std::chrono::milliseconds) override { return strobe::OkStatus(); }

  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool cancelled = false;
};

// SIGTERM with a dead backend took the exporter's timeout past the grace period, and the log
// said "remaining data dropped" without a number: the shutdown deadline now cancels the
// export, and the status names every event dropped.
TEST(PipelineTest, ShutdownDeadlineCancelsABlockedExportAndCountsTheDrop) {
  auto ex = std::make_unique<HangingExporter>();
  HangingExporter* hang = ex.get();
  std::vector<Stage<Exporter>> exporters;
  exporters.push_back({"hang", std::move(ex)});
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  PipelineOptions o;
  o.name = "p";
  o.clock = &clock;
  o.pool = &pool;
  Pipeline p(o, {}, std::move(exporters));
  ASSERT_TRUE(p.Start().ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.Push(MetricBatch(pool, 2)).accepted());
  {
    std::unique_lock<std::mutex> lock(hang->mu);
    ASSERT_TRUE(hang->cv.wait_for(lock, std::chrono::seconds(10), [&] { return hang->entered; }));
  }
  const auto start = std::chrono::steady_clock::now();
  strobe::Status st = p.Shutdown(std::chrono::milliseconds(20));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));  // not 20 s
  EXPECT_EQ(st.code(), strobe::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(st.message(),
            "pipeline 'p' did not drain before the shutdown deadline; dropped 6 events (reason "
            "shutdown)");
  PipelineSnapshot s = p.Snapshot();
  EXPECT_EQ(s.stages[0].Dropped(DropReason::kShutdown), 4u);  // still queued
  EXPECT_EQ(s.stages[1].Dropped(DropReason::kShutdown), 2u);  // inside the export
  for (const StageSnapshot& stage : s.stages) EXPECT_TRUE(stage.Balanced()) << stage.stage;
}

TEST(PipelineTest, SingleProducerRingDelivers) {
  QueueOptions q;
  q.single_producer = true;
  q.max_batches = 8;
  Harness h(q);
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 3)).accepted());
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(h.sink->events.load(), 1500u);
  h.CheckBalanced();
}

// Export retry owned by the pipeline (exporter.h, pipeline.h): the tests drive time with the
// ManualMonotonicClock; Settle() makes the worker run a full loop (drain, due retries) after the
// clock moved.

// An exporter that answers from a script (then `otherwise`) and records what each call got.
class ScriptedExporter final : public Exporter {
 public:
  struct Call {
    std::size_t spans = 0, metrics = 0, logs = 0;
  };
  ExportResult Export(const event::Batch& batch) noexcept override {
    std::lock_guard<std::mutex> lock(mu);
    calls.push_back({batch.spans().size(), batch.metrics().size(), batch.logs().size()});
    if (script.empty()) return otherwise;
    ExportResult r = script.front();
    script.erase(script.begin());
    return r;
  }
  strobe::Status Shutdown(std::chrono::milliseconds) override { return strobe::OkStatus(); }
  std::vector<Call> Calls() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
  std::size_t CallCount() { return Calls().size(); }

  std::mutex mu;
  std::vector<ExportResult> script;
  ExportResult otherwise = ExportResult::kOk;
  std::vector<Call> calls;
};

struct RetryHarness {
  explicit RetryHarness(RetryOptions retry, int exporters = 1) {
    std::vector<Stage<Exporter>> stages;
    for (int i = 0; i < exporters; ++i) {
      auto ex = std::make_unique<ScriptedExporter>();
      sinks.push_back(ex.get());
      stages.push_back({"scripted" + std::to_string(i), std::move(ex)});
    }
    PipelineOptions o;
    o.name = "retry";
    o.clock = &clock;
    o.pool = &pool;
    o.retry = retry;
    pipeline = std::make_unique<Pipeline>(o, std::vector<Stage<Processor>>{}, std::move(stages));
    EXPECT_TRUE(pipeline->Start().ok());
  }
  void Settle() {
    ASSERT_TRUE(pipeline->Flush(std::chrono::seconds(10)).ok());
    ASSERT_TRUE(pipeline->Flush(std::chrono::seconds(10)).ok());
  }
  StageSnapshot ExporterStage(std::size_t i = 0) { return pipeline->Snapshot().stages[1 + i]; }
  void CheckBalanced() {
    for (const StageSnapshot& st : pipeline->Snapshot().stages) {
      EXPECT_TRUE(st.Balanced()) << st.stage << " received=" << st.received
                                 << " forwarded=" << st.forwarded
                                 << " dropped=" << st.DroppedTotal()
                                 << " in_flight=" << st.in_flight;
    }
  }

  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  std::vector<ScriptedExporter*> sinks;
  std::unique_ptr<Pipeline> pipeline;
};

RetryOptions FastRetry(int attempts) {
  RetryOptions r;
  r.max_attempts = attempts;
  r.initial_backoff = std::chrono::nanoseconds(0);
  return r;
}

TEST(PipelineRetryTest, FollowsTheExportersRetryAfter) {
  RetryOptions retry;
  retry.initial_backoff = std::chrono::milliseconds(10);  // would retry far sooner on its own
  RetryHarness h(retry);
  h.sinks[0]->script = {ExportResult::RetryAfter(std::chrono::seconds(2))};
  ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 5)).accepted());
  h.Settle();
  ASSERT_EQ(h.sinks[0]->CallCount(), 1u);
  EXPECT_EQ(h.ExporterStage().in_flight, 5u);  // parked, not lost
  h.clock.AdvanceNs(1'999'000'000);
  h.Settle();
  EXPECT_EQ(h.sinks[0]->CallCount(), 1u) << "retried before the backend's Retry-After";
  h.clock.AdvanceNs(1'000'000);
  h.Settle();
  ASSERT_EQ(h.sinks[0]->CallCount(), 2u);
  EXPECT_EQ(h.ExporterStage().forwarded, 5u);
  EXPECT_EQ(h.ExporterStage().in_flight, 0u);
  h.CheckBalanced();
}

TEST(PipelineRetryTest, BackoffGrowsWithJitterOnTheInjectedClock) {
  RetryOptions retry;
  retry.max_attempts = 4;
  retry.initial_backoff = std::chrono::milliseconds(100);
  retry.max_backoff = std::chrono::seconds(10);
  RetryHarness h(retry);
  h.sinks[0]->otherwise = ExportResult::kRetry;
  ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 3)).accepted());
  h.Settle();
  ASSERT_EQ(h.sinks[0]->CallCount(), 1u);
  // Retry k waits within [base/2, base], base = 100ms * 2^(k-1): nothing before base/2,
  // the retry by base.
  uint64_t base_ms = 100;
  for (std::size_t call = 2; call <= 4; ++call, base_ms *= 2) {
    h.clock.AdvanceNs(base_ms / 2 * 1'000'000 - 1);
    h.Settle();
    EXPECT_EQ(h.sinks[0]->CallCount(), call - 1);
    h.clock.AdvanceNs(base_ms / 2 * 1'000'000 + 1);
    h.Settle();
    EXPECT_EQ(h.sinks[0]->CallCount(), call);
  }
  // The fourth attempt failed: the batch is lost, and counted once.
  EXPECT_EQ(h.ExporterStage().Dropped(DropReason::kRetryExhausted), 3u);
  EXPECT_EQ(h.ExporterStage().in_flight, 0u);
  h.CheckBalanced();
}

TEST(PipelineRetryTest, ResendsOnlyTheFailedSignal) {
  RetryHarness h(FastRetry(5));
  ExportResult first;  // traces delivered, metrics to retry
  first.Set(event::kSignalMetrics, ExportOutcome::kRetry);
  h.sinks[0]->script = {first};
  event::BatchPtr b = MetricBatch(h.pool, 4);
  for (uint64_t i = 1; i <= 3; ++i) {
    testing::SpanSpec span;
    span.span_id = i;
    testing::AddSpan(*b, span);
  }
  testing::AddLog(*b, "x");
  ASSERT_TRUE(h.pipeline->Push(std::move(b)).accepted());
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  auto calls = h.sinks[0]->Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].spans, 3u);
  EXPECT_EQ(calls[0].metrics, 4u);
  EXPECT_EQ(calls[0].logs, 1u);
  EXPECT_EQ(calls[1].spans, 0u);  // traces and logs were delivered: not sent again
  EXPECT_EQ(calls[1].metrics, 4u);
  EXPECT_EQ(calls[1].logs, 0u);
  EXPECT_EQ(h.ExporterStage().forwarded, 8u);
  h.CheckBalanced();
}

TEST(PipelineRetryTest, PermanentFailureOfOneSignalDropsOnlyIt) {
  RetryHarness h(FastRetry(5));
  ExportResult first;
  first.Set(event::kSignalTraces, ExportOutcome::kFailed);
  h.sinks[0]->script = {first};
  event::BatchPtr b = MetricBatch(h.pool, 2);
  testing::AddSpan(*b, {});
  ASSERT_TRUE(h.pipeline->Push(std::move(b)).accepted());
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(h.sinks[0]->CallCount(), 1u);
  EXPECT_EQ(h.ExporterStage().Dropped(DropReason::kExportFailed), 1u);
  EXPECT_EQ(h.ExporterStage().forwarded, 2u);
  h.CheckBalanced();
}

TEST(PipelineRetryTest, LostBatchIsCountedOnce) {
  RetryHarness h(FastRetry(3));
  h.sinks[0]->otherwise = ExportResult::kRetry;
  ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 5)).accepted());
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(h.sinks[0]->CallCount(), 3u);
  StageSnapshot ex = h.ExporterStage();
  EXPECT_EQ(ex.Dropped(DropReason::kRetryExhausted), 5u);
  EXPECT_EQ(ex.DroppedTotal(), 5u);
  h.CheckBalanced();
}

// Events an exporter accepted and then evicted from its bounded store (trace_analysis) are
// dropped with reason exporter_evicted, not forwarded; at most the batch's own count.
TEST(PipelineRetryTest, EvictedEventsAreDroppedNotForwarded) {
  RetryHarness h(FastRetry(3));
  ExportResult three = ExportResult::kOk;
  three.SetEvicted(event::kSignalMetrics, 3);
  ExportResult many = ExportResult::kOk;
  many.SetEvicted(event::kSignalMetrics, 100);
  ExportResult traces_only = ExportResult::kOk;
  traces_only.SetEvicted(event::kSignalTraces, 4);  // no spans in the batch: nothing to count
  h.sinks[0]->script = {three, many, traces_only};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 5)).accepted());
  ASSERT_TRUE(h.pipeline->Shutdown(std::chrono::seconds(10)).ok());
  StageSnapshot ex = h.ExporterStage();
  EXPECT_EQ(ex.received, 15u);
  EXPECT_EQ(ex.Dropped(DropReason::kExporterEvicted), 3u + 5u);
  EXPECT_EQ(ex.forwarded, 2u + 0u + 5u);
  h.CheckBalanced();
}

TEST(PipelineRetryTest, WhileBackingOffNewBatchesWaitAndTheAreaIsBounded) {
  RetryOptions retry;
  retry.max_parked_events = 10;
  RetryHarness h(retry);
  h.sinks[0]->script = {ExportResult::RetryAfter(std::chrono::seconds(30))};
  ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 6)).accepted());
  h.Settle();
  ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 4)).accepted());  // fits: 10 parked
  ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 3)).accepted());  // does not
  h.Settle();
  EXPECT_EQ(h.sinks[0]->CallCount(), 1u);  // no export call while the backend is backing off
  StageSnapshot ex = h.ExporterStage();
  EXPECT_EQ(ex.in_flight, 10u);
  EXPECT_EQ(ex.Dropped(DropReason::kRetryQueueFull), 3u);
  h.CheckBalanced();
  // When the backend's time comes, the probe succeeds and everything waiting goes.
  h.clock.AdvanceNs(30'000'000'000);
  h.Settle();
  EXPECT_EQ(h.sinks[0]->CallCount(), 3u);
  EXPECT_EQ(h.ExporterStage().forwarded, 10u);
  EXPECT_EQ(h.ExporterStage().in_flight, 0u);
  h.CheckBalanced();
}

TEST(PipelineRetryTest, OtherExportersKeepGoingWhileOneWaits) {
  RetryHarness h(RetryOptions{}, /*exporters=*/2);
  h.sinks[0]->otherwise = ExportResult::RetryAfter(std::chrono::hours(1));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.pipeline->Push(MetricBatch(h.pool, 2)).accepted());
  h.Settle();
  EXPECT_EQ(h.sinks[0]->CallCount(), 1u);
  EXPECT_EQ(h.sinks[1]->CallCount(), 5u);
  EXPECT_EQ(h.ExporterStage(0).in_flight, 10u);
  EXPECT_EQ(h.ExporterStage(1).forwarded, 10u);
  // Shutdown does not wait an hour: parked data is dropped at the deadline, with a reason.
  strobe::Status s = h.pipeline->Shutdown(std::chrono::milliseconds(200));
  EXPECT_EQ(s.code(), strobe::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(h.ExporterStage(0).Dropped(DropReason::kShutdown), 10u);
  h.CheckBalanced();
}

TEST(BackPressurePolicyTest, ParsesNames) {
  EXPECT_EQ(*ParseBackPressurePolicy("drop_oldest"), BackPressurePolicy::kDropOldest);
  EXPECT_FALSE(ParseBackPressurePolicy("drop_random").ok());
}

}  // namespace
}  // namespace strobed::pipeline
