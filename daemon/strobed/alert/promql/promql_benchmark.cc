// PromQL rule evaluation over a realistic /metrics history (issue 15: 1,000 rules over 100,000
// series within 100 ms per round on one core).
//
// Conditions for meaningful numbers: release build, an otherwise idle machine, one thread
// (the benchmark is single-threaded; pin with taskset -c 1 to avoid migrations).
//
// History: 100,600 series, 15 s scrape interval, 10 min retention (the 5 m rule range plus
// the 5 m lookback) = 41 samples per series, 4.1 M samples, built through History::Append of
// snapshot families (the daemon's path):
//   40,000 counter series: 400 families app_c<N>_requests_total{job=j0..j9, instance=i0..i4,
//                          code=200|500}
//   30,000 gauge series:   300 families app_g<N>{job=j0..j9, instance=i0..i9}
//   21,000 histogram series: 30 families lat<N>_seconds{job=j0..j9, instance=i0..i4}, 12 `le`
//                          buckets + _sum + _count
//    9,600 host-like series: node_cpu_seconds_total{instance=i0..i49, cpu=0..23, mode=8 modes}
// Rule mix (1,000 rules, each a full alert condition):
//   300  rate(app_c<N>_requests_total{job="j<k>", code="500"}[5m]) > 0.5
//   200  sum by (job) (rate(app_c<N>_requests_total{code=~"5.."}[5m]))
//          / sum by (job) (rate(app_c<N>_requests_total[5m])) > 0.05
//   100  histogram_quantile(0.99, sum by (le, job) (rate(lat<N>_seconds_bucket[5m]))) > 0.5
//   150  app_g<N>{job="j<k>", instance!="i0"} > 90
//   100  avg_over_time(app_g<N>{instance=~"i[0-4]"}[5m]) < 10
//   100  max by (job) (app_g<N>) - min by (job) (app_g<N>) > 50
//    50  100 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) * 100 > 90
// Per round the rules read ~178,000 series (300*5 + 200*150 + 100*600 + 150*9 + 100*50 +
// 100*200 + 50*1,200), most of them over 5 m = 21 samples.

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "strobed/alert/promql/ast.h"
#include "strobed/alert/promql/eval.h"
#include "strobed/alert/promql/history.h"

