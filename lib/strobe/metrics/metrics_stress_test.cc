// Concurrent record + collect + series creation + thread churn. Run under TSan (label
// stress); the final totals must be exact.

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"

namespace strobe::metrics {
namespace {

TEST(MetricsStressTest, RecordCollectAndCreateConcurrently) {
  Registry r({.max_series_per_family = 64, .self_metrics = true});
  Counter& total = *r.AddCounter({"stress_total", "", ""}).value();
  Histogram& lat = *r.AddHistogram({"stress_ns", "", ""}).value();
  Family<Counter>& fam = *r.AddCounterFamily({"stress_by_key_total", "", ""}, {"key"}).value();
  Family<Histogram>& hfam = *r.AddHistogramFamily({"stress_by_key_ns", "", ""}, {"key"}).value();
  Gauge& g = *r.AddGauge({"stress_gauge", "", ""}).value();
  std::atomic<bool> stop{false};

  constexpr int kWriters = 3;
  constexpr int kRounds = 4;  // each writer thread exits and a new one starts: churn
  constexpr int kPerRound = 20'000;
  std::thread collector([&] {
    TextRenderer renderer;
    std::string out;
    while (!stop.load(std::memory_order_acquire)) {
      renderer.Render(r, Format::kOpenMetrics, &out);
      snapshot::Snapshot s = r.Collect();
      EXPECT_FALSE(s.families.empty());
      for (const auto& f : s.families) {
        for (const auto& p : f.points) {
          if (f.type != snapshot::MetricType::kHistogram) continue;
          uint64_t sum = p.histogram.zero_count;
          for (uint64_t n : p.histogram.positive_counts) sum += n;
          EXPECT_EQ(sum, p.histogram.count);  // each snapshot self-consistent
        }
      }
    }
  });
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::thread> writers;
    writers.reserve(kWriters);
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        for (int i = 0; i < kPerRound; ++i) {
          total.Inc();
          lat.Record(static_cast<uint64_t>(i % 5000) * 100 + 1);
          const std::string key = std::to_string((i + w) % 100);  // 100 keys > 64 limit
          fam.With({{"key", key}}).Inc();
          if (i % 16 == 0) hfam.With({{"key", key}}).Record(i);
          if (i % 1000 == 0) total.AddWithExemplar(0, {{"trace_id", std::to_string(i)}});
          g.Set(i);
        }
      });
    }
    for (auto& t : writers) t.join();
  }
  stop.store(true, std::memory_order_release);
  collector.join();

  constexpr uint64_t kTotal = uint64_t{kWriters} * kRounds * kPerRound;
  EXPECT_EQ(total.Value(), kTotal);
  EXPECT_EQ(lat.Data().count(), kTotal);
  snapshot::Snapshot s = r.Collect();
  uint64_t by_key = 0;
  for (const auto& f : s.families) {
    if (f.name != "stress_by_key") continue;
    EXPECT_EQ(f.points.size(), 65u);  // 64 + overflow
    for (const auto& p : f.points) by_key += static_cast<uint64_t>(p.value);
  }
  EXPECT_EQ(by_key, kTotal);  // nothing dropped: folded series still count
}

}  // namespace
}  // namespace strobe::metrics
