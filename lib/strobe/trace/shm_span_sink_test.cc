#include "strobe/trace/shm_span_sink.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "strobe/shm/reader.h"
#include "strobe/shm/record.h"
#include "strobe/shm/test_util.h"
#include "strobe/trace/tracer.h"

namespace strobe::trace {
namespace {

// Decodes every SPAN and EVENT record of the rings in `dir`.
struct Decoded : shm::RecordSink {
  struct S {
    std::string trace_hex, name;
    uint64_t span_id = 0, parent = 0, start = 0, end = 0;
    std::map<std::string, std::string> attrs;
    uint32_t producer = 0;
  };
  void OnRecord(const shm::RecordView& r) override {
    if (r.type == STROBE_REC_SPAN) {
      shm::SpanRecord rec;
      ASSERT_TRUE(shm::DecodeSpan(r, &rec));
      S s;
      static const char* kHex = "0123456789abcdef";
      for (uint8_t b : rec.trace_id) {
        s.trace_hex.push_back(kHex[b >> 4]);
        s.trace_hex.push_back(kHex[b & 15]);
      }
      s.name = std::string(rec.name);
      s.span_id = rec.span_id;
      s.parent = rec.parent_span_id;
      s.start = rec.start_ns;
      s.end = rec.end_ns;
      for (auto& [k, v] : rec.attributes) s.attrs[std::string(k)] = std::string(v);
      s.producer = r.producer;
      spans.push_back(std::move(s));
    } else if (r.type == STROBE_REC_EVENT) {
      shm::EventRecord rec;
      ASSERT_TRUE(shm::DecodeEvent(r, &rec));
      S e;
      e.name = std::string(rec.name);
      e.start = rec.timestamp_ns;
      for (auto& [k, v] : rec.attributes) e.attrs[std::string(k)] = std::string(v);
      events.push_back(std::move(e));
    }
  }
  std::vector<S> spans, events;
};

uint64_t BigEndian(const SpanId& id) {
  uint64_t v = 0;
  for (uint8_t b : id.bytes) v = (v << 8) | b;
  return v;
}

class ShmSpanSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shm::ConsumerOptions co;
    co.ring = "spans";
    co.dir = dir_.path();
    consumer_ = shm::Consumer::Open(co).value();  // writes the daemon marker
  }
  void Drain() {
    consumer_->Scan(decoded_);
    while (consumer_->Poll(decoded_) > 0) {
    }
  }
  ShmSpanSinkOptions Options() {
    ShmSpanSinkOptions o;
    o.ring = "spans";
    o.dir = dir_.path();
    o.service_name = "checkout";
    return o;
  }

  shm::testing::TempDir dir_;
  std::unique_ptr<shm::Consumer> consumer_;
  Decoded decoded_;
};

TEST_F(ShmSpanSinkTest, SpansKeepIdsKindStatusAttributesAndEvents) {
  auto sink = ShmSpanSink::Create(Options()).value();
  Tracer tracer(*sink);
  SpanContext root_ctx, child_ctx;
  {
    Span root(tracer, "GET /cart", SpanKind::kServer);
    root.SetAttribute("http.route", "/cart");
    root.SetAttribute("http.status_code", 500);
    root.SetAttribute("cache.hit", false);
    root.SetAttribute("ratio", 0.25);
    root.SetStatus(SpanStatus::kError, "backend down");
    int ev = root.AddEvent("retry", 123456789);
    root.SetEventAttribute(ev, "attempt", int64_t{2});
    root_ctx = root.context();
    {
      Span child(tracer, "SELECT", SpanKind::kClient);
      child_ctx = child.context();
    }
  }
  Drain();
  ASSERT_EQ(decoded_.spans.size(), 2u);
  const auto& child = decoded_.spans[0];  // ends first
  const auto& root = decoded_.spans[1];
  EXPECT_EQ(root.name, "GET /cart");
  EXPECT_EQ(root.trace_hex, root_ctx.trace_id.ToHex());
  EXPECT_EQ(root.span_id, BigEndian(root_ctx.span_id));
  EXPECT_EQ(root.parent, 0u);
  EXPECT_LE(root.start, root.end);
  EXPECT_EQ(root.attrs.at("span.kind"), "server");
  EXPECT_EQ(root.attrs.at("otel.status_code"), "ERROR");
  EXPECT_EQ(root.attrs.at("otel.status_description"), "backend down");
  EXPECT_EQ(root.attrs.at("service.name"), "checkout");
  EXPECT_EQ(root.attrs.at("http.route"), "/cart");
  EXPECT_EQ(root.attrs.at("http.status_code"), "500");
  EXPECT_EQ(root.attrs.at("cache.hit"), "false");
  EXPECT_EQ(root.attrs.at("ratio"), "0.25");
  EXPECT_EQ(child.name, "SELECT");
  EXPECT_EQ(child.parent, BigEndian(root_ctx.span_id));
  EXPECT_EQ(child.span_id, BigEndian(child_ctx.span_id));
  EXPECT_EQ(child.attrs.at("span.kind"), "client");
  EXPECT_EQ(child.attrs.count("otel.status_code"), 0u);
  ASSERT_EQ(decoded_.events.size(), 1u);
  EXPECT_EQ(decoded_.events[0].name, "retry");
  EXPECT_EQ(decoded_.events[0].start, 123456789u);
  EXPECT_EQ(decoded_.events[0].attrs.at("attempt"), "2");
  EXPECT_EQ(decoded_.events[0].attrs.at("trace_id"), root_ctx.trace_id.ToHex());
  EXPECT_EQ(decoded_.events[0].attrs.at("span_id"), root_ctx.span_id.ToHex());
  EXPECT_EQ(sink->dropped(), 0u);
}

