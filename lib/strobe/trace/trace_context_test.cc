#include "strobe/trace/trace_context.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "strobe/trace/id_generator.h"

namespace strobe::trace {
namespace {

constexpr std::string_view kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceparentTest, ParsesTheSpecExample) {
  Result<SpanContext> r = ParseTraceparent(kValid);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->trace_id.ToHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(r->span_id.ToHex(), "00f067aa0ba902b7");
  EXPECT_TRUE(r->sampled());
  EXPECT_TRUE(r->remote);
  EXPECT_EQ(FormatTraceparent(*r), kValid);
}

TEST(TraceparentTest, RejectsEverythingTheSpecForbids) {
  const std::map<std::string, std::string> bad = {
      {"", "too short"},
      {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "trace-id"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", "parent-id"},
      {"00-00000000000000000000000000000000-00f067aa0ba902b7-01", "all zeros"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "all zeros"},
      {"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "ff"},
      {"0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", "exactly 55"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x", "trace-flags"},
      {"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "separated"},
      {"00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01", "separated"},
      {"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", "must start with '-'"},
      {" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version"},
  };
  for (const auto& [value, why] : bad) {
    Result<SpanContext> r = ParseTraceparent(value);
    ASSERT_FALSE(r.ok()) << value;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(why), std::string::npos)
        << value << " -> " << r.status().message();
  }
}

TEST(TraceparentTest, AcceptsFutureVersionsWithExtraFields) {
  Result<SpanContext> r =
      ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what-the-future");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->trace_flags, kTraceFlagSampled);  // unknown flag bits of a future version dropped
}

TEST(TraceStateTest, ParsesMembersWithWhitespaceAndEmptyEntries) {
  Result<TraceState> r = TraceState::Parse("congo=t61rcWkgMzE, ,rojo=00f067aa0ba902b7\t,a@b=x y");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 3u);
  EXPECT_EQ(r->Get("congo"), "t61rcWkgMzE");
  EXPECT_EQ(r->Get("a@b"), "x y");
  EXPECT_EQ(r->ToHeader(), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,a@b=x y");
}

TEST(TraceStateTest, RejectsBadKeysValuesDuplicatesAndTooManyMembers) {
  EXPECT_FALSE(TraceState::Parse("Congo=1").ok());              // uppercase key
  EXPECT_FALSE(TraceState::Parse("congo").ok());                // no '='
  EXPECT_FALSE(TraceState::Parse("congo=").ok());               // empty value
  EXPECT_FALSE(TraceState::Parse("congo=a,b").ok());            // second member without '='
  EXPECT_FALSE(TraceState::Parse("congo=a=b").ok());            // '=' in value
  EXPECT_FALSE(TraceState::Parse("k=1,k=2").ok());              // duplicate
  EXPECT_FALSE(TraceState::Parse("@sys=1").ok());               // empty tenant
  EXPECT_FALSE(TraceState::Parse("t@Sys=1").ok());              // system must start lowercase
  EXPECT_FALSE(TraceState::Parse("t@abcdefghijklmno=1").ok());  // system > 14
  std::string many;
  for (int i = 0; i < 33; ++i) many += "k" + std::to_string(i) + "=v,";
  EXPECT_FALSE(TraceState::Parse(many).ok());
}

TEST(TraceStateTest, SetMovesKeyToFrontAndCapsAt32) {
  TraceState ts;
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(ts.Set("k" + std::to_string(i), "v").ok());
  EXPECT_EQ(ts.size(), kMaxTracestateMembers);
  EXPECT_EQ(ts.entries().front().first, "k39");
  ASSERT_TRUE(ts.Set("k20", "new").ok());
  EXPECT_EQ(ts.entries().front().first, "k20");
  EXPECT_EQ(ts.size(), kMaxTracestateMembers);
  EXPECT_FALSE(ts.Set("BAD", "v").ok());
}

class MapCarrier : public TextMapCarrier {
 public:
  std::string_view Get(std::string_view key) const override {
    auto it = m.find(std::string(key));
    return it == m.end() ? std::string_view() : std::string_view(it->second);
  }
  void Set(std::string_view key, std::string_view value) override {
    m[std::string(key)] = std::string(value);
  }
  std::map<std::string, std::string> m;
};

TEST(PropagationTest, InjectThenExtractRoundTrips) {
  SeededIdGenerator ids(7);
  SpanContext ctx{ids.NewTraceId(), ids.NewSpanId(), kTraceFlagSampled, false};
  TraceState ts;
  ASSERT_TRUE(ts.Set("strobe", "abc").ok());
  MapCarrier c;
  Inject(ctx, ts, c);
  Result<RemoteContext> r = Extract(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->context.trace_id, ctx.trace_id);
  EXPECT_EQ(r->context.span_id, ctx.span_id);
  EXPECT_TRUE(r->context.remote);
  EXPECT_EQ(r->state.Get("strobe"), "abc");
}

TEST(PropagationTest, ExtractDropsBadTracestateButKeepsContext) {
  MapCarrier c;
  c.m["traceparent"] = std::string(kValid);
  c.m["tracestate"] = "BAD KEY=1";
  Result<RemoteContext> r = Extract(c);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->state.empty());
}

TEST(PropagationTest, ExtractReportsMissingAndMalformedTraceparent) {
  MapCarrier c;
  EXPECT_EQ(Extract(c).status().code(), StatusCode::kNotFound);
  c.m["traceparent"] = "00-xyz";
  EXPECT_EQ(Extract(c).status().code(), StatusCode::kInvalidArgument);
}

TEST(IdsTest, HexRoundTripAndStrictness) {
  SeededIdGenerator ids(1);
  TraceId t = ids.NewTraceId();
  EXPECT_EQ(TraceId::FromHex(t.ToHex()), t);
  EXPECT_FALSE(TraceId::FromHex("0123").has_value());
  EXPECT_FALSE(TraceId::FromHex(std::string(32, '0')).has_value());
  EXPECT_FALSE(SpanId::FromHex("00F067AA0BA902B7").has_value());
}

TEST(IdsTest, RandomIdsUseTheFullWidth) {
  // Every byte position of 256 ids must take many distinct values: no zero or constant halves.
  SeededIdGenerator ids(42);
  std::array<std::array<bool, 256>, 16> seen{};
  for (int i = 0; i < 256; ++i) {
    TraceId t = ids.NewTraceId();
    for (size_t b = 0; b < 16; ++b) seen[b][t.bytes[b]] = true;
  }
  for (size_t b = 0; b < 16; ++b) {
    int distinct = 0;
    for (bool s : seen[b]) distinct += s ? 1 : 0;
    EXPECT_GT(distinct, 100) << "byte " << b;
  }
  // The default generator differs per draw and is never zero.
  TraceId a = DefaultIdGenerator().NewTraceId();
  TraceId b = DefaultIdGenerator().NewTraceId();
  EXPECT_NE(a, b);
  EXPECT_TRUE(a.valid());
}

}  // namespace
}  // namespace strobe::trace
