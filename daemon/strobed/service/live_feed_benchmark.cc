// Live-feed cost (issue 17): what the feed thread spends per tick to serve N clients subscribed
// to the dashboard's overview, and the cost of encoding one delta frame.
//
//   live_tick/N            one Tick() with N clients due, each subscribed to the overview's
//                          selectors, over a registry shaped like `strobe serve --demo`'s
//                          (9 latency histograms of 21 buckets, 20 request counters, per-core
//                          CPU gauges, 60 pipeline series); every value changes between ticks.
//                          CPU share of a core at 60 Hz = CPU time per tick × 60.
//                          N = 1 is the in-run baseline.
//   live_frame_encode      LiveClientState::Frame for a 300-key state where 10% of the values
//                          changed since the previous frame (the steady state of a client).
//   live_frame_encode_full the first (full) frame of the same state.

#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "strobe/metrics/histogram.h"
#include "strobe/metrics/registry.h"
#include "strobed/service/live_feed.h"

namespace strobed::service {
namespace {

class NullConnection : public server::WebSocketConnection {
 public:
  bool SendText(std::string message) override {
    bytes += message.size();
    return true;
  }
  void Close() override {}
  uint64_t dropped_messages() const override { return 0; }
  std::string remote_address() const override { return "bench"; }
  uint64_t queued_bytes() const override { return 0; }
  uint64_t bytes = 0;
};

// A registry with the overview's series; values move with `tick`.
void AddDemoLikeFamilies(strobe::metrics::Registry& r, const std::atomic<double>& tick) {
  using strobe::metrics::CallbackSink;
  using strobe::metrics::CallbackType;
  (void)r.AddCallbackFamily({"demo_http_requests_total", "", ""}, CallbackType::kCounter,
                            {"service", "route", "code"}, [&tick](CallbackSink& s) {
                              for (int i = 0; i < 20; ++i) {
                                const std::string svc = "svc" + std::to_string(i % 4);
                                const std::string route = "/r" + std::to_string(i);
                                s.Emit({svc, route, i % 5 == 0 ? "500" : "200"}, tick * i);
                              }
                            });
  (void)r.AddCallbackFamily({"node_cpu_usage_ratio", "", ""}, CallbackType::kGauge, {"cpu"},
                            [&tick](CallbackSink& s) {
                              for (int i = 0; i < 8; ++i) s.Emit({std::to_string(i)}, tick / 1e6);
                            });
  (void)r.AddCallbackFamily(
      {"strobe_pipeline_received_events_total", "", ""}, CallbackType::kCounter,
      {"pipeline", "component"}, [&tick](CallbackSink& s) {
        for (int i = 0; i < 60; ++i) {
          s.Emit({"p" + std::to_string(i % 3), "c" + std::to_string(i)}, tick + i);
        }
      });
}

// 9 latency histograms, as the demo's endpoints have; a few observations per tick.
std::vector<strobe::metrics::Histogram*> AddLatency(strobe::metrics::Registry& r) {
  std::vector<strobe::metrics::Histogram*> out;
  auto fam = r.AddHistogramFamily({"demo_http_request_duration_seconds", "", "seconds"},
                                  {"service", "route"}, {.unit_scale = 1e-9});
  if (!fam.ok()) return out;
  for (int i = 0; i < 9; ++i) {
    out.push_back(&(*fam)->With(
        {{"service", "svc" + std::to_string(i % 4)}, {"route", "/r" + std::to_string(i)}}));
  }
  return out;
}

void BM_LiveTick(benchmark::State& state) {
  strobe::metrics::Registry registry;
  std::atomic<double> tick{1};
  AddDemoLikeFamilies(registry, tick);
  std::vector<strobe::metrics::Histogram*> latency = AddLatency(registry);
  LiveSources src;
  src.registry = &registry;
  LiveFeed feed(std::move(src), nullptr);
  server::WebSocketHandlers h = feed.Handlers();
  std::vector<std::shared_ptr<NullConnection>> conns;
  for (int64_t i = 0; i < state.range(0); ++i) {
    auto c = std::make_shared<NullConnection>();
    h.on_open(c);
    h.on_message(*c,
                 R"({"type":"subscribe","rate":60,"series":["demo_http_request_duration_seconds",)"
                 R"("demo_http_requests_total","node_cpu_usage_ratio","strobe_pipeline_*"]})");
    conns.push_back(c);
  }
  uint64_t now = 0;
  for (auto _ : state) {
    tick = tick + 1;
    for (size_t i = 0; i < latency.size(); ++i) latency[i]->Record(uint64_t{1'000'000} * (i + 1));
    now += 20'000'000;
    feed.Tick(now, 1);
  }
  uint64_t bytes = 0;
  for (auto& c : conns) bytes += c->bytes;
  state.counters["bytes_per_frame"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations() * conns.size());
}
BENCHMARK(BM_LiveTick)->Arg(1)->Arg(10)->Arg(50)->Unit(benchmark::kMicrosecond);

LiveState MakeState(int n, int generation) {
  LiveState s;
  for (int i = 0; i < n; ++i) {
    const int v = i % 10 == 0 ? i + generation : i;
    s.emplace("demo_http_requests_total{service=\"svc" + std::to_string(i % 4) + "\",route=\"/r" +
                  std::to_string(i) + "\"}",
              std::to_string(v * 1234.5));
  }
  return s;
}

void BM_LiveFrameEncode(benchmark::State& state) {
  std::vector<LiveState> states = {MakeState(300, 0), MakeState(300, 1)};
  LiveClientState c;
  (void)c.Frame(states[0], 1);
  size_t i = 1;
  size_t bytes = 0;
  for (auto _ : state) {
    std::string f = c.Frame(states[i++ & 1], 2);
    bytes += f.size();
    benchmark::DoNotOptimize(f);
  }
  state.counters["bytes"] = static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_LiveFrameEncode)->Unit(benchmark::kMicrosecond);

void BM_LiveFrameEncodeFull(benchmark::State& state) {
  LiveState s = MakeState(300, 0);
  for (auto _ : state) {
    LiveClientState c;
    std::string f = c.Frame(s, 1);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_LiveFrameEncodeFull)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace strobed::service
