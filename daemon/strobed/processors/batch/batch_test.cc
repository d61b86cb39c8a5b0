#include "strobed/processors/batch/batch.h"

#include <gtest/gtest.h>

#include "strobed/base/clock.h"
#include "strobed/pipeline/testing.h"

namespace strobed::processors {
namespace {

using pipeline::testing::MetricBatch;
using pipeline::testing::RecordingContext;

TEST(BatchProcessorTest, EmitsWhenSizeReached) {
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  RecordingContext ctx(clock);
  BatchProcessor p({.send_batch_size = 100, .timeout = std::chrono::milliseconds(100)});
  for (int i = 0; i < 9; ++i) p.Process(MetricBatch(pool, 10), ctx);
  EXPECT_TRUE(ctx.emitted.empty());
  EXPECT_EQ(p.HeldEvents(), 90u);
  p.Process(MetricBatch(pool, 10), ctx);
  ASSERT_EQ(ctx.emitted.size(), 1u);
  EXPECT_EQ(ctx.emitted[0]->size(), 100u);
  EXPECT_EQ(p.HeldEvents(), 0u);
  EXPECT_EQ(p.NextDeadlineNs(), pipeline::kNoDeadline);
}

TEST(BatchProcessorTest, MergedBatchKeepsEventDataValid) {
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  RecordingContext ctx(clock);
  BatchProcessor p({.send_batch_size = 3, .timeout = std::chrono::milliseconds(100)});
  for (int i = 0; i < 3; ++i) {
    event::BatchPtr b = pool.Acquire();
    pipeline::testing::AddGauge(*b, "metric_" + std::to_string(i), i, "host" + std::to_string(i));
    p.Process(std::move(b), ctx);
  }
  ASSERT_EQ(ctx.emitted.size(), 1u);
  auto metrics = ctx.emitted[0]->metrics();
  ASSERT_EQ(metrics.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(metrics[static_cast<std::size_t>(i)].name, "metric_" + std::to_string(i));
    EXPECT_EQ(metrics[static_cast<std::size_t>(i)].labels[0].value.AsString(),
              "host" + std::to_string(i));
  }
}

TEST(BatchProcessorTest, EmitsOnTimeout) {
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  RecordingContext ctx(clock);
  BatchProcessor p({.send_batch_size = 1000, .timeout = std::chrono::milliseconds(100)});
  p.Process(MetricBatch(pool, 5), ctx);
  EXPECT_EQ(p.NextDeadlineNs(), clock.NowNs() + 100'000'000);
  clock.AdvanceNs(99'000'000);
  p.OnTick(ctx);
  EXPECT_TRUE(ctx.emitted.empty());
  p.Process(MetricBatch(pool, 5), ctx);  // does not extend the deadline
  clock.AdvanceNs(1'000'000);
  p.OnTick(ctx);
  ASSERT_EQ(ctx.emitted.size(), 1u);
  EXPECT_EQ(ctx.emitted[0]->size(), 10u);
}

TEST(BatchProcessorTest, FlushEmitsPartialBatch) {
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  RecordingContext ctx(clock);
  BatchProcessor p({.send_batch_size = 1000, .timeout = std::chrono::seconds(1)});
  p.Process(MetricBatch(pool, 7), ctx);
  p.Flush(ctx);
  ASSERT_EQ(ctx.emitted.size(), 1u);
  EXPECT_EQ(ctx.emitted[0]->size(), 7u);
  p.Flush(ctx);  // nothing held: nothing emitted
  EXPECT_EQ(ctx.emitted.size(), 1u);
}

}  // namespace
}  // namespace strobed::processors
