#include "strobed/processors/tail_sampler/tail_sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "strobed/base/clock.h"
#include "strobed/pipeline/sampling.h"
#include "strobed/pipeline/testing.h"

namespace strobed::processors {
namespace {

using pipeline::DropReason;
using pipeline::testing::AddSpan;
using pipeline::testing::RecordingContext;
using ::testing::HasSubstr;

constexpr uint64_t kMs = 1'000'000;

std::vector<TailPolicy> Policies(const std::string& yaml) {
  auto p = ParseTailPolicies(YAML::Load(yaml), "t.yaml", event::KeyTable::Global());
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : std::vector<TailPolicy>{};
}

event::TraceId Id(uint64_t n) { return event::TraceId::FromHalves(n, n * 7 + 1); }

// Adds a trace of `n` spans: children first, root last (as they usually end).
void AddTrace(event::Batch& b, uint64_t trace, int n,
              event::StatusCode root_status = event::StatusCode::kUnset,
              uint64_t duration_ns = 1000) {
  for (int i = 1; i < n; ++i) {
    AddSpan(b, {.trace_id = Id(trace),
                .span_id = static_cast<uint64_t>(i + 1),
                .parent_span_id = 1,
                .start_ns = 10,
                .end_ns = 20});
  }
  AddSpan(b, {.trace_id = Id(trace),
              .span_id = 1,
              .parent_span_id = 0,
              .start_ns = 0,
              .end_ns = duration_ns,
              .status = root_status});
}

struct Fixture {
  explicit Fixture(TailSamplerOptions o) : ctx(clock) {
    o.output_pool = &pool;
    sampler = std::make_unique<TailSampler>(std::move(o));
  }
  void Push(event::BatchPtr b) { sampler->Process(std::move(b), ctx); }
  std::vector<uint64_t> KeptTraces() const {
    std::vector<uint64_t> out;
    for (const auto& b : ctx.emitted) {
      for (const auto& s : b->spans()) {
        if (out.empty() || out.back() != s.trace_id.High()) out.push_back(s.trace_id.High());
      }
    }
    return out;
  }
  void ExpectBalanced(uint64_t received) {
    EXPECT_EQ(received, ctx.EmittedEvents() + ctx.Dropped(DropReason::kSampled) +
                            ctx.Dropped(DropReason::kTailOverflow) + sampler->HeldEvents());
  }
  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  // Declared before ctx: kept traces live in the sampler's storage pool, so the emitted
  // batches (in ctx) must be released first.
  std::unique_ptr<TailSampler> sampler;
  RecordingContext ctx;
};

TEST(TailSamplerTest, HoldsUntilRootPlusDecisionWaitThenKeepsErrorTraces) {
  Fixture f({.decision_wait = std::chrono::milliseconds(100),
             .policies = Policies("[{name: errors, type: status_code}]")});
  event::BatchPtr b = f.pool.Acquire();
  AddTrace(*b, 1, 3, event::StatusCode::kError);
  AddTrace(*b, 2, 3);
  f.Push(std::move(b));
  EXPECT_EQ(f.ctx.EmittedEvents(), 0u);
  EXPECT_EQ(f.sampler->HeldEvents(), 6u);
  EXPECT_EQ(f.sampler->held_traces(), 2u);
  EXPECT_EQ(f.sampler->NextDeadlineNs(), f.clock.NowNs() + 100 * kMs);
  f.clock.AdvanceNs(99 * kMs);
  f.sampler->OnTick(f.ctx);
  EXPECT_EQ(f.ctx.EmittedEvents(), 0u);
  f.clock.AdvanceNs(1 * kMs);
  f.sampler->OnTick(f.ctx);
  EXPECT_EQ(f.KeptTraces(), std::vector<uint64_t>{1});
  EXPECT_EQ(f.ctx.EmittedSpans(), 3u);
  EXPECT_EQ(f.ctx.Dropped(DropReason::kSampled), 3u);
  EXPECT_EQ(f.sampler->HeldEvents(), 0u);
  EXPECT_EQ(f.sampler->held_bytes(), 0u);
  f.ExpectBalanced(6);
}

TEST(TailSamplerTest, LateSpansFollowTheDecision) {
  Fixture f({.decision_wait = std::chrono::milliseconds(10),
             .policies = Policies("[{name: errors, type: status_code}]")});
  event::BatchPtr b = f.pool.Acquire();
  AddTrace(*b, 1, 2, event::StatusCode::kError);
  AddTrace(*b, 2, 2);
  f.Push(std::move(b));
  f.clock.AdvanceNs(10 * kMs);
  f.sampler->OnTick(f.ctx);
  event::BatchPtr late = f.pool.Acquire();
  AddSpan(*late, {.trace_id = Id(1), .span_id = 9, .parent_span_id = 1});
  AddSpan(*late, {.trace_id = Id(2), .span_id = 9, .parent_span_id = 1});
  pipeline::testing::AddGauge(*late, "passes", 1);
  f.Push(std::move(late));
  EXPECT_EQ(f.ctx.EmittedSpans(), 3u);   // 2 + the late span of trace 1
  EXPECT_EQ(f.ctx.EmittedEvents(), 4u);  // and the metric point passes through
  EXPECT_EQ(f.ctx.Dropped(DropReason::kSampled), 3u);
  f.ExpectBalanced(7);
}

TEST(TailSamplerTest, LatencyAndAttributePolicies) {
  Fixture f({.decision_wait = std::chrono::milliseconds(1), .policies = Policies(R"([
               {name: slow, type: latency, threshold: 50ms},
               {name: vip, type: attribute, key: attr0, values: ["0"]}])")});
  event::BatchPtr b = f.pool.Acquire();
  AddTrace(*b, 1, 2, event::StatusCode::kUnset, 60 * kMs);          // slow
  AddTrace(*b, 2, 2);                                               // fast, no attribute
  AddSpan(*b, {.trace_id = Id(3), .span_id = 1, .attributes = 1});  // attr0 = 0 (int)
  f.Push(std::move(b));
  f.clock.AdvanceNs(1 * kMs);
  f.sampler->OnTick(f.ctx);
  EXPECT_THAT(f.KeptTraces(), ::testing::UnorderedElementsAre(1u, 3u));
  bool saw_policy = false;
  for (const auto& s : f.sampler->Stats()) {
    if (s.name == "tail_policy_decisions_total" && s.label_value == "vip") {
      saw_policy = true;
      EXPECT_EQ(s.value, 1.0);
    }
  }
  EXPECT_TRUE(saw_policy);
}

TEST(TailSamplerTest, RateLimitKeepsWithinTheBudget) {
  Fixture f({.decision_wait = std::chrono::milliseconds(1),
             .policies = Policies("[{name: cap, type: rate_limit, spans_per_second: 25}]")});
  event::BatchPtr b = f.pool.Acquire();
  for (uint64_t t = 1; t <= 3; ++t) AddTrace(*b, t, 10);
  f.Push(std::move(b));
  f.clock.AdvanceNs(1 * kMs);
  f.sampler->OnTick(f.ctx);
  EXPECT_EQ(f.ctx.EmittedSpans(), 20u);  // two traces fit in 25 spans/s
  // A new second refills the budget.
  f.clock.AdvanceNs(1000 * kMs);
  event::BatchPtr b2 = f.pool.Acquire();
  AddTrace(*b2, 4, 10);
  f.Push(std::move(b2));
  f.clock.AdvanceNs(1 * kMs);
  f.sampler->OnTick(f.ctx);
  EXPECT_EQ(f.ctx.EmittedSpans(), 30u);
}

TEST(TailSamplerTest, CompositeGivesEachSubPolicyItsShare) {
  Fixture f({.decision_wait = std::chrono::milliseconds(1), .policies = Policies(R"([
               {name: mix, type: composite, max_spans_per_second: 40, policies: [
                 {name: errors, type: status_code, share: 0.5},
                 {name: rest, type: always_sample, share: 0.25}]}])")});
  event::BatchPtr b = f.pool.Acquire();
  for (uint64_t t = 1; t <= 3; ++t) AddTrace(*b, t, 10, event::StatusCode::kError);
  for (uint64_t t = 4; t <= 6; ++t) AddTrace(*b, t, 10);
  f.Push(std::move(b));
  f.clock.AdvanceNs(1 * kMs);
  f.sampler->OnTick(f.ctx);
  // errors: 20 spans budget → traces 1, 2; rest: 10 spans → trace 3 (error, over the errors
  // share, matches always_sample) ... then nothing more fits the rest share.
  EXPECT_EQ(f.KeptTraces(), (std::vector<uint64_t>{1, 2, 3}));
}

TEST(TailSamplerTest, BoundedTracesSpillTheOldestAndCountIt) {
  Fixture f({.decision_wait = std::chrono::seconds(10),
             .num_traces = 2,
             .policies = Policies("[{name: all, type: always_sample}]")});
  event::BatchPtr b = f.pool.Acquire();
  AddTrace(*b, 1, 2);
  AddTrace(*b, 2, 2);
  AddTrace(*b, 3, 2);  // forces trace 1 out
  f.Push(std::move(b));
  EXPECT_EQ(f.KeptTraces(), std::vector<uint64_t>{1});
  EXPECT_EQ(f.sampler->held_traces(), 2u);
  double spills = 0;
  for (const auto& s : f.sampler->Stats()) {
    if (s.name == "tail_spill_decisions_total") spills = s.value;
  }
  EXPECT_EQ(spills, 1.0);
  f.ExpectBalanced(6);
  f.sampler->Flush(f.ctx);
  EXPECT_EQ(f.ctx.EmittedSpans(), 6u);
  EXPECT_EQ(f.sampler->HeldEvents(), 0u);
}

TEST(TailSamplerTest, TracesWithoutRootAreDecidedByAgeAndOverflowIsCounted) {
  Fixture f({.decision_wait = std::chrono::seconds(1),
             .max_trace_age = std::chrono::seconds(30),
             .max_spans_per_trace = 3,
             .policies = Policies("[{name: all, type: always_sample}]")});
  event::BatchPtr b = f.pool.Acquire();
  for (uint64_t i = 2; i <= 6; ++i) {
    AddSpan(*b, {.trace_id = Id(1), .span_id = i, .parent_span_id = 1});
  }
  f.Push(std::move(b));
  EXPECT_EQ(f.ctx.Dropped(DropReason::kTailOverflow), 2u);
  EXPECT_EQ(f.sampler->NextDeadlineNs(), f.clock.NowNs() + 30'000 * kMs);
  f.clock.AdvanceNs(30'000 * kMs);
  f.sampler->OnTick(f.ctx);
  EXPECT_EQ(f.ctx.EmittedSpans(), 3u);
  f.ExpectBalanced(5);
}

TEST(TailSamplerTest, ManyTracesChurnThroughTheTable) {
  // Exercises insert/erase (backward-shift deletion) with a small table under churn.
  Fixture f({.decision_wait = std::chrono::milliseconds(1),
             .num_traces = 64,
             .policies = Policies("[{name: half, type: probabilistic, ratio: 0.5}]")});
  pipeline::SplitMix64 rng(5);
  uint64_t received = 0;
  for (int round = 0; round < 200; ++round) {
    event::BatchPtr b = f.pool.Acquire();
    for (int k = 0; k < 10; ++k) {
      event::TraceId id = event::TraceId::FromHalves(rng.Next(), rng.Next());
      AddSpan(*b, {.trace_id = id, .span_id = 2, .parent_span_id = 1});
      AddSpan(*b, {.trace_id = id, .span_id = 1});
      received += 2;
    }
    f.Push(std::move(b));
    f.clock.AdvanceNs(1 * kMs);
    f.sampler->OnTick(f.ctx);
    f.ExpectBalanced(received);
  }
  EXPECT_NEAR(static_cast<double>(f.ctx.EmittedSpans()) / static_cast<double>(received), 0.5, 0.08);
  for (const auto& b : f.ctx.emitted) {
    // Kept traces are whole.
    EXPECT_EQ(b->spans().size() % 2, 0u);
  }
}

TEST(TailSamplerTest, PolicyErrorsNameTheLine) {
  auto bad = [](const std::string& yaml) {
    auto p = ParseTailPolicies(YAML::Load(yaml), "t.yaml", event::KeyTable::Global());
    EXPECT_FALSE(p.ok());
    return p.ok() ? std::string() : p.status().message();
  };
  EXPECT_THAT(bad("- {name: x, type: latency}\n"),
              HasSubstr("t.yaml:1: policy 'x' needs 'threshold'"));
  EXPECT_THAT(bad("- {name: a, type: always_sample}\n- {name: b, type: sometimes}\n"),
              HasSubstr("t.yaml:2: policy 'b': unknown type 'sometimes'"));
  EXPECT_THAT(bad("- {name: c, type: composite, max_spans_per_second: 5, policies: "
                  "[{name: d, type: always_sample, share: 0.7}, "
                  "{name: e, type: always_sample, share: 0.7}]}\n"),
              HasSubstr("shares add up to more than 1"));
  EXPECT_THAT(bad("- {name: r, type: rate_limit, spans_per_second: -3}\n"), HasSubstr(">= 0"));
}

}  // namespace
}  // namespace strobed::processors
