// One writer publishing documents of varying length whose bytes all derive from their
// generation, two readers checking every copy they get is one whole document (never a mix of
// two publishes). Must pass under TSan (the seqlock uses acquire/release atomics only).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "strobe/shm/snapshot.h"
#include "strobe/shm/test_util.h"

namespace strobe::shm {
namespace {

std::string Document(uint64_t generation) {
  const size_t len = 8 + (generation * 37) % 3000;
  std::string doc(len, '\0');
  for (size_t i = 0; i < len; ++i) doc[i] = static_cast<char>('A' + (generation + i) % 26);
  return doc;
}

TEST(SnapshotStressTest, ReadersNeverSeeATornDocument) {
  testing::TempDir d;
  SnapshotWriterOptions o;
  o.ring = "s";
  o.dir = d.path();
  o.capacity_bytes = 4096;
  auto w = SnapshotWriter::Create(o).value();
  ASSERT_TRUE(w->Publish(Document(1), 1).ok());
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0}, bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      auto r = SnapshotReader::Open(d.path(), "s").value();
      uint64_t last = 0;
      while (!done.load(std::memory_order_relaxed)) {
        auto s = r.Read();
        if (!s.ok()) continue;  // kept changing: allowed, retried
        if (s->document != Document(s->generation) || s->generation < last ||
            s->time_unix_ns != s->generation) {
          bad.fetch_add(1);
        }
        last = s->generation;
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (uint64_t g = 2; g <= 20'000; ++g) ASSERT_TRUE(w->Publish(Document(g), g).ok());
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace strobe::shm
