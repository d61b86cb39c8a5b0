// Concurrent key interning and pool use (label stress; run under TSan).

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"

namespace strobed::event {
namespace {

TEST(KeyTableStressTest, ConcurrentInternAgreesOnIds) {
  KeyTable table(4096);
  constexpr int kThreads = 4;
  constexpr int kKeys = 1000;
  std::vector<std::vector<uint32_t>> ids(kThreads, std::vector<uint32_t>(kKeys));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        int k = (i * 7 + t * 13) % kKeys;
        auto id = table.Intern("key." + std::to_string(k));
        ASSERT_TRUE(id.has_value());
        ids[static_cast<std::size_t>(t)][static_cast<std::size_t>(k)] = id->index;
        ASSERT_EQ(table.Name(*id), "key." + std::to_string(k));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(table.size(), static_cast<std::size_t>(kKeys));
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(ids[static_cast<std::size_t>(t)], ids[0]);
}

TEST(BatchPoolStressTest, BatchesMoveBetweenThreads) {
  BatchPool pool({.max_pooled = 16});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        BatchPtr b = pool.Acquire();
        b->AddMetric().name = b->arena().CopyString("m");
        ASSERT_EQ(b->size(), 1u);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(pool.pooled(), 16u);
}

}  // namespace
}  // namespace strobed::event
