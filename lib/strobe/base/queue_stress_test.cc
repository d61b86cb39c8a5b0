// Concurrency stress for MpmcQueue and SpscRing (label stress; run under TSan, which checks
// the memory orders documented in the headers: a missing release/acquire pair shows up as a
// data race on the cell values).

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "strobe/base/mpmc_queue.h"
#include "strobe/base/spsc_ring.h"

namespace strobe {
namespace {

TEST(MpmcQueueStressTest, EveryValueArrivesExactlyOnce) {
  constexpr int kProducers = 3;
  constexpr int kConsumers = 2;
  constexpr uint64_t kPerProducer = 100'000;
  MpmcQueue<uint64_t> q(64);
  std::atomic<uint64_t> sum{0};
  std::atomic<uint64_t> count{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (uint64_t i = 1; i <= kPerProducer; ++i) {
        uint64_t v = static_cast<uint64_t>(p) * kPerProducer + i;
        while (!q.TryPush(v)) std::this_thread::yield();
      }
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&] {
      uint64_t v = 0;
      while (count.load() < kProducers * kPerProducer) {
        if (q.TryPop(v)) {
          sum.fetch_add(v);
          count.fetch_add(1);
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  uint64_t n = kProducers * kPerProducer;
  EXPECT_EQ(count.load(), n);
  EXPECT_EQ(sum.load(), n * (n + 1) / 2);
}

TEST(SpscRingStressTest, OrderIsPreserved) {
  constexpr uint64_t kN = 500'000;
  SpscRing<uint64_t> q(32);
  std::thread producer([&] {
    for (uint64_t i = 0; i < kN; ++i) {
      while (!q.TryPush(i)) std::this_thread::yield();
    }
  });
  uint64_t expected = 0;
  uint64_t v = 0;
  while (expected < kN) {
    if (q.TryPop(v)) {
      ASSERT_EQ(v, expected);
      ++expected;
    } else {
      std::this_thread::yield();
    }
  }
  producer.join();
}

// In-place writes and reads of a multi-word element: a consumer never sees a torn element
// (all words equal) and every element arrives exactly once.
TEST(MpmcQueueStressTest, InPlaceElementsAreNeverTorn) {
  struct Wide {
    uint64_t words[8];
  };
  constexpr int kProducers = 2;
  constexpr int kConsumers = 2;
  constexpr uint64_t kPerProducer = 50'000;
  MpmcQueue<Wide> q(16);
  std::atomic<uint64_t> sum{0};
  std::atomic<uint64_t> count{0};
  std::atomic<uint64_t> torn{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (uint64_t i = 1; i <= kPerProducer; ++i) {
        const uint64_t v = static_cast<uint64_t>(p) * kPerProducer + i;
        while (!q.TryPushWith([v](Wide& w) noexcept {
          for (uint64_t& x : w.words) x = v;
        })) {
          std::this_thread::yield();
        }
      }
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&] {
      while (count.load() < kProducers * kPerProducer) {
        const bool got = q.TryPopWith([&](const Wide& w) {
          for (uint64_t x : w.words) {
            if (x != w.words[0]) torn.fetch_add(1);
          }
          sum.fetch_add(w.words[0]);
          count.fetch_add(1);
        });
        if (!got) std::this_thread::yield();
      }
    });
  }
  for (auto& t : threads) t.join();
  const uint64_t n = kProducers * kPerProducer;
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_EQ(count.load(), n);
  EXPECT_EQ(sum.load(), n * (n + 1) / 2);
}

}  // namespace
}  // namespace strobe
