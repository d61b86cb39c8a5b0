// Memory budget of issue #3: 100 counters and 20 histograms recorded from 4 threads stay
// within 1 MB of strobe-owned memory, and the library reports that figure as a self-metric.

#include <gtest/gtest.h>

#include <barrier>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"

namespace strobe::metrics {
namespace {

TEST(MemoryBudgetTest, HundredCountersTwentyHistogramsFourThreads) {
  Registry& r = Registry::Default();
  std::vector<Counter*> counters;
  std::vector<Histogram*> histograms;
  counters.reserve(100);
  histograms.reserve(20);
  for (int i = 0; i < 100; ++i) {
    counters.push_back(r.AddCounter({"budget_c" + std::to_string(i) + "_total", "", ""}).value());
  }
  for (int i = 0; i < 20; ++i) {
    histograms.push_back(
        r.AddHistogram({"budget_h" + std::to_string(i) + "_seconds", "", "seconds"},
                       HistogramOptions{.unit_scale = 1e-9})
            .value());
  }
  std::barrier recorded(5);
  std::barrier measured(5);
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t));
      // Service latencies: median 200 us, p99 ~2 ms, extremes ~10 us .. ~20 ms (about 12
      // powers of two). Each (thread, histogram) costs ~1.1 KiB plus 512 bytes per power of
      // two it touches (docs/design/metrics.md).
      std::lognormal_distribution<double> d(std::log(200'000.0), 1.0);
      for (int i = 0; i < 20'000; ++i) {
        counters[static_cast<size_t>(i) % counters.size()]->Inc();
        histograms[static_cast<size_t>(i) % histograms.size()]->Record(
            static_cast<uint64_t>(d(rng)) + 1);
      }
      recorded.arrive_and_wait();
      measured.arrive_and_wait();  // stay alive: shards of live threads are measured
    });
  }
  recorded.arrive_and_wait();
  const uint64_t bytes = r.OwnedBytes();
  const std::string text = RenderText(r, Format::kPrometheusText);
  measured.arrive_and_wait();
  for (auto& th : threads) th.join();

  RecordProperty("owned_bytes", std::to_string(bytes));
  EXPECT_LE(bytes, 1'000'000u) << "strobe-owned bytes: " << bytes;
  EXPECT_GT(bytes, 20u * 4 * 1000) << "the accounting must see the histogram shards";
  EXPECT_NE(text.find("# TYPE strobe_metrics_owned_bytes gauge\nstrobe_metrics_owned_bytes "),
            std::string::npos);
}

TEST(MemoryBudgetTest, BytesPerSeriesArePinned) {
  Registry r;
  Family<Counter>& f = *r.AddCounterFamily({"pinned_total", "", ""}, {"k"}).value();
  Family<Histogram>& h = *r.AddHistogramFamily({"pinned_ns", "", ""}, {"k"}).value();
  f.With({{"k", "warmup"}}).Inc();
  h.With({{"k", "warmup"}}).Record(1);
  const uint64_t before = r.OwnedBytes();
  for (int i = 0; i < 1000; ++i) f.With({{"k", "v" + std::to_string(i)}}).Inc();
  const uint64_t after_counters = r.OwnedBytes();
  for (int i = 0; i < 100; ++i) h.With({{"k", "v" + std::to_string(i)}});
  const uint64_t after_histograms = r.OwnedBytes();
  const uint64_t per_counter = (after_counters - before) / 1000;
  const uint64_t per_histogram = (after_histograms - after_counters) / 100;
  RecordProperty("bytes_per_counter_series", std::to_string(per_counter));
  RecordProperty("bytes_per_histogram_series_unrecorded", std::to_string(per_histogram));
  // Entry (labels, label text, creation time, 128-byte exemplar cell), metric, index node,
  // and one 8-byte cell in the recording thread's shard.
  EXPECT_LE(per_counter, 512u);
  // A histogram costs nothing per thread until a thread records into it.
  EXPECT_LE(per_histogram, 640u);
}

}  // namespace
}  // namespace strobe::metrics
