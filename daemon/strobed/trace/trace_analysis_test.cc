#include "strobed/trace/trace_analysis.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace strobed::trace {
namespace {

constexpr uint64_t kTid = 0xabc;

StoredSpan S(uint64_t id, uint64_t parent, const char* svc, const char* name, uint64_t start,
             uint64_t end, bool error = false) {
  StoredSpan s;
  s.trace_id = event::TraceId::FromHalves(1, kTid);
  s.span_id = event::SpanId::FromValue(id);
  if (parent != 0) s.parent_span_id = event::SpanId::FromValue(parent);
  s.service = svc;
  s.name = name;
  s.start_ns = start;
  s.end_ns = end;
  if (error) s.status = event::StatusCode::kError;
  return s;
}

std::map<uint64_t, uint64_t> CriticalById(const AnalyzedTrace& t) {
  std::map<uint64_t, uint64_t> m;
  for (const auto& c : t.critical_path) m[t.spans[c.span].span_id.Value()] = c.contribution_ns;
  return m;
}

std::map<uint64_t, uint64_t> SelfById(const AnalyzedTrace& t) {
  std::map<uint64_t, uint64_t> m;
  for (size_t i = 0; i < t.spans.size(); ++i) m[t.spans[i].span_id.Value()] = t.self_ns[i];
  return m;
}

// A(frontend) [0,100]
//   B(checkout) [10,60]
//   C(inventory) [30,90]
//     D(db, error) [40,80]
TEST(TraceAnalysisTest, OverlappingChildrenCriticalPathAndSelfTime) {
  AnalyzedTrace t =
      Analyze({S(4, 3, "db", "query", 40, 80, true), S(1, 0, "frontend", "GET", 0, 100),
               S(3, 1, "inventory", "reserve", 30, 90), S(2, 1, "checkout", "pay", 10, 60)});
  EXPECT_TRUE(t.complete);
  EXPECT_EQ(t.spans.size(), 4u);
  EXPECT_EQ(t.spans[t.root].span_id.Value(), 1u);
  EXPECT_EQ(t.duration_ns, 100u);
  EXPECT_EQ(t.error_spans, 1u);

  auto crit = CriticalById(t);
  EXPECT_EQ(crit[1], 20u);  // [0,10] + [90,100]
  EXPECT_EQ(crit[3], 20u);  // [30,40] + [80,90]
  EXPECT_EQ(crit[4], 40u);  // [40,80]
  EXPECT_EQ(crit[2], 20u);  // [10,30]: only the part before C started counts
  uint64_t sum = 0;
  for (auto [id, ns] : crit) sum += ns;
  EXPECT_EQ(sum, t.duration_ns);
  // Path order: root, then the last-finishing child first.
  ASSERT_EQ(t.critical_path.size(), 4u);
  EXPECT_EQ(t.spans[t.critical_path[0].span].span_id.Value(), 1u);
  EXPECT_EQ(t.spans[t.critical_path[1].span].span_id.Value(), 3u);
  EXPECT_EQ(t.spans[t.critical_path[2].span].span_id.Value(), 4u);
  EXPECT_EQ(t.spans[t.critical_path[3].span].span_id.Value(), 2u);

  auto self = SelfById(t);
  EXPECT_EQ(self[1], 20u);  // 100 - |[10,90]|
  EXPECT_EQ(self[2], 50u);
  EXPECT_EQ(self[3], 20u);
  EXPECT_EQ(self[4], 40u);

  // Service calls across services, with the callee's error status.
  ASSERT_EQ(t.calls.size(), 3u);
  std::map<std::string, ServiceCall> calls;
  for (const auto& c : t.calls) calls[c.caller + ">" + c.callee] = c;
  EXPECT_EQ(calls["frontend>checkout"].latency_ns, 50u);
  EXPECT_FALSE(calls["frontend>checkout"].error);
  EXPECT_EQ(calls["frontend>inventory"].latency_ns, 60u);
  EXPECT_TRUE(calls["inventory>db"].error);

  // Breakdown by (service, operation).
  ASSERT_EQ(t.breakdown.size(), 4u);
  for (const Breakdown& b : t.breakdown) {
    if (b.service == "db") {
      EXPECT_EQ(b.errors, 1u);
      EXPECT_EQ(b.critical_ns, 40u);
      EXPECT_EQ(b.self_ns, 40u);
    }
  }
}

TEST(TraceAnalysisTest, SequentialChildrenAreAllCritical) {
  AnalyzedTrace t = Analyze(
      {S(1, 0, "a", "root", 0, 100), S(2, 1, "a", "one", 0, 40), S(3, 1, "a", "two", 50, 100)});
  auto crit = CriticalById(t);
  EXPECT_EQ(crit[1], 10u);  // the gap [40,50]
  EXPECT_EQ(crit[2], 40u);
  EXPECT_EQ(crit[3], 50u);
  EXPECT_TRUE(t.calls.empty());  // same service: no edge
}

TEST(TraceAnalysisTest, ChildOutlivingItsParentIsClipped) {
  AnalyzedTrace t = Analyze({S(1, 0, "a", "root", 0, 50), S(2, 1, "b", "async", 40, 120)});
  auto crit = CriticalById(t);
  EXPECT_EQ(crit[1], 40u);
  EXPECT_EQ(crit[2], 10u);
  EXPECT_EQ(SelfById(t)[1], 40u);
}

TEST(TraceAnalysisTest, MissingParentIsFlaggedAndTraceIncomplete) {
  AnalyzedTrace t = Analyze({S(1, 0, "a", "root", 0, 100), S(2, 1, "a", "child", 10, 20),
                             S(5, 9, "b", "orphan", 30, 60)});
  EXPECT_FALSE(t.complete);
  size_t orphan = 0;
  for (size_t i = 0; i < t.spans.size(); ++i) {
    if (t.spans[i].span_id.Value() == 5) orphan = i;
  }
  EXPECT_TRUE(t.missing_parent[orphan]);
  EXPECT_EQ(t.parent[orphan], -1);
  // The orphan is not under the root, so only root and child share the path.
  auto crit = CriticalById(t);
  EXPECT_EQ(crit.count(5), 0u);
  EXPECT_EQ(crit[1] + crit[2], 100u);
}

TEST(TraceAnalysisTest, NoRootUsesTheEarliestSpanAndIsIncomplete) {
  AnalyzedTrace t = Analyze({S(2, 7, "a", "x", 10, 20), S(3, 7, "a", "y", 5, 30)});
  EXPECT_FALSE(t.complete);
  EXPECT_EQ(t.spans[t.root].span_id.Value(), 3u);
}

TEST(TraceAnalysisTest, DuplicateSpanIdsKeepTheFirst) {
  AnalyzedTrace t = Analyze({S(1, 0, "a", "root", 0, 10), S(1, 0, "a", "dup", 0, 99)});
  EXPECT_EQ(t.spans.size(), 1u);
  EXPECT_EQ(t.spans[0].name, "root");
}

}  // namespace
}  // namespace strobed::trace
