// Two producer threads (one ring each) and one consumer thread in one process; every record
// must arrive exactly once and in order per producer. Run under TSan (label stress).
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <thread>

#include "strobe/shm/producer.h"
#include "strobe/shm/reader.h"
#include "strobe/shm/test_util.h"

namespace strobe::shm {
namespace {

struct SeqSink : RecordSink {
  void OnRecord(const RecordView& r) override {
    uint64_t seq = 0;
    if (r.type == STROBE_REC_COUNTER_ADD && r.length == 24) {
      std::memcpy(&seq, r.payload + 16, 8);
    } else if (r.type == STROBE_REC_EVENT && r.length >= 16) {
      std::memcpy(&seq, r.payload, 8);
    } else {
      ++bad;
      return;
    }
    uint64_t& next = next_seq[r.producer];
    if (seq != next) ++bad;
    next = seq + 1;
    ++total;
  }
  std::map<uint32_t, uint64_t> next_seq;
  uint64_t bad = 0;
  uint64_t total = 0;
};

TEST(ShmRingStressTest, TwoProducersOneConsumerExactlyOnceInOrder) {
  testing::TempDir d;
  constexpr uint64_t kPerProducer = 200000;
  ConsumerOptions co;
  co.ring = "s";
  co.dir = d.path();
  auto consumer = Consumer::Open(co);
  ASSERT_TRUE(consumer.ok());
  std::vector<std::unique_ptr<Producer>> producers;
  for (uint32_t i = 0; i < 2; ++i) {
    ProducerOptions o;
    o.ring = "s";
    o.dir = d.path();
    o.capacity_bytes = 1 << 13;  // small: forces wrap and full-ring spinning
    o.policy = FullPolicy::kSpin;
    o.spin_limit = UINT64_MAX;
    o.instance = 4000000 + i;
    auto p = Producer::Connect(o);
    ASSERT_TRUE(p.ok());
    producers.push_back(std::move(*p));
  }
  SeqSink sink;
  (*consumer)->Scan(sink);
  ASSERT_EQ((*consumer)->ring_count(), 2u);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load() || sink.total < 2 * kPerProducer) {
      (*consumer)->Poll(sink);
    }
  });
  std::vector<std::thread> writers;
  for (auto& p : producers) {
    writers.emplace_back([&p] {
      uint8_t ev[40] = {};
      for (uint64_t seq = 0; seq < kPerProducer; ++seq) {
        if (seq % 7 == 0) {
          std::memcpy(ev, &seq, 8);
          p->Write(STROBE_REC_EVENT, ev, 16 + static_cast<uint32_t>(seq % 24));
        } else {
          p->CounterAdd(1, seq);
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  done.store(true);
  reader.join();
  EXPECT_EQ(sink.bad, 0u);
  EXPECT_EQ(sink.total, 2 * kPerProducer);
  for (auto& p : producers) EXPECT_EQ(p->DroppedRecords(), 0u);
}

}  // namespace
}  // namespace strobe::shm