namespace strobed::alert::promql {
namespace {

using strobe::snapshot::Family;
using strobe::snapshot::MetricType;
using strobe::snapshot::Point;

constexpr int64_t kIntervalMs = 15'000;
constexpr int kRounds = 41;
constexpr int64_t kStartMs = 1'700'000'000'000;

std::vector<Family> BuildFamilies() {
  std::vector<Family> fams;
  for (int n = 0; n < 400; ++n) {
    Family f;
    f.name = "app_c" + std::to_string(n) + "_requests";
    f.type = MetricType::kCounter;
    f.label_names = {"job", "instance", "code"};
    for (int j = 0; j < 10; ++j) {
      for (int i = 0; i < 5; ++i) {
        for (const char* code : {"200", "500"}) {
          Point p;
          p.labels = {{"job", "j" + std::to_string(j)},
                      {"instance", "i" + std::to_string(i)},
                      {"code", code}};
          f.points.push_back(std::move(p));
        }
      }
    }
    fams.push_back(std::move(f));
  }
  for (int n = 0; n < 300; ++n) {
    Family f;
    f.name = "app_g" + std::to_string(n);
    f.type = MetricType::kGauge;
    f.label_names = {"job", "instance"};
    for (int j = 0; j < 10; ++j) {
      for (int i = 0; i < 10; ++i) {
        Point p;
        p.labels = {{"job", "j" + std::to_string(j)}, {"instance", "i" + std::to_string(i)}};
        f.points.push_back(std::move(p));
      }
    }
    fams.push_back(std::move(f));
  }
  for (int n = 0; n < 30; ++n) {
    Family f;
    f.name = "lat" + std::to_string(n) + "_seconds";
    f.unit = "seconds";
    f.type = MetricType::kHistogram;
    f.label_names = {"job", "instance"};
    for (int j = 0; j < 10; ++j) {
      for (int i = 0; i < 5; ++i) {
        Point p;
        p.labels = {{"job", "j" + std::to_string(j)}, {"instance", "i" + std::to_string(i)}};
        p.histogram.bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
        p.histogram.bucket_counts.assign(12, 0);
        f.points.push_back(std::move(p));
      }
    }
    fams.push_back(std::move(f));
  }
  {
    Family f;
    f.name = "node_cpu_seconds";
    f.type = MetricType::kCounter;
    f.label_names = {"instance", "cpu", "mode"};
    for (int i = 0; i < 50; ++i) {
      for (int c = 0; c < 24; ++c) {
        for (const char* mode :
             {"idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"}) {
          Point p;
          p.labels = {
              {"instance", "i" + std::to_string(i)}, {"cpu", std::to_string(c)}, {"mode", mode}};
          f.points.push_back(std::move(p));
        }
      }
    }
    fams.push_back(std::move(f));
  }
  return fams;
}

// Advances every value as one scrape interval would: counters grow, gauges wander,
// histograms observe.
void Step(std::vector<Family>& fams, int round) {
  uint64_t x = 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(round + 1);
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (Family& f : fams) {
    for (Point& p : f.points) {
      switch (f.type) {
        case MetricType::kCounter:
          p.value += static_cast<double>(next() % 100);
          break;
        case MetricType::kGauge:
          p.value = static_cast<double>(next() % 100);
          break;
        default:
          for (auto& b : p.histogram.bucket_counts) b += next() % 10;
          p.histogram.count = 0;
          for (auto b : p.histogram.bucket_counts) p.histogram.count += b;
          p.histogram.sum += 0.1 * static_cast<double>(next() % 100);
          break;
      }
    }
  }
}

std::vector<std::string> RuleTexts() {
  std::vector<std::string> rules;
  auto s = [](int v) { return std::to_string(v); };
  for (int r = 0; r < 300; ++r) {
    rules.push_back("rate(app_c" + s(r % 400) + "_requests_total{job=\"j" + s(r % 10) +
                    "\", code=\"500\"}[5m]) > 0.5");
  }
  for (int r = 0; r < 200; ++r) {
    const std::string c = "app_c" + s((r * 7) % 400) + "_requests_total";
    rules.push_back("sum by (job) (rate(" + c + "{code=~\"5..\"}[5m])) / sum by (job) (rate(" + c +
                    "[5m])) > 0.05");
  }
  for (int r = 0; r < 100; ++r) {
    rules.push_back("histogram_quantile(0.99, sum by (le, job) (rate(lat" + s(r % 30) +
                    "_seconds_bucket[5m]))) > 0.5");
  }
  for (int r = 0; r < 150; ++r) {
    rules.push_back("app_g" + s(r % 300) + "{job=\"j" + s(r % 10) + "\", instance!=\"i0\"} > 90");
  }
  for (int r = 0; r < 100; ++r) {
    rules.push_back("avg_over_time(app_g" + s((r * 3) % 300) + "{instance=~\"i[0-4]\"}[5m]) < 10");
  }
  for (int r = 0; r < 100; ++r) {
    const std::string g = "app_g" + s((r * 11) % 300);
    rules.push_back("max by (job) (" + g + ") - min by (job) (" + g + ") > 50");
  }
  for (int r = 0; r < 50; ++r) {
    rules.push_back(
        "100 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])) * 100 > 90");
  }
  return rules;
}

struct Setup {
  Setup() : history({.retention_ms = 5 * 60'000 + kLookbackDeltaMs}) {
    fams = BuildFamilies();
    for (int round = 0; round < kRounds; ++round) {
      Step(fams, round);
      history.Append(fams, kStartMs + round * kIntervalMs);
    }
    now_ms = kStartMs + (kRounds - 1) * kIntervalMs;
    for (const std::string& text : RuleTexts()) {
      auto e = Parse(text);
      if (!e.ok()) std::abort();
      rules.push_back(std::make_unique<Expr>(std::move(*e)));
    }
  }
  std::vector<Family> fams;
  History history;
  int64_t now_ms = 0;
  std::vector<std::unique_ptr<Expr>> rules;
};

Setup& Shared() {
  static Setup* setup = new Setup();
  return *setup;
}

// One evaluation round: every rule at the same time, as the alert engine runs them.
void promql_eval_round(benchmark::State& state) {
  Setup& s = Shared();
  size_t out_samples = 0;
  for (auto _ : state) {
    out_samples = 0;
    for (const auto& rule : s.rules) {
      auto v = Evaluate(*rule, s.history, s.now_ms);
      if (!v.ok()) std::abort();
      out_samples += v->vector.size();
    }
    benchmark::DoNotOptimize(out_samples);
  }
  state.counters["series"] = static_cast<double>(s.history.stats().series);
  state.counters["samples"] = static_cast<double>(s.history.stats().samples);
  state.counters["rules"] = static_cast<double>(s.rules.size());
  state.counters["alerts"] = static_cast<double>(out_samples);
}
BENCHMARK(promql_eval_round)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The same round within the limits the alert engine applies to every rule
// (alerts.query_max_samples at its default, 5,000,000): the cost of counting samples as
// Prometheus does (sample_accounting.h).
void promql_eval_round_limited(benchmark::State& state) {
  Setup& s = Shared();
  Limits limits;
  limits.max_samples = 5'000'000;
  size_t out_samples = 0;
  for (auto _ : state) {
    out_samples = 0;
    for (const auto& rule : s.rules) {
      auto v = Evaluate(*rule, s.history, s.now_ms, limits);
      if (!v.ok()) std::abort();
      out_samples += v->vector.size();
    }
    benchmark::DoNotOptimize(out_samples);
  }
  state.counters["alerts"] = static_cast<double>(out_samples);
}
BENCHMARK(promql_eval_round_limited)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// One Append of the whole /metrics (100,600 samples) into the full history, as the daemon
// does once per evaluation interval; includes expiry of the oldest samples.
void promql_history_append(benchmark::State& state) {
  Setup& s = Shared();
  int64_t t = s.now_ms;
  int round = kRounds;
  for (auto _ : state) {
    state.PauseTiming();
    Step(s.fams, round++);
    t += kIntervalMs;
    state.ResumeTiming();
    s.history.Append(s.fams, t);
  }
  s.now_ms = t;
}
BENCHMARK(promql_history_append)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void promql_parse(benchmark::State& state) {
  const std::vector<std::string> texts = RuleTexts();
  for (auto _ : state) {
    for (const std::string& text : texts) {
      auto e = Parse(text);
      benchmark::DoNotOptimize(e);
    }
  }
  state.counters["rules"] = static_cast<double>(texts.size());
}
BENCHMARK(promql_parse)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace strobed::alert::promql
