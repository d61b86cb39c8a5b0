// Concurrency of StreamEngine: the pipeline worker consumes batches while a ticker closes
// windows and HTTP readers take snapshots, JSON and Prometheus text. Run under TSan.

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/event/batch.h"
#include "strobed/stream/engine.h"
#include "strobed/stream/stream_metrics.h"

namespace strobed::stream {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

TEST(StreamEngineStressTest, ConsumeTickAndReadConcurrently) {
  event::KeyTable keys(1024);
  base::ManualWallClock clock(1'700'000'000 * kSec);
  auto engine = StreamEngine::Create(YAML::Load(R"(windows:
  - name: http
    match: op
    size: 10ms
    idle_timeout: 5ms
    group_by: [service.name]
    aggregations: [count, rate, p99, error_rate]
  - name: sliding
    type: sliding
    size: 20ms
    slide: 5ms
    aggregations: [count, mean]
anomaly:
  - name: a
    window: http
    aggregation: p99
    warmup: 5
cep:
  - name: errs
    type: threshold
    match: {status: error}
    count: 3
    within: 10ms
)"),
                                     "stress.yaml", keys, clock);
  ASSERT_TRUE(engine->config_errors().empty()) << engine->config_errors()[0].message();
  const event::KeyId service = *keys.Intern("service.name");
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};

  std::thread ticker([&] {
    while (!done.load()) {
      clock.AdvanceNs(kSec / 1000);
      engine->Tick();
    }
  });
  strobe::metrics::Registry registry;  // scrapes read the engine concurrently with writers
  ASSERT_TRUE(RegisterStreamMetrics(registry, *engine).ok());
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      do {
        const std::string prom =
            strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
        const std::string json = engine->SeriesJson() + engine->EventsJson();
        const auto snapshot = engine->SnapshotSeries();
        reads.fetch_add(1 + (json.empty() || prom.empty() ? 1 : 0) +
                        (snapshot.size() > 1000000 ? 1 : 0));
      } while (!done.load());
    });
  }
  const char* services[] = {"a", "b", "c", "d"};
  for (int i = 0; i < 400; ++i) {
    event::Batch b(nullptr, 4096, 1 << 20);
    const uint64_t now = clock.NowUnixNs();
    for (int j = 0; j < 64; ++j) {
      auto* attrs = b.arena().AllocateArray<event::Attribute>(1);
      attrs[0] = {service, event::Value::String(services[j % 4])};
      event::Span& s = b.AddSpan();
      s.name = "op";
      s.end_ns = now - static_cast<uint64_t>(j) * 1000;
      s.start_ns = s.end_ns - 1'000'000;
      s.status.code = j % 7 == 0 ? event::StatusCode::kError : event::StatusCode::kOk;
      s.attributes = {attrs, 1};
    }
    engine->Consume(b);
  }
  done.store(true);
  ticker.join();
  for (auto& t : readers) t.join();
  engine->FlushAll();
  uint64_t accepted = engine->window(0).stats().accepted.load();
  uint64_t late = engine->window(0).stats().late.load();
  EXPECT_EQ(accepted + late, 400u * 64u);
  EXPECT_GT(engine->window(0).stats().windows_emitted.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace strobed::stream
