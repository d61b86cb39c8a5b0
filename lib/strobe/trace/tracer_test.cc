#include "strobe/trace/tracer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "strobe/trace/span_buffer.h"

namespace strobe::trace {
namespace {

uint64_t g_now = 1000;
uint64_t FakeNow() noexcept { return g_now += 10; }

TracerOptions Opts(IdGenerator* ids, double ratio = 1.0) {
  TracerOptions o;
  o.scope_name = "test";
  o.now_unix_ns = &FakeNow;
  o.ids = ids;
  o.sample_ratio = ratio;
  return o;
}

class Collect : public SpanSink {
 public:
  void Consume(const SpanRecord& r) noexcept override {
    records.emplace_back();
    CopyUsed(r, records.back());
  }
  std::vector<SpanRecord> records;
};

std::string Attr(const SpanRecord& r, std::string_view key) {
  for (int i = 0; i < r.attr_count; ++i) {
    const AttrSlot& a = r.attrs[i];
    if (a.owner != 0 || r.Str(a.key) != key) continue;
    switch (a.type) {
      case AttrType::kBool:
        return a.v.b ? "true" : "false";
      case AttrType::kInt:
        return std::to_string(a.v.i);
      case AttrType::kDouble:
        return std::to_string(a.v.d);
      case AttrType::kString:
        return std::string(r.Str(a.str));
    }
  }
  return "<none>";
}

class TracerTest : public ::testing::Test {
 protected:
  SeededIdGenerator ids_{3};
  Collect sink_;
  Tracer tracer_{sink_, Opts(&ids_)};
};

TEST_F(TracerTest, NestedSpansLinkToTheCurrentSpan) {
  {
    Span root(tracer_, "root", SpanKind::kServer);
    EXPECT_EQ(Span::Current(), &root);
    {
      Span child(tracer_, "child", SpanKind::kClient);
      EXPECT_EQ(Span::Current(), &child);
      EXPECT_EQ(child.context().trace_id, root.context().trace_id);
    }
    EXPECT_EQ(Span::Current(), &root);
  }
  EXPECT_EQ(Span::Current(), nullptr);
  ASSERT_EQ(sink_.records.size(), 2u);
  const SpanRecord& child = sink_.records[0];
  const SpanRecord& root = sink_.records[1];
  EXPECT_EQ(child.Name(), "child");
  EXPECT_EQ(child.parent_span_id, root.context.span_id);
  EXPECT_FALSE(root.parent_span_id.valid());
  EXPECT_EQ(root.kind, SpanKind::kServer);
  EXPECT_EQ(child.kind, SpanKind::kClient);
  EXPECT_LT(root.start_unix_ns, child.start_unix_ns);
  EXPECT_GT(root.end_unix_ns, child.end_unix_ns);
}

TEST_F(TracerTest, AttributesEventsLinksAndStatus) {
  SpanContext linked{ids_.NewTraceId(), ids_.NewSpanId(), kTraceFlagSampled, false};
  {
    Span s(tracer_, "op");
    s.SetAttribute("i", 42);
    s.SetAttribute("d", 1.5);
    s.SetAttribute("b", true);
    s.SetAttribute("s", "text");
    s.SetAttribute("i", int64_t{43});  // replaces
    s.RecordException("std::runtime_error", "boom");
    s.AddLink(linked);
    s.SetStatus(SpanStatus::kError, "failed");
  }
  ASSERT_EQ(sink_.records.size(), 1u);
  const SpanRecord& r = sink_.records[0];
  EXPECT_EQ(Attr(r, "i"), "43");
  EXPECT_EQ(Attr(r, "b"), "true");
  EXPECT_EQ(Attr(r, "s"), "text");
  EXPECT_EQ(Attr(r, "d"), std::to_string(1.5));
  ASSERT_EQ(r.event_count, 1);
  EXPECT_EQ(r.Str(r.events[0].name), "exception");
  int event_attrs = 0;
  for (int i = 0; i < r.attr_count; ++i) event_attrs += r.attrs[i].owner == 1 ? 1 : 0;
  EXPECT_EQ(event_attrs, 2);
  ASSERT_EQ(r.link_count, 1);
  EXPECT_EQ(r.links[0].context().trace_id, linked.trace_id);
  EXPECT_EQ(r.status, SpanStatus::kError);
  EXPECT_EQ(r.Str(r.status_message), "failed");
}

TEST_F(TracerTest, OkStatusIsFinal) {
  {
    Span s(tracer_, "op");
    s.SetStatus(SpanStatus::kOk);
    s.SetStatus(SpanStatus::kError, "late");
  }
  EXPECT_EQ(sink_.records[0].status, SpanStatus::kOk);
}

TEST_F(TracerTest, LimitsDropAndCount) {
  {
    Span s(tracer_, "op");
    for (int i = 0; i < 20; ++i) s.SetAttribute("k" + std::to_string(i), i);
    for (int i = 0; i < 10; ++i) s.AddEvent("e");
    for (int i = 0; i < 6; ++i) s.AddLink(s.context());
    s.SetAttribute("big", std::string(2000, 'x'));
  }
  const SpanRecord& r = sink_.records[0];
  EXPECT_EQ(r.attr_count, SpanRecord::kMaxAttributes);
  EXPECT_EQ(r.dropped_attributes, 5);  // 4 ints beyond 16, plus "big"
  EXPECT_EQ(r.dropped_events, 2);
  EXPECT_EQ(r.dropped_links, 2);
}

TEST_F(TracerTest, LongStringsAreTruncatedAndCounted) {
  {
    Span s(tracer_, "op");
    s.SetAttribute("big", std::string(2000, 'x'));
  }
  const SpanRecord& r = sink_.records[0];
  EXPECT_EQ(r.truncated_strings, 1);
  EXPECT_EQ(r.arena_used, SpanRecord::kArenaBytes);
  EXPECT_LT(Attr(r, "big").size(), 2000u);
}

TEST_F(TracerTest, ExplicitAndRemoteParents) {
  Result<SpanContext> remote =
      ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(remote.ok());
  RemoteContext rc{*remote, {}};
  ASSERT_TRUE(rc.state.Set("vendor", "v1").ok());
  {
    Span s(tracer_, "server", rc, SpanKind::kServer);
    EXPECT_EQ(s.trace_state(), "vendor=v1");
    Span inner(tracer_, "inner");  // inherits the tracestate through the current span
    EXPECT_EQ(inner.trace_state(), "vendor=v1");
  }
  ASSERT_EQ(sink_.records.size(), 2u);
  EXPECT_EQ(sink_.records[1].context.trace_id.ToHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(sink_.records[1].parent_span_id.ToHex(), "00f067aa0ba902b7");
  {
    Span root(tracer_, "r");
    Span fresh(tracer_, "fresh", Span::kRoot);
    EXPECT_NE(fresh.context().trace_id, root.context().trace_id);
  }
}

TEST_F(TracerTest, UnsampledParentMakesNonRecordingChildren) {
  Result<SpanContext> remote =
      ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(remote.ok());
  {
    Span s(tracer_, "server", *remote);
    EXPECT_FALSE(s.recording());
    s.SetAttribute("ignored", 1);
    Span child(tracer_, "child");
    EXPECT_FALSE(child.recording());
    EXPECT_EQ(child.context().trace_id, remote->trace_id);
  }
  EXPECT_TRUE(sink_.records.empty());
}

TEST_F(TracerTest, RatioSamplingIsDecidedByTraceId) {
  Tracer none(sink_, Opts(&ids_, 0.0));
  Tracer half(sink_, Opts(&ids_, 0.5));
  int sampled = 0;
  for (int i = 0; i < 1000; ++i) {
    Span a(none, "a", Span::kRoot);
    EXPECT_FALSE(a.recording());
    Span b(half, "b", Span::kRoot);
    sampled += b.recording() ? 1 : 0;
  }
  EXPECT_GT(sampled, 400);
  EXPECT_LT(sampled, 600);
}

TEST_F(TracerTest, EndingOutOfOrderRestoresARunningSpan) {
  Span root(tracer_, "root");
  {
    Span mid(tracer_, "mid");
    Span leaf(tracer_, "leaf");
    mid.End();
    EXPECT_EQ(Span::Current(), &leaf);
    leaf.End();
    EXPECT_EQ(Span::Current(), &root);  // skips the ended `mid`
  }
  EXPECT_EQ(Span::Current(), &root);
  root.End();
  EXPECT_EQ(Span::Current(), nullptr);
}

TEST(SpanBufferTest, DrainsInOrderAndCountsDropsWhenFull) {
  SpanBuffer buf(4);
  SeededIdGenerator ids(9);
  Tracer t(buf, Opts(&ids));
  for (int i = 0; i < 6; ++i) {
    Span s(t, "s" + std::to_string(i));
  }
  EXPECT_EQ(buf.dropped(), 2u);
  std::vector<std::string> names;
  EXPECT_EQ(buf.Drain([&](const SpanRecord& r) { names.emplace_back(r.Name()); }), 4u);
  EXPECT_EQ(names, (std::vector<std::string>{"s0", "s1", "s2", "s3"}));
  // Space is reusable after draining.
  { Span s(t, "again"); }
  names.clear();
  EXPECT_EQ(buf.Drain([&](const SpanRecord& r) { names.emplace_back(r.Name()); }), 1u);
  EXPECT_EQ(names[0], "again");
}

}  // namespace
}  // namespace strobe::trace
