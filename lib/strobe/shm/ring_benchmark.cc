// shm ring throughput at the ring level: producer thread(s) writing 32-byte COUNTER_ADD
// records (8-byte frame + 24-byte payload) into their own rings while one consumer thread
// drains them all into a counting sink. The producers spin when the ring is full (no drops),
// so items_per_second is the transfer rate producer -> ring -> reader. The stable
// names (shm_ring_1producer / shm_ring_2producers) measure the daemon's real consumer, the
// shm receiver with its translator: daemon/strobed/receivers/shm/shm_receiver_benchmark.cc.
//
// Meaningful numbers need an otherwise idle machine with >= 2 cores (consumer + producer);
// shm_ring_raw_2producers shares 2 cores between 3 threads on the reference VM.
// In-run baseline: shm_ring_baseline_local_write does the same stores into a private buffer.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "strobe/shm/producer.h"
#include "strobe/shm/reader.h"
#include "strobe/shm/test_util.h"

namespace {

using namespace strobe::shm;  // NOLINT(google-build-using-namespace): benchmark file

struct CountingSink : RecordSink {
  void OnRecord(const RecordView& r) override { sum += r.length; }
  uint64_t sum = 0;
};

// One consumer thread for the whole process, draining every ring of ring name "bench".
struct Bench {
  testing::TempDir dir;
  std::unique_ptr<Consumer> consumer;
  std::thread thread;
  std::atomic<uint32_t> next_instance{1000000};
  Bench() {
    ConsumerOptions o;
    o.ring = "bench";
    o.dir = dir.path();
    consumer = Consumer::Open(o).value();
    thread = std::thread([this] {
      CountingSink sink;
      uint64_t idle = 0;
      for (;;) {
        if (consumer->Poll(sink) == 0 && (++idle & 255) == 0) consumer->Scan(sink);
      }
    });
    thread.detach();  // lives until the process exits
  }
};

Bench& Shared() {
  static Bench* b = new Bench();  // never destroyed: the consumer thread runs to exit
  return *b;
}

std::unique_ptr<Producer> NewProducer() {
  Bench& b = Shared();
  ProducerOptions o;
  o.ring = "bench";
  o.dir = b.dir.path();
  o.capacity_bytes = 1 << 20;
  o.policy = FullPolicy::kSpin;
  o.spin_limit = UINT64_MAX;
  o.instance = b.next_instance.fetch_add(1);
  return Producer::Connect(o).value();
}

void RunProducer(benchmark::State& state) {
  auto p = NewProducer();
  uint64_t i = 0;
  for (auto _ : state) {
    p->CounterAdd(7, ++i);
  }
  // Wait until the consumer caught up so the next run starts from an empty ring.
  p->Ping(1);
  while (p->AckSeq() != 1) {
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void shm_ring_raw_1producer(benchmark::State& state) { RunProducer(state); }
void shm_ring_raw_2producers(benchmark::State& state) { RunProducer(state); }

void shm_ring_baseline_local_write(benchmark::State& state) {
  std::vector<uint8_t> buf(1 << 20);
  const uint64_t mask = buf.size() - 1;
  uint64_t pos = 0;
  uint64_t i = 0;
  for (auto _ : state) {
    uint8_t* d = buf.data() + (pos & mask);
    const strobe_frame f{24, STROBE_REC_COUNTER_ADD, 0};
    const uint64_t id = 7, ts = 0, v = ++i;
    std::memcpy(d, &f, 8);
    std::memcpy(d + 8, &id, 8);
    std::memcpy(d + 16, &ts, 8);
    std::memcpy(d + 24, &v, 8);
    pos += 32;
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(shm_ring_baseline_local_write);
BENCHMARK(shm_ring_raw_1producer)->Threads(1)->UseRealTime();
BENCHMARK(shm_ring_raw_2producers)->Threads(2)->UseRealTime();

}  // namespace
