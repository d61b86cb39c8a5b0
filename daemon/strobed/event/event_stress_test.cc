// Concurrent key interning and pool use (label stress; run under TSan).

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"
#include "strobed/event/span.h"

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

// Workers flood a small table with one-off keys (plus recurring and permanent ones) in batches,
// some of them copied into batches kept for a while, while a sweeper reclaims continuously.
// Every id a live batch carries must still name the text it was interned for: a recycled id
// read by a holder of the old one would be relabelled data.
TEST(KeyTableStressTest, SweepsNeverRelabelIdsInLiveBatches) {
  KeyTable table(256);
  constexpr int kPermanent = 8;
  for (int i = 0; i < kPermanent; ++i) ASSERT_TRUE(table.Intern("perm." + std::to_string(i)));
  BatchPool pool({.max_pooled = 64, .keys = &table});
  constexpr int kWorkers = 3;
  constexpr int kIterations = 4000;
  // Sweeps and batches interleave at a bounded ratio: a sweep per kPace batches, and a worker
  // waits while the workers are more than 3 * kPace batches past the latest sweep (on two cores
  // either side could otherwise run alone for a whole time slice).
  constexpr uint64_t kPace = 32;
  std::atomic<int> running{kWorkers};
  std::atomic<uint64_t> mismatches{0};
  std::atomic<uint64_t> once_admitted{0};  // one-off keys the table took
  std::atomic<uint64_t> progress{0};       // batches the workers finished
  std::atomic<uint64_t> swept_at{0};       // `progress` when the latest sweep began
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      std::deque<BatchPtr> kept;  // copies that outlive their source for a few iterations
      auto check = [&](const Batch& b) {
        for (const Span& s : b.spans()) {
          for (const Attribute& a : s.attributes) {
            if (table.Name(a.key) != a.value.AsString()) mismatches.fetch_add(1);
          }
        }
      };
      for (int i = 0; i < kIterations; ++i) {
        while (progress.load() > swept_at.load() + 3 * kPace) std::this_thread::yield();
        BatchPtr b = pool.Acquire();
        KeyBudget budget;
        std::vector<Attribute> attrs;
        // Every other batch interns its keys inside one ReadSection, as the OTLP decoders do
        // (the nested lookup path); the others give each lookup a section of its own.
        std::optional<KeyTable::ReadSection> section;
        if (i % 2 == 0) section.emplace(table);
        for (int k = 0; k < 6; ++k) {
          std::string name;
          if (k < 3) {
            name = "w" + std::to_string(w) + ".once." + std::to_string(i * 3 + k);
          } else if (k < 5) {
            name = "shared." + std::to_string((i + k) % 16);
          } else {
            name = "perm." + std::to_string(i % kPermanent);
          }
          std::optional<KeyId> id = table.Intern(name, budget);
          if (!id) continue;  // table full for now: refused, never relabelled
          if (k < 3) once_admitted.fetch_add(1, std::memory_order_relaxed);
          attrs.push_back({*id, Value::String(b->arena().CopyString(name))});
        }
        section.reset();
        Span& s = b->AddSpan();
        s.attributes = b->arena().CopyArray<Attribute>(attrs);
        check(*b);
        if (i % 7 == 0) {
          BatchPtr copy = pool.Acquire();
          EventCopier copier(*copy, *b);
          copier.CopyAll(*b);
          kept.push_back(std::move(copy));
          if (kept.size() > 4) {
            check(*kept.front());
            kept.pop_front();
          }
        }
        b.reset();
        for (const BatchPtr& k : kept) check(*k);
        progress.fetch_add(1);
      }
      for (const BatchPtr& k : kept) check(*k);
      running.fetch_sub(1);
    });
  }
  uint64_t sweeps = 0;
  while (running.load() > 0) {
    const uint64_t now = progress.load();
    if (now >= swept_at.load() + kPace) {
      swept_at.store(now);
      table.Sweep();
      ++sweeps;
    }
    std::this_thread::yield();
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0u);
  // The flood (27,000 one-off keys into 256 slots) got in only through reclaimed ids.
  // Without reclamation at most 256 - 8 - 16 of them would fit.
  EXPECT_GE(sweeps, kWorkers * kIterations / (4 * kPace));  // the pacing bound
  EXPECT_GT(table.reclaimed(), 1000u) << "epoch " << table.epoch();
  EXPECT_GT(once_admitted.load(), 1000u);
  // Nothing is held any more: three sweeps unlink, advance and recycle every budgeted key.
  for (int i = 0; i < 3; ++i) table.Sweep();
  EXPECT_EQ(table.size(), static_cast<std::size_t>(kPermanent));
  for (int i = 0; i < kPermanent; ++i) {
    auto id = table.Find("perm." + std::to_string(i));
    ASSERT_TRUE(id.has_value());
    EXPECT_EQ(id->index, static_cast<uint32_t>(i));
  }
}

}  // namespace
}  // namespace strobed::event
