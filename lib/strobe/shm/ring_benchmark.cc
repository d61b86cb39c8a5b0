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

#include "strobe/shm/bench_util.h"
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
  strobe::shm::testing::RunLocalWriteBaseline(state);
}

// The design alternative, measured: ONE ring shared by all producers (what a multi-producer
// ring costs). Producers claim 32-byte slots with a fetch_add on a shared reserve counter,
// write the record and publish it with a per-slot sequence number (release); one consumer
// thread reads slots in order, waiting for each slot's sequence (acquire) and freeing it.
// Fixed-size records only (the real format is variable-length, which a shared ring makes
// harder still), and no crash story: a producer that dies between claim and publish stalls
// the consumer at its slot forever — the per-producer rings above have neither problem.
struct SharedRing {
  static constexpr uint64_t kSlots = 1 << 15;  // 1 MiB of 32-byte slots, like the rings above
  struct alignas(32) Slot {
    std::atomic<uint64_t> seq{0};  // position + 1 once published
    uint64_t series = 0, ts = 0, value = 0;
  };
  alignas(64) std::atomic<uint64_t> reserve{0};  // written by every producer (contended)
  alignas(64) std::atomic<uint64_t> read{0};     // written by the consumer
  alignas(64) Slot slots[kSlots];
  std::atomic<bool> stop{false};
  std::thread consumer;

  SharedRing() {
    consumer = std::thread([this] {
      uint64_t pos = 0, sum = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        Slot& s = slots[pos & (kSlots - 1)];
        // Acquire: pairs with the producer's release of seq; the payload is visible.
        if (s.seq.load(std::memory_order_acquire) != pos + 1) continue;
        sum += s.value;
        ++pos;
        // Release: the producer reusing the slot (acquire on read) sees it consumed.
        read.store(pos, std::memory_order_release);
      }
      benchmark::DoNotOptimize(sum);
    });
  }
  ~SharedRing() {
    stop = true;
    consumer.join();
  }
  void Write(uint64_t series, uint64_t value) {
    const uint64_t pos = reserve.fetch_add(1, std::memory_order_relaxed);
    // Wait for the slot to be free (the consumer is less than a ring behind).
    while (pos - read.load(std::memory_order_acquire) >= kSlots) {
    }
    Slot& s = slots[pos & (kSlots - 1)];
    s.series = series;
    s.value = value;
    s.seq.store(pos + 1, std::memory_order_release);
  }
  void WaitDrained() {
    const uint64_t end = reserve.load();
    while (read.load(std::memory_order_acquire) < end) {
    }
  }
};

// One shared ring per run (Setup/Teardown run once around all threads of a run), so its
// spinning consumer does not steal a core from the benchmarks after it.
SharedRing* g_shared = nullptr;
void SetUpShared(const benchmark::State&) { g_shared = new SharedRing(); }
void TearDownShared(const benchmark::State&) {
  delete g_shared;
  g_shared = nullptr;
}

void RunShared(benchmark::State& state) {
  SharedRing& r = *g_shared;
  uint64_t i = 0;
  for (auto _ : state) r.Write(7, ++i);
  r.WaitDrained();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
void shm_ring_design_shared_1producer(benchmark::State& state) { RunShared(state); }
void shm_ring_design_shared_2producers(benchmark::State& state) { RunShared(state); }

BENCHMARK(shm_ring_baseline_local_write);
BENCHMARK(shm_ring_design_shared_1producer)
    ->Threads(1)
    ->UseRealTime()
    ->Setup(SetUpShared)
    ->Teardown(TearDownShared);
BENCHMARK(shm_ring_design_shared_2producers)
    ->Threads(2)
    ->UseRealTime()
    ->Setup(SetUpShared)
    ->Teardown(TearDownShared);
BENCHMARK(shm_ring_raw_1producer)->Threads(1)->UseRealTime();
BENCHMARK(shm_ring_raw_2producers)->Threads(2)->UseRealTime();

}  // namespace
