// Concurrency stress for the pipeline entry (label stress; run under TSan). The queues
// themselves are stressed in lib/strobe/base/queue_stress_test.cc.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "strobed/pipeline/pipeline.h"
#include "strobed/pipeline/sampling.h"
#include "strobed/pipeline/testing.h"

namespace strobed::pipeline {
namespace {

class CountingExporter final : public Exporter {
 public:
  ExportResult Export(const event::Batch& batch) noexcept override {
    // A slow sink: forces the queue to fill so producers block.
    for (int i = 0; i < 200; ++i) std::this_thread::yield();
    for (const auto& m : batch.metrics()) sum.fetch_add(static_cast<uint64_t>(m.double_value));
    events.fetch_add(batch.size());
    return ExportResult::kOk;
  }
  strobe::Status Shutdown(std::chrono::milliseconds) override { return strobe::OkStatus(); }
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> sum{0};
};

// The block policy under a slow sink loses nothing: every event pushed by every producer
// arrives exactly once, and the stats balance.
TEST(PipelineStressTest, BlockPolicyWithSlowSinkLosesNothing) {
  constexpr int kProducers = 4;
  constexpr int kBatches = 300;
  constexpr int kPerBatch = 20;
  event::BatchPool pool;
  auto sink_owned = std::make_unique<CountingExporter>();
  CountingExporter* sink = sink_owned.get();
  std::vector<Stage<Exporter>> exporters;
  exporters.push_back({"sink", std::move(sink_owned)});
  PipelineOptions o;
  o.queue.max_batches = 4;
  o.queue.policy = BackPressurePolicy::kBlock;
  o.queue.block_timeout = std::chrono::minutes(5);
  o.pool = &pool;
  Pipeline p(o, {}, std::move(exporters));
  ASSERT_TRUE(p.Start().ok());
  std::atomic<uint64_t> refused{0};
  std::atomic<int> producers_done{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&] {
      for (int b = 0; b < kBatches; ++b) {
        event::BatchPtr batch = pool.Acquire();
        for (int i = 0; i < kPerBatch; ++i) testing::AddGauge(*batch, "m", 1);
        if (!p.Push(std::move(batch)).accepted()) refused.fetch_add(1);
      }
      producers_done.fetch_add(1);
    });
  }
  // Watch the queue while the producers run: it must reach its capacity, so the test really
  // exercises producers waiting for space (not a sink fast enough to never fill it).
  uint64_t max_queued = 0;
  while (producers_done.load() < kProducers) {
    max_queued = std::max(max_queued, p.Snapshot().queued_events);
    std::this_thread::yield();
  }
  for (auto& t : producers) t.join();
  EXPECT_GE(max_queued, uint64_t{4} * kPerBatch) << "the queue never filled";
  ASSERT_TRUE(p.Shutdown(std::chrono::seconds(60)).ok());
  EXPECT_EQ(refused.load(), 0u);
  uint64_t total = uint64_t{kProducers} * kBatches * kPerBatch;
  EXPECT_EQ(sink->events.load(), total);
  EXPECT_EQ(sink->sum.load(), total);
  PipelineSnapshot s = p.Snapshot();
  for (const auto& st : s.stages) {
    EXPECT_TRUE(st.Balanced()) << st.stage;
    EXPECT_EQ(st.DroppedTotal(), 0u) << st.stage;
  }
}

// Drop policies under concurrent producers: every event is either exported or counted.
TEST(PipelineStressTest, DropPoliciesAccountForEveryEvent) {
  for (BackPressurePolicy policy : {BackPressurePolicy::kDropNewest,
                                    BackPressurePolicy::kDropOldest, BackPressurePolicy::kSample}) {
    event::BatchPool pool;
    auto sink_owned = std::make_unique<CountingExporter>();
    CountingExporter* sink = sink_owned.get();
    std::vector<Stage<Exporter>> exporters;
    exporters.push_back({"sink", std::move(sink_owned)});
    PipelineOptions o;
    o.queue.max_batches = 4;
    o.queue.policy = policy;
    o.pool = &pool;
    Pipeline p(o, {}, std::move(exporters));
    ASSERT_TRUE(p.Start().ok());
    std::vector<std::thread> producers;
    for (int t = 0; t < 3; ++t) {
      producers.emplace_back([&, t] {
        SplitMix64 rng(static_cast<uint64_t>(t) + 1);
        for (int b = 0; b < 200; ++b) {
          event::BatchPtr batch = pool.Acquire();
          for (int i = 0; i < 10; ++i) {
            testing::AddSpan(*batch,
                             {.trace_id = event::TraceId::FromHalves(rng.Next(), rng.Next())});
          }
          (void)p.Push(std::move(batch));
        }
      });
    }
    for (auto& t : producers) t.join();
    ASSERT_TRUE(p.Shutdown(std::chrono::seconds(60)).ok());
    PipelineSnapshot s = p.Snapshot();
    EXPECT_EQ(s.stages[0].received, 6000u) << BackPressurePolicyName(policy);
    EXPECT_EQ(sink->events.load() + s.stages[0].DroppedTotal(), 6000u)
        << BackPressurePolicyName(policy);
    for (const auto& st : s.stages) EXPECT_TRUE(st.Balanced()) << st.stage;
  }
}

}  // namespace
}  // namespace strobed::pipeline
