#include "strobed/trace/trace_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "strobe/metrics/exposition.h"
#include "strobed/event/batch.h"
#include "strobed/trace/trace_json.h"
#include "strobed/trace/trace_metrics.h"

namespace strobed::trace {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

class TraceStoreTest : public ::testing::Test {
 protected:
  TraceStoreTest() : batch_(nullptr, 4096, 1 << 20) {
    auto svc = keys().Intern("service.name");
    for (const char* name : {"frontend", "backend"}) {
      auto* attrs = batch_.arena().AllocateArray<event::Attribute>(1);
      attrs[0] = {*svc, event::Value::String(name)};
      auto* r = batch_.arena().AllocateArray<event::Resource>(1);
      new (r) event::Resource();
      r->attributes = {attrs, 1};
      res_.push_back(r);
    }
  }
  static event::KeyTable& keys() { return event::KeyTable::Global(); }

  // Appends a span of trace `trace` to the batch.
  void Span(uint64_t trace, uint64_t id, uint64_t parent, int svc, uint64_t start, uint64_t end,
            bool error = false) {
    event::Span& s = batch_.AddSpan();
    s.trace_id = event::TraceId::FromHalves(7, trace);
    s.span_id = event::SpanId::FromValue(id);
    if (parent != 0) s.parent_span_id = event::SpanId::FromValue(parent);
    s.name = svc == 0 ? "GET /" : "db";
    s.start_ns = start;
    s.end_ns = end;
    s.resource = res_[static_cast<size_t>(svc)];
    if (error) s.status.code = event::StatusCode::kError;
  }
  size_t Flush(TraceStore& store, uint64_t now) {  // returns the spans evicted
    size_t evicted = store.Add(batch_.spans(), keys(), now);
    batch_.Clear();
    return evicted;
  }

  event::Batch batch_;
  std::vector<const event::Resource*> res_;
};

TraceStoreOptions Opts() {
  TraceStoreOptions o;
  o.quiet_period = std::chrono::seconds(2);
  o.max_trace_age = std::chrono::seconds(30);
  o.bucket = std::chrono::seconds(10);
  o.window_buckets = 6;
  return o;
}

TEST_F(TraceStoreTest, CompletesAfterRootAndQuietPeriod) {
  TraceStore store(Opts());
  Span(1, 11, 0, 0, 0, 100);
  Span(1, 12, 11, 1, 10, 90, true);
  Flush(store, 100 * kSec);
  store.Tick(101 * kSec);
  EXPECT_EQ(store.Stats().traces_completed, 0u);
  EXPECT_EQ(store.Stats().pending_traces, 1u);
  // A pending trace is visible, marked incomplete.
  auto pending = store.Find(event::TraceId::FromHalves(7, 1));
  ASSERT_TRUE(pending.has_value());
  EXPECT_FALSE(pending->complete);

  store.Tick(102 * kSec);
  TraceStoreStats st = store.Stats();
  EXPECT_EQ(st.traces_completed, 1u);
  EXPECT_EQ(st.pending_traces, 0u);
  EXPECT_EQ(st.pending_bytes, 0u);
  auto t = store.Find(event::TraceId::FromHalves(7, 1));
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(t->complete);
  EXPECT_EQ(t->spans.size(), 2u);

  auto edges = store.ServiceGraph(102 * kSec);
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].caller, "frontend");
  EXPECT_EQ(edges[0].callee, "backend");
  EXPECT_EQ(edges[0].calls, 1u);
  EXPECT_EQ(edges[0].errors, 1u);
  EXPECT_GE(edges[0].p50_ns, 80u);

  std::string json = TraceJson(*t);
  EXPECT_NE(json.find("\"criticalPath\""), std::string::npos);
  EXPECT_NE(json.find("\"code\":\"error\""), std::string::npos);
  strobe::metrics::Registry registry;
  base::ManualMonotonicClock clock(102 * kSec);
  ASSERT_TRUE(RegisterTraceMetrics(registry, store, clock).ok());
  std::string prom;
  strobe::metrics::TextRenderer().Render(registry, strobe::metrics::Format::kPrometheusText, &prom);
  EXPECT_NE(prom.find("strobe_service_graph_calls{client=\"frontend\",server=\"backend\"} 1"),
            std::string::npos);
  EXPECT_NE(prom.find("strobe_trace_completed_traces_total 1"), std::string::npos);
}

TEST_F(TraceStoreTest, NewSpansRestartTheQuietPeriod) {
  TraceStore store(Opts());
  Span(2, 21, 0, 0, 0, 100);
  Flush(store, 10 * kSec);
  Span(2, 22, 21, 1, 5, 50);
  Flush(store, 11 * kSec);
  store.Tick(12 * kSec + kSec / 2);
  EXPECT_EQ(store.Stats().traces_completed, 0u);
  store.Tick(13 * kSec);
  EXPECT_EQ(store.Stats().traces_completed, 1u);
}

