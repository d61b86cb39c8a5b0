// Values recorded by threads that exit are folded into the retired accumulator, not lost.

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "strobe/metrics/internal/shard.h"
#include "strobe/metrics/registry.h"

namespace strobe::metrics {
namespace {

TEST(ThreadExitTest, ValuesOfExitedThreadsAreKept) {
  Registry r;
  Counter& c = *r.AddCounter({"exits_total", "", ""}).value();
  FloatCounter& f = *r.AddFloatCounter({"exits_seconds_total", "", "seconds"}).value();
  UpDownCounter& u = *r.AddUpDownCounter({"exits_level", "", ""}).value();
  Histogram& h = *r.AddHistogram({"exits_ns", "", ""}).value();
  const size_t live_before = internal::Shards::Get().LiveThreadsForTest();
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 1000; ++i) {
          c.Inc();
          f.Add(0.5);
          u.Add(t % 2 == 0 ? 2 : -1);
          h.Record(static_cast<uint64_t>(i + 1) * 1000);
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(internal::Shards::Get().LiveThreadsForTest(), live_before);
  EXPECT_EQ(c.Value(), 12'000u);
  EXPECT_DOUBLE_EQ(f.Value(), 6'000);
  EXPECT_EQ(u.Value(), 3 * (2 * 2000 - 2 * 1000));
  HistogramData d = h.Data();
  EXPECT_EQ(d.count(), 12'000u);
  EXPECT_EQ(d.min(), 1000);
  EXPECT_EQ(d.max(), 1'000'000);
  EXPECT_DOUBLE_EQ(d.sum(), 12.0 * 500'500'000 / 1);
}

struct RecordsOnDestruction {
  Counter* c = nullptr;
  ~RecordsOnDestruction() {
    if (c != nullptr) c->Add(7);
  }
};

TEST(ThreadExitTest, RecordsFromThreadLocalDestructorsAreKept) {
  Registry r;
  Counter& c = *r.AddCounter({"late_total", "", ""}).value();
  std::thread t([&] {
    thread_local RecordsOnDestruction late;
    late.c = &c;
    c.Inc();
  });
  t.join();
  EXPECT_EQ(c.Value(), 8u);
}

TEST(ThreadExitTest, RemovedHistogramDoesNotLeakIntoTheNextOne) {
  Registry r;
  Histogram& h = *r.AddHistogram({"first_ns", "", ""}).value();
  std::thread([&] { h.Record(5); }).join();
  h.Record(6);
  ASSERT_TRUE(r.Remove("first_ns").ok());
  Histogram& h2 = *r.AddHistogram({"second_ns", "", ""}).value();
  EXPECT_EQ(h2.Data().count(), 0u);
}

}  // namespace
}  // namespace strobe::metrics