TEST_F(ShmSpanSinkTest, EachThreadWritesItsOwnRing) {
  auto sink = ShmSpanSink::Create(Options()).value();
  Tracer tracer(*sink);
  constexpr int kThreads = 4, kSpans = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kSpans; ++i) Span s(tracer, "work");
    });
  }
  for (auto& t : threads) t.join();  // thread exit closes each thread's ring
  Drain();
  EXPECT_EQ(decoded_.spans.size(), size_t{kThreads * kSpans});
  std::map<uint32_t, int> per_ring;
  for (const auto& s : decoded_.spans) ++per_ring[s.producer];
  EXPECT_EQ(per_ring.size(), size_t{kThreads});
  for (auto& [ring, n] : per_ring) EXPECT_EQ(n, kSpans) << ring;
  EXPECT_EQ(consumer_->stats().rings_reclaimed, size_t{kThreads});
  EXPECT_EQ(sink->dropped(), 0u);
}

TEST_F(ShmSpanSinkTest, AForkedChildWritesItsOwnRingNotTheParents) {
  auto sink = ShmSpanSink::Create(Options()).value();
  Tracer tracer(*sink);
  { Span s(tracer, "parent-before"); }
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    { Span s(tracer, "child"); }
    _exit(sink->dropped() == 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  { Span s(tracer, "parent-after"); }
  Drain();
  std::map<std::string, uint32_t> ring_of;
  for (const auto& s : decoded_.spans) ring_of[s.name] = s.producer;
  ASSERT_EQ(ring_of.size(), 3u);
  EXPECT_EQ(ring_of["parent-before"], ring_of["parent-after"]);
  EXPECT_NE(ring_of["child"], ring_of["parent-before"]);
  EXPECT_EQ(consumer_->stats().malformed, 0u);
}

TEST_F(ShmSpanSinkTest, AFullRingDropsAndCounts) {
  ShmSpanSinkOptions o = Options();
  o.capacity_bytes = STROBE_RING_MIN_CAPACITY;
  auto sink = ShmSpanSink::Create(o).value();
  Tracer tracer(*sink);
  for (int i = 0; i < 1000; ++i) Span s(tracer, "x");  // nobody drains meanwhile
  EXPECT_GT(sink->dropped(), 900u);
  Drain();
  EXPECT_EQ(decoded_.spans.size() + sink->dropped(), 1000u);
}

TEST_F(ShmSpanSinkTest, NoDaemonIsAClearError) {
  consumer_.reset();  // removes the marker
  auto sink = ShmSpanSink::Create(Options());
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(sink.status().message().find("not running"), std::string::npos);
  ShmSpanSinkOptions bad = Options();
  bad.ring = "../etc";
  EXPECT_EQ(ShmSpanSink::Create(bad).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strobe::trace
