// Several producer threads end spans into one SpanBuffer while a consumer drains it; every
// span is either drained intact or counted as dropped. Runs under TSan in CI.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "strobe/trace/span_buffer.h"
#include "strobe/trace/tracer.h"

namespace strobe::trace {
namespace {

TEST(SpanBufferStressTest, ProducersAndOneConsumerLoseNothingUncounted) {
  constexpr int kThreads = 6;
  constexpr int kSpansPerThread = 20000;
  SpanBuffer buf(256);
  Tracer tracer(buf);
  std::atomic<int> done{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kSpansPerThread; ++i) {
        Span s(tracer, "span");
        s.SetAttribute("thread", t);
        s.SetAttribute("i", i);
      }
      done.fetch_add(1);
    });
  }
  uint64_t drained = 0;
  bool corrupt = false;
  auto check = [&](const SpanRecord& r) {
    ++drained;
    if (r.Name() != "span" || r.attr_count != 2 || r.attrs[0].v.i < 0 ||
        r.attrs[0].v.i >= kThreads) {
      corrupt = true;
    }
  };
  while (done.load() < kThreads) buf.Drain(check);
  for (auto& p : producers) p.join();
  buf.Drain(check);
  EXPECT_FALSE(corrupt);
  EXPECT_EQ(drained + buf.dropped(), uint64_t{kThreads} * kSpansPerThread);
  EXPECT_GT(drained, 0u);
}

}  // namespace
}  // namespace strobe::trace
