#include "strobed/processors/adaptive_sampler/adaptive_sampler.h"

#include <gtest/gtest.h>

#include "strobed/base/clock.h"
#include "strobed/pipeline/testing.h"

namespace strobed::processors {
namespace {

using pipeline::testing::AddSpan;
using pipeline::testing::RecordingContext;

TEST(AdaptiveSamplerTest, KeepsAllErrorsAndAShareOfSlowSpans) {
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  RecordingContext ctx(clock);
  AdaptiveSampler s({.latency_threshold = std::chrono::milliseconds(100),
                     .slow_ratio = 0.5,
                     .base_ratio = 0.0001});
  pipeline::SplitMix64 rng(3);
  event::BatchPtr b = pool.Acquire();
  for (int i = 0; i < 2000; ++i) {
    event::TraceId id = event::TraceId::FromHalves(rng.Next(), rng.Next());
    AddSpan(*b, {.trace_id = id,
                 .start_ns = 0,
                 .end_ns = 1000,
                 .status = event::StatusCode::kError});                   // error, fast
    AddSpan(*b, {.trace_id = id, .start_ns = 0, .end_ns = 200'000'000});  // slow
    AddSpan(*b, {.trace_id = id, .start_ns = 0, .end_ns = 1000});         // base
  }
  s.Process(std::move(b), ctx);
  uint64_t errors = 0;
  uint64_t slow = 0;
  uint64_t base = 0;
  for (const auto& sp : ctx.emitted[0]->spans()) {
    if (sp.status.code == event::StatusCode::kError) {
      ++errors;
    } else if (sp.DurationNs() >= 100'000'000) {
      ++slow;
    } else {
      ++base;
    }
  }
  EXPECT_EQ(errors, 2000u);
  EXPECT_NEAR(static_cast<double>(slow), 1000.0, 120.0);
  EXPECT_LE(base, 5u);
  EXPECT_EQ(ctx.Dropped(pipeline::DropReason::kSampled), 6000u - ctx.EmittedSpans());
}

TEST(AdaptiveSamplerTest, AdjustsTheBaseRatioToHoldTheTarget) {
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  RecordingContext ctx(clock);
  AdaptiveSampler s({.latency_threshold = std::chrono::seconds(10),
                     .base_ratio = 1.0,
                     .target_spans_per_second = 1000,
                     .adjust_interval = std::chrono::seconds(1)});
  pipeline::SplitMix64 rng(9);
  uint64_t kept_last_second = 0;
  // 10,000 fast spans/s for 5 seconds, in 10 batches per second.
  for (int second = 0; second < 5; ++second) {
    uint64_t before = ctx.EmittedSpans();
    for (int tick = 0; tick < 10; ++tick) {
      event::BatchPtr b = pool.Acquire();
      for (int i = 0; i < 1000; ++i) {
        AddSpan(*b, {.trace_id = event::TraceId::FromHalves(rng.Next(), rng.Next())});
      }
      s.Process(std::move(b), ctx);
      clock.AdvanceNs(100'000'000);
    }
    kept_last_second = ctx.EmittedSpans() - before;
  }
  EXPECT_NEAR(s.base_ratio(), 0.1, 0.01);
  EXPECT_NEAR(static_cast<double>(kept_last_second), 1000.0, 150.0);
  bool found = false;
  for (const auto& st : s.Stats()) {
    if (st.name == "sampler_base_ratio") {
      found = true;
      EXPECT_NEAR(st.value, 0.1, 0.01);
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace strobed::processors
