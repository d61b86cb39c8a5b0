// C++ producer -> shm ring -> the daemon's consumer: the shm receiver (its consumer thread,
// strobe::shm::Consumer, ShmTranslator aggregating every COUNTER_ADD into its series, and
// pushes into a pipeline entry that takes and releases the batches). Producers spin when
// their ring is full (nothing dropped), so items_per_second is the end-to-end rate of records
// the daemon consumed. Each run ends with a PING round trip, so every record counted was
// processed by the receiver.
//
// Stable names (issue 7): shm_ring_1producer, shm_ring_2producers. In-run baseline:
// shm_ring_baseline_local_write does the same record stores into a private buffer. The time
// of the final PING round trip is outside the timed loop; it covers at most one ring (32 Ki
// records) of backlog, negligible against the >= 10^8 records of a run.
// Needs an otherwise idle machine with >= 2 cores: the receiver thread and one producer each
// want a core; shm_ring_2producers shares 2 cores between 3 busy threads on the reference VM.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "strobe/shm/bench_util.h"
#include "strobe/shm/producer.h"
#include "strobe/shm/test_util.h"
#include "strobed/receivers/shm/shm_receiver.h"

namespace {

using namespace strobed;  // NOLINT(google-build-using-namespace): benchmark file

class DiscardIngest final : public pipeline::Ingest {
 public:
  pipeline::PushResult Push(event::BatchPtr&& batch,
                            const pipeline::PushOptions& options) noexcept override {
    (void)options;
    batch.reset();
    return {};
  }
  event::BatchPool& pool() noexcept override { return pool_; }

 private:
  event::BatchPool pool_;
};

struct Daemon {
  strobe::shm::testing::TempDir dir;
  strobe::metrics::Registry registry;
  event::KeyTable keys;
  DiscardIngest ingest;
  std::unique_ptr<receivers::ShmReceiver> receiver;
  std::atomic<uint32_t> next_instance{1'000'000};
  Daemon() {
    receivers::ShmReceiverOptions o;
    o.ring = "bench";
    o.dir = dir.path();
    o.metrics = &registry;
    o.keys = &keys;
    o.scan_interval = std::chrono::milliseconds(1);  // find a new producer at once
    receiver = std::make_unique<receivers::ShmReceiver>(o);
    if (!receiver->Start(ingest).ok()) std::abort();
  }
};

Daemon& Shared() {
  static Daemon* d = new Daemon();  // lives until exit (the receiver thread runs to the end)
  return *d;
}

std::unique_ptr<strobe::shm::Producer> NewProducer() {
  strobe::shm::ProducerOptions o;
  o.ring = "bench";
  o.dir = Shared().dir.path();
  o.capacity_bytes = 1 << 20;
  o.policy = strobe::shm::FullPolicy::kSpin;
  o.spin_limit = UINT64_MAX;
  o.instance = Shared().next_instance.fetch_add(1);
  return strobe::shm::Producer::Connect(o).value();
}

void RunProducer(benchmark::State& state) {
  auto p = NewProducer();
  const uint64_t id = p->DefineSeries(STROBE_KIND_COUNTER, "bench_total",
                                      {{"thread", std::to_string(state.thread_index())}});
  for (auto _ : state) {
    p->CounterAdd(id, 1);
  }
  p->Ping(1);
  while (p->AckSeq() != 1) {
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void shm_ring_1producer(benchmark::State& state) { RunProducer(state); }
void shm_ring_2producers(benchmark::State& state) { RunProducer(state); }

void shm_ring_baseline_local_write(benchmark::State& state) {
  strobe::shm::testing::RunLocalWriteBaseline(state);
}

BENCHMARK(shm_ring_baseline_local_write);
BENCHMARK(shm_ring_1producer)->Threads(1)->UseRealTime();
BENCHMARK(shm_ring_2producers)->Threads(2)->UseRealTime();

}  // namespace
