#include "strobed/demo/workload.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

namespace strobed::demo {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

// Records point into the Workload, so it lives as long as the test.
std::vector<RequestRecord> Generate(uint64_t seed, double seconds, double rate) {
  static std::vector<std::unique_ptr<Workload>> keep;
  keep.push_back(std::make_unique<Workload>(Workload::DefaultServices(), seed));
  Workload& w = *keep.back();
  std::vector<RequestRecord> out;
  uint64_t t = 1'700'000'000 * kSecond;
  w.Advance(t, rate, [&](const RequestRecord& r) { out.push_back(r); });
  for (int i = 0; i < static_cast<int>(seconds * 10); ++i) {
    t += kSecond / 10;
    w.Advance(t, rate, [&](const RequestRecord& r) { out.push_back(r); });
  }
  return out;
}

TEST(WorkloadTest, RateAndDeterminism) {
  auto a = Generate(7, 60, 200);
  auto b = Generate(7, 60, 200);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].duration_ns, b[i].duration_ns);
    EXPECT_EQ(a[i].status, b[i].status);
  }
  // Poisson(12000): within 5 sigma.
  EXPECT_NEAR(static_cast<double>(a.size()), 12000.0, 5 * 110);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end(), [](const auto& x, const auto& y) {
    return x.end_unix_ns < y.end_unix_ns;
  }));
}

TEST(WorkloadTest, RecordsCompleteBeforeTheAdvanceThatEmitsThem) {
  // Spans made from a record end at end_unix_ns; in the future they would pull a stream
  // watermark ahead of everyone else's data (issue 15).
  Workload w(Workload::DefaultServices(), 5);
  uint64_t now = 1'700'000'000 * kSecond;
  w.Advance(now, 500, [](const RequestRecord&) {});
  uint64_t prev = now;
  size_t n = 0;
  for (int i = 0; i < 300; ++i) {
    now += kSecond / 10;
    w.Advance(now, 500, [&](const RequestRecord& r) {
      ++n;
      EXPECT_LT(r.end_unix_ns, now);
      EXPECT_GE(r.end_unix_ns, prev);
      EXPECT_EQ(r.start_unix_ns + r.duration_ns, r.end_unix_ns);
    });
    prev = now;
  }
  EXPECT_GT(n, 10000u);  // Poisson(15000)
}

TEST(WorkloadTest, LatencyShapePerEndpoint) {
  auto recs = Generate(3, 300, 200);
  std::map<std::string, std::vector<double>> ms;
  for (const auto& r : recs)
    ms[r.endpoint->name].push_back(static_cast<double>(r.duration_ns) / 1e6);
  auto quantile = [](std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
  };
  // The catalog item lookup is fast, the payment endpoint slow with a heavy tail.
  double fast_p50 = quantile(ms["GET /api/items/:id"], 0.5);
  double pay_p50 = quantile(ms["POST /api/checkout/pay"], 0.5);
  double pay_p99 = quantile(ms["POST /api/checkout/pay"], 0.99);
  EXPECT_GT(fast_p50, 2.0);
  EXPECT_LT(fast_p50, 6.0);
  EXPECT_GT(pay_p50, 350.0);
  EXPECT_GT(pay_p99 / pay_p50, 5.0);  // the slow tail
}

TEST(WorkloadTest, ErrorBurstsHappen) {
  auto recs = Generate(11, 600, 100);
  // Error rate per 10 s window per service: bursts make some windows far worse than calm ones.
  std::map<std::pair<std::string, uint64_t>, std::pair<int, int>> windows;
  for (const auto& r : recs) {
    auto& w = windows[std::make_pair(r.service->name, r.start_unix_ns / (10 * kSecond))];
    ++w.first;
    w.second += r.error ? 1 : 0;
  }
  int bad = 0;
  int calm = 0;
  for (const auto& [k, v] : windows) {
    if (v.first < 20) continue;
    double rate = static_cast<double>(v.second) / v.first;
    if (rate > 0.1) ++bad;
    if (rate < 0.03) ++calm;
  }
  EXPECT_GT(bad, 0);
  EXPECT_GT(calm, bad);
}

TEST(WorkloadTest, StallBacklogIsBounded) {
  Workload w(Workload::DefaultServices(), 1);
  uint64_t n = 0;
  w.Advance(kSecond, 1000, [&](const RequestRecord&) { ++n; });
  w.Advance(kSecond * 3600, 1000, [&](const RequestRecord&) { ++n; });  // an hour later
  EXPECT_LT(n, 11'000u);                                                // at most 10 s of backlog
  w.Advance(kSecond, 1000, [&](const RequestRecord&) { ++n; });         // time going back: nothing
  EXPECT_LT(n, 11'000u);
}

}  // namespace
}  // namespace strobed::demo