TEST_F(TraceStoreTest, TraceWithoutRootIsFinalisedIncompleteAfterMaxAge) {
  TraceStore store(Opts());
  Span(3, 32, 31, 1, 5, 50);
  Flush(store, 10 * kSec);
  store.Tick(30 * kSec);
  EXPECT_EQ(store.Stats().traces_completed, 0u);
  store.Tick(40 * kSec);
  EXPECT_EQ(store.Stats().traces_completed, 1u);
  EXPECT_EQ(store.Stats().traces_incomplete, 1u);
}

TEST_F(TraceStoreTest, MemoryBoundEvictsTheOldestPendingTrace) {
  TraceStoreOptions o = Opts();
  o.max_pending_traces = 2;
  TraceStore store(o);
  for (uint64_t tr = 1; tr <= 3; ++tr) {
    Span(100 + tr, 1000 + tr, 999, 0, 0, 10);  // no roots: stay pending
    if (tr == 1) Span(101, 1100, 999, 0, 0, 10);
    // Add reports the spans it evicted (the pipeline counts them dropped, not forwarded).
    EXPECT_EQ(Flush(store, tr * kSec), tr == 3 ? 2u : 0u);
  }
  TraceStoreStats st = store.Stats();
  EXPECT_EQ(st.traces_evicted, 1u);
  EXPECT_EQ(st.spans_evicted, 2u);
  EXPECT_EQ(st.pending_traces, 2u);
  EXPECT_FALSE(store.Find(event::TraceId::FromHalves(7, 101)).has_value());
  EXPECT_TRUE(store.Find(event::TraceId::FromHalves(7, 103)).has_value());

  TraceStoreOptions b = Opts();
  b.max_pending_bytes = 1;  // every trace exceeds it: each evicts the previous
  TraceStore tiny(b);
  Span(200, 1, 0, 0, 0, 10);
  Flush(tiny, kSec);
  EXPECT_EQ(tiny.Stats().traces_evicted, 1u);
  EXPECT_EQ(tiny.Stats().pending_bytes, 0u);
}

TEST_F(TraceStoreTest, ServiceGraphWindowForgetsOldCalls) {
  TraceStore store(Opts());  // window 6 × 10 s
  Span(4, 41, 0, 0, 0, 100);
  Span(4, 42, 41, 1, 10, 20);
  Flush(store, 100 * kSec);
  store.Tick(103 * kSec);
  EXPECT_EQ(store.ServiceGraph(103 * kSec).size(), 1u);
  EXPECT_EQ(store.ServiceGraph(155 * kSec).size(), 1u);
  EXPECT_TRUE(store.ServiceGraph(165 * kSec).empty());
  // Cumulative operation totals stay.
  EXPECT_EQ(store.OperationTotals().size(), 2u);
}

// Edge latency percentiles are libstrobe's (HistogramData): within its stated 0.55% of the
// exact order statistic, merged across the window's buckets, sum exact.
TEST_F(TraceStoreTest, ServiceGraphLatencyPercentilesWithinHistogramBound) {
  TraceStore store(Opts());  // window 6 × 10 s
  uint64_t want_sum = 0;
  for (uint64_t i = 1; i <= 1000; ++i) {
    const uint64_t latency = i * 1'000'000;  // 1 .. 1000 ms
    Span(1000 + i, 2 * i, 0, 0, 0, 2'000'000'000);
    Span(1000 + i, 2 * i + 1, 2 * i, 1, 0, latency);
    want_sum += latency;
    // Half the calls land in an earlier bucket of the window: the quantiles merge both.
    if (i == 500) Flush(store, 100 * kSec);
  }
  Flush(store, 111 * kSec);
  store.Tick(120 * kSec);
  auto edges = store.ServiceGraph(120 * kSec);
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].calls, 1000u);
  EXPECT_EQ(edges[0].sum_ns, want_sum);
  auto within = [](uint64_t got, double exact) {
    return std::abs(static_cast<double>(got) - exact) <= exact * 0.0055;
  };
  EXPECT_TRUE(within(edges[0].p50_ns, 500e6)) << edges[0].p50_ns;
  EXPECT_TRUE(within(edges[0].p90_ns, 900e6)) << edges[0].p90_ns;
  EXPECT_TRUE(within(edges[0].p99_ns, 990e6)) << edges[0].p99_ns;
}

TEST_F(TraceStoreTest, CompletedTracesAreBounded) {
  TraceStoreOptions o = Opts();
  o.max_completed_traces = 2;
  TraceStore store(o);
  for (uint64_t tr = 1; tr <= 3; ++tr) {
    Span(300 + tr, 1, 0, 0, 0, 10);
    Flush(store, tr * kSec);
    store.FlushAll(tr * kSec);
  }
  EXPECT_EQ(store.Recent(10).size(), 2u);
  EXPECT_FALSE(store.Find(event::TraceId::FromHalves(7, 301)).has_value());
}

}  // namespace
}  // namespace strobed::trace
