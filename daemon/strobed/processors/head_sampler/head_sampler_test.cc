#include "strobed/processors/head_sampler/head_sampler.h"

#include <gtest/gtest.h>

#include "strobed/base/clock.h"
#include "strobed/pipeline/testing.h"

namespace strobed::processors {
namespace {

using pipeline::testing::AddSpan;
using pipeline::testing::RecordingContext;
using pipeline::testing::SpanSpec;

event::TraceId WithRandomness(uint64_t r56) {
  // High 8 bytes arbitrary, low 56 bits = r56.
  return event::TraceId::FromHalves(0xdeadbeefcafef00dULL, (uint64_t{0xab} << 56) | r56);
}

TEST(TraceIdRatioTest, MatchesTheOpenTelemetryThresholdRule) {
  // ratio 0.5 → T = 2^55; keep iff R >= T.
  EXPECT_EQ(pipeline::RatioToThreshold(0.5), uint64_t{1} << 55);
  EXPECT_EQ(pipeline::RatioToThreshold(1.0), 0u);
  EXPECT_EQ(pipeline::RatioToThreshold(0.0), uint64_t{1} << 56);
  EXPECT_EQ(pipeline::RatioToThreshold(0.25), uint64_t{3} << 54);
  uint64_t t = pipeline::RatioToThreshold(0.5);
  EXPECT_TRUE(pipeline::KeepTrace(WithRandomness(uint64_t{1} << 55), t));
  EXPECT_FALSE(pipeline::KeepTrace(WithRandomness((uint64_t{1} << 55) - 1), t));
  // A W3C-style id: only its last 7 bytes matter.
  auto id = event::TraceId::FromHex("5b8efff798038103d269b633813fc60c");
  ASSERT_TRUE(id.has_value());
  // R = 0x69b633813fc60c (last 7 bytes) ≈ 0.41 * 2^56: kept at ratio 0.6, not at 0.5.
  EXPECT_EQ(pipeline::TraceRandomness(*id), 0x69b633813fc60cULL);
  EXPECT_TRUE(pipeline::KeepTrace(*id, pipeline::RatioToThreshold(0.6)));
  EXPECT_FALSE(pipeline::KeepTrace(*id, pipeline::RatioToThreshold(0.5)));
}

TEST(HeadSamplerTest, TraceIdRatioIsConsistentPerTraceAndNearTheRatio) {
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  RecordingContext ctx(clock);
  HeadSampler s({.mode = HeadSamplerMode::kTraceIdRatio, .ratio = 0.25});
  pipeline::SplitMix64 rng(7);
  event::BatchPtr b = pool.Acquire();
  const int kTraces = 4000;
  for (int i = 0; i < kTraces; ++i) {
    event::TraceId id = event::TraceId::FromHalves(rng.Next(), rng.Next());
    for (uint64_t k = 1; k <= 3; ++k) AddSpan(*b, {.trace_id = id, .span_id = k});
  }
  s.Process(std::move(b), ctx);
  ASSERT_EQ(ctx.emitted.size(), 1u);
  auto spans = ctx.emitted[0]->spans();
  ASSERT_EQ(spans.size() % 3, 0u);  // whole traces only
  for (std::size_t i = 0; i < spans.size(); i += 3) {
    EXPECT_EQ(spans[i].trace_id, spans[i + 2].trace_id);
  }
  double kept = static_cast<double>(spans.size()) / (3.0 * kTraces);
  EXPECT_NEAR(kept, 0.25, 0.03);
  EXPECT_EQ(ctx.Dropped(pipeline::DropReason::kSampled), 3u * kTraces - spans.size());
}

TEST(HeadSamplerTest, AlwaysOnAndAlwaysOff) {
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  RecordingContext ctx(clock);
  HeadSampler on({.mode = HeadSamplerMode::kAlwaysOn});
  HeadSampler off({.mode = HeadSamplerMode::kAlwaysOff});
  event::BatchPtr b = pool.Acquire();
  AddSpan(*b, {.trace_id = WithRandomness(0)});
  pipeline::testing::AddGauge(*b, "g", 1);
  on.Process(std::move(b), ctx);
  EXPECT_EQ(ctx.EmittedEvents(), 2u);
  event::BatchPtr b2 = pool.Acquire();
  AddSpan(*b2, {.trace_id = WithRandomness((uint64_t{1} << 56) - 1)});
  pipeline::testing::AddGauge(*b2, "g", 1);
  off.Process(std::move(b2), ctx);
  EXPECT_EQ(ctx.emitted[1]->spans().size(), 0u);
  EXPECT_EQ(ctx.emitted[1]->metrics().size(), 1u);  // metrics pass through by default
  EXPECT_EQ(ctx.Dropped(pipeline::DropReason::kSampled), 1u);
}

TEST(HeadSamplerTest, ProbabilisticIsSeededAndNearTheRatio) {
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  auto run = [&](uint64_t seed) {
    RecordingContext ctx(clock);
    HeadSampler s({.mode = HeadSamplerMode::kProbabilistic,
                   .ratio = 0.1,
                   .include_metrics = true,
                   .seed = seed});
    s.Process(pipeline::testing::MetricBatch(pool, 10000), ctx);
    return ctx.EmittedEvents();
  };
  uint64_t a = run(11);
  EXPECT_EQ(a, run(11));  // same seed, same decisions
  EXPECT_NEAR(static_cast<double>(a), 1000.0, 120.0);
}

TEST(HeadSamplerTest, StatsReportEffectiveRatio) {
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  RecordingContext ctx(clock);
  HeadSampler s({.mode = HeadSamplerMode::kAlwaysOff});
  event::BatchPtr b = pool.Acquire();
  AddSpan(*b, {.trace_id = WithRandomness(5)});
  s.Process(std::move(b), ctx);
  auto stats = s.Stats();
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[1].value, 1.0);
  EXPECT_EQ(stats[2].name, "sampler_effective_ratio");
  EXPECT_EQ(stats[2].value, 0.0);
}

}  // namespace
}  // namespace strobed::processors
