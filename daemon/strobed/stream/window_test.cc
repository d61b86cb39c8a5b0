#include "strobed/stream/window.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"
#include "strobed/stream/item.h"

namespace strobed::stream {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kBase = 1'700'000'000 * kSec;  // a round second in 2023
// A wall clock past every event time of the tests below (the watermark never passes it).
constexpr uint64_t kNow = kBase + 100 * kSec;

struct Emitted {
  std::vector<std::string> labels;
  uint64_t start, end;
  double count, sum, p99;
};

class Collect : public ResultSink {
 public:
  explicit Collect(const WindowSpec& spec) : spec_(spec) {}
  void OnWindow(const WindowResult& r) override {
    Emitted e;
    e.labels.assign(r.labels.begin(), r.labels.end());
    e.start = r.start_ns;
    e.end = r.end_ns;
    e.count = static_cast<double>(r.state->count());
    e.sum = r.Value({AggKind::kSum, "sum", 0, 0});
    e.p99 = r.Value({AggKind::kQuantile, "p99", 0.99, 0});
    out.push_back(e);
  }
  std::vector<Emitted> out;
  const WindowSpec& spec_;
};

class WindowTest : public ::testing::Test {
 protected:
  void SetUp() override { service_ = *keys_.Intern("service.name"); }
  WindowSpec Spec(WindowType type, uint64_t size, uint64_t slide, uint64_t gap, uint64_t late) {
    WindowSpec s;
    s.name = "w";
    s.type = type;
    s.size_ns = size;
    s.slide_ns = slide;
    s.gap_ns = gap;
    s.allowed_lateness_ns = late;
    s.idle_timeout_ns = 0;
    s.group_by = {"service.name"};
    s.group_keys = {service_};
    s.aggregations.needs_quantiles = true;
    return s;
  }
  Item At(uint64_t t, const char* service, double value = 1) {
    attrs_.push_back({event::Attribute{service_, event::Value::String(service)}});
    Item it;
    it.name = "op";
    it.time_ns = t;
    it.value = value;
    it.attributes = attrs_.back();
    return it;
  }
  event::KeyTable keys_{1024};
  event::KeyId service_;
  std::vector<std::vector<event::Attribute>> attrs_;
};

TEST_F(WindowTest, TumblingGroupsByKeyAndClosesAtWatermark) {
  WindowSpec spec = Spec(WindowType::kTumbling, kSec, kSec, 0, 0);
  Collect sink(spec);
  WindowOperator op(spec, sink);
  const uint64_t wall = kNow;
  EXPECT_TRUE(op.Add(At(kBase + 100, "a", 2), wall));
  EXPECT_TRUE(op.Add(At(kBase + 200, "b", 3), wall));
  EXPECT_TRUE(op.Add(At(kBase + 999'999'999, "a", 4), wall));  // last ns of the window
  op.Advance(wall);
  EXPECT_TRUE(sink.out.empty());                        // watermark = kBase + 999'999'999 < end
  EXPECT_TRUE(op.Add(At(kBase + kSec, "a", 5), wall));  // first ns of the next window
  op.Advance(wall);
  ASSERT_EQ(sink.out.size(), 2u);
  for (const Emitted& e : sink.out) {
    EXPECT_EQ(e.start, kBase);
    EXPECT_EQ(e.end, kBase + kSec);
    if (e.labels[0] == "a") {
      EXPECT_EQ(e.count, 2);
      EXPECT_EQ(e.sum, 6);
    } else {
      EXPECT_EQ(e.labels[0], "b");
      EXPECT_EQ(e.count, 1);
    }
  }
  EXPECT_EQ(op.active_keys(), 2u);
}

TEST_F(WindowTest, OutOfOrderWithinLatenessIsCountedLateBeyondIsDroppedAndCounted) {
  WindowSpec spec = Spec(WindowType::kTumbling, kSec, kSec, 0, 2 * kSec);
  Collect sink(spec);
  WindowOperator op(spec, sink);
  op.Add(At(kBase + 2 * kSec + 10, "a"), kNow);
  // Out of order by 1.5 s, within the 2 s lateness: lands in its own window.
  EXPECT_TRUE(op.Add(At(kBase + kSec / 2, "a"), kNow));
  op.Advance(kNow);
  EXPECT_TRUE(sink.out.empty());            // watermark = base + 10ns
  op.Add(At(kBase + 4 * kSec, "a"), kNow);  // watermark → base + 2 s
  op.Advance(kNow);
  ASSERT_EQ(sink.out.size(), 1u);
  EXPECT_EQ(sink.out[0].start, kBase);
  EXPECT_EQ(sink.out[0].count, 1);
  // An event for the closed window [base, base+1s) is late: dropped and counted.
  EXPECT_FALSE(op.Add(At(kBase + 10, "a"), kNow));
  EXPECT_EQ(op.stats().late.load(), 1u);
  // [base+1s, base+2s) was empty; [base+2s, base+3s) still open: a late-but-allowed event.
  EXPECT_TRUE(op.Add(At(kBase + 2 * kSec + 20, "a"), kNow));
  op.Add(At(kBase + 5 * kSec + 1, "a"), kNow);  // watermark → base + 3 s + 1
  op.Advance(kNow);
  ASSERT_EQ(sink.out.size(), 2u);
  EXPECT_EQ(sink.out[1].start, kBase + 2 * kSec);
  EXPECT_EQ(sink.out[1].count, 2);
}

TEST_F(WindowTest, IdleWatermarkAdvancesWithWallClock) {
  WindowSpec spec = Spec(WindowType::kTumbling, kSec, kSec, 0, 0);
  spec.idle_timeout_ns = 3 * kSec;
  Collect sink(spec);
  WindowOperator op(spec, sink);
  const uint64_t wall = kBase + 100 * kSec;  // events are older than the wall clock
  op.Add(At(kBase + 10, "a"), wall);
  op.Advance(wall + 2 * kSec);
  EXPECT_TRUE(sink.out.empty());  // idle for 2 s < 3 s: still waiting
  op.Advance(wall + 3 * kSec);
  ASSERT_EQ(sink.out.size(), 1u);  // idle: event time advanced by 3 s, window closed
  EXPECT_EQ(sink.out[0].end, kBase + kSec);
}

TEST_F(WindowTest, WithoutIdleTimeoutWindowsWaitForEvents) {
  WindowSpec spec = Spec(WindowType::kTumbling, kSec, kSec, 0, 0);
  Collect sink(spec);
  WindowOperator op(spec, sink);
  op.Add(At(kBase + 10, "a"), kBase);
  op.Advance(kBase + 3600 * kSec);
  EXPECT_TRUE(sink.out.empty());
  op.FlushAll();
  EXPECT_EQ(sink.out.size(), 1u);
}

TEST_F(WindowTest, SlidingWindowsOverlap) {
  // 3 s windows every 1 s.
  WindowSpec spec = Spec(WindowType::kSliding, 3 * kSec, kSec, 0, 0);
  Collect sink(spec);
  WindowOperator op(spec, sink);
  for (uint64_t s = 0; s < 5; ++s)
    op.Add(At(kBase + s * kSec + 5, "a", static_cast<double>(s)), kBase);
  op.Add(At(kBase + 10 * kSec, "a"), kNow);  // watermark far ahead
  op.Advance(kNow);
  // Windows ending at base+1 .. base+7 (s) that contain data among seconds 0..4:
  // [−2,1) [−1,2) [0,3) [1,4) [2,5) [3,6) [4,7) = 7 windows.
  ASSERT_EQ(sink.out.size(), 7u);
  EXPECT_EQ(sink.out[0].end, kBase + kSec);
  EXPECT_EQ(sink.out[0].count, 1);
  EXPECT_EQ(sink.out[2].start, kBase);
  EXPECT_EQ(sink.out[2].count, 3);
  EXPECT_EQ(sink.out[2].sum, 0 + 1 + 2);
  EXPECT_EQ(sink.out[4].count, 3);
  EXPECT_EQ(sink.out[4].sum, 2 + 3 + 4);
  EXPECT_EQ(sink.out[6].count, 1);
}

TEST_F(WindowTest, SlidingLateOnlyWhenEveryWindowClosed) {
  WindowSpec spec = Spec(WindowType::kSliding, 2 * kSec, kSec, 0, 0);
  Collect sink(spec);
  WindowOperator op(spec, sink);
  op.Add(At(kBase + 2 * kSec + 1, "a"), kNow);
  op.Advance(kNow);  // closed up to base + 2 s + 1: windows ending <= base+2s closed
  // An event at base + 1.5 s still belongs to the open window [base+1s, base+3s).
  EXPECT_TRUE(op.Add(At(kBase + kSec + kSec / 2, "a"), kNow));
  // An event at base + 0.5 s belongs only to closed windows.
  EXPECT_FALSE(op.Add(At(kBase + kSec / 2, "a"), kNow));
  EXPECT_EQ(op.stats().late.load(), 1u);
}

TEST_F(WindowTest, SessionWindowsSplitOnGapAndMerge) {
  WindowSpec spec = Spec(WindowType::kSession, 0, 0, 5 * kSec, 0);
  spec.size_ns = spec.slide_ns = spec.gap_ns;
  Collect sink(spec);
  WindowOperator op(spec, sink);
  op.Add(At(kBase, "a"), kNow);
  op.Add(At(kBase + 3 * kSec, "a"), kNow);   // same session (gap 5 s)
  op.Add(At(kBase + 20 * kSec, "a"), kNow);  // new session
  op.Add(At(kBase + 12 * kSec, "a"), kNow);  // out of order: its own session in between
  op.Advance(kNow);  // watermark = base + 20 s: first session ends at 3+5 = 8 s → closed
  ASSERT_EQ(sink.out.size(), 2u);
  EXPECT_EQ(sink.out[0].start, kBase);
  EXPECT_EQ(sink.out[0].end, kBase + 8 * kSec);
  EXPECT_EQ(sink.out[0].count, 2);
  EXPECT_EQ(sink.out[1].start, kBase + 12 * kSec);
  EXPECT_EQ(sink.out[1].count, 1);
  // Bridge two open sessions? Only [20] remains open; add 24 and 28: one session 20..28.
  op.Add(At(kBase + 24 * kSec, "a"), kNow);
  op.Add(At(kBase + 28 * kSec, "a"), kNow);
  op.FlushAll();
  ASSERT_EQ(sink.out.size(), 3u);
  EXPECT_EQ(sink.out[2].start, kBase + 20 * kSec);
  EXPECT_EQ(sink.out[2].end, kBase + 33 * kSec);
  EXPECT_EQ(sink.out[2].count, 3);
}

TEST_F(WindowTest, SessionBridgingEventMergesSessions) {
  WindowSpec spec = Spec(WindowType::kSession, 0, 0, 5 * kSec, 100 * kSec);
  spec.size_ns = spec.slide_ns = spec.gap_ns;
  Collect sink(spec);
  WindowOperator op(spec, sink);
  op.Add(At(kBase, "a"), kNow);
  op.Add(At(kBase + 8 * kSec, "a"), kNow);  // 8 s apart: two sessions
  op.Add(At(kBase + 4 * kSec, "a"), kNow);  // within 5 s of both: one session
  op.FlushAll();
  ASSERT_EQ(sink.out.size(), 1u);
  EXPECT_EQ(sink.out[0].count, 3);
  EXPECT_EQ(sink.out[0].end, kBase + 13 * kSec);
}

TEST_F(WindowTest, KeyLimitDropsAndCounts) {
  WindowSpec spec = Spec(WindowType::kTumbling, kSec, kSec, 0, 0);
  spec.max_keys = 2;
  Collect sink(spec);
  WindowOperator op(spec, sink);
  EXPECT_TRUE(op.Add(At(kBase, "a"), kBase));
  EXPECT_TRUE(op.Add(At(kBase, "b"), kBase));
  EXPECT_FALSE(op.Add(At(kBase, "c"), kBase));
  EXPECT_TRUE(op.Add(At(kBase, "a"), kBase));
  EXPECT_EQ(op.stats().dropped_key_limit.load(), 1u);
}

TEST_F(WindowTest, FutureTimestampsDroppedAndCounted) {
  WindowSpec spec = Spec(WindowType::kTumbling, kSec, kSec, 0, 0);
  Collect sink(spec);
  WindowOperator op(spec, sink);
  EXPECT_FALSE(op.Add(At(kBase + 3600 * kSec, "a"), kBase));
  EXPECT_EQ(op.stats().dropped_future.load(), 1u);
}

TEST_F(WindowTest, IdleKeysEvictedAfterTtl) {
  WindowSpec spec = Spec(WindowType::kTumbling, kSec, kSec, 0, 0);
  spec.key_ttl_ns = 10 * kSec;
  spec.idle_timeout_ns = kSec;
  Collect sink(spec);
  WindowOperator op(spec, sink);
  op.Add(At(kBase, "a"), kBase);
  op.Advance(kBase + 5 * kSec);
  EXPECT_EQ(sink.out.size(), 1u);
  EXPECT_EQ(op.active_keys(), 1u);
  op.Advance(kBase + 11 * kSec);
  EXPECT_EQ(op.active_keys(), 0u);
  EXPECT_TRUE(op.Add(At(kBase + 12 * kSec, "b"), kBase + 12 * kSec));
  EXPECT_EQ(op.active_keys(), 1u);
}

TEST_F(WindowTest, ManyKeysSurviveIndexGrowth) {
  WindowSpec spec = Spec(WindowType::kTumbling, kSec, kSec, 0, 0);
  Collect sink(spec);
  WindowOperator op(spec, sink);
  std::vector<std::string> names;
  for (int i = 0; i < 500; ++i) names.push_back("svc-" + std::to_string(i));
  for (int round = 0; round < 3; ++round) {
    for (const auto& n : names) op.Add(At(kBase + 1, n.c_str()), kBase);
  }
  EXPECT_EQ(op.active_keys(), 500u);
  op.FlushAll();
  ASSERT_EQ(sink.out.size(), 500u);
  for (const Emitted& e : sink.out) EXPECT_EQ(e.count, 3);
}

}  // namespace
}  // namespace strobed::stream
