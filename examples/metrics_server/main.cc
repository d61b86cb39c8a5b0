// strobe_metrics_example: a small instrumented workload that serves its metrics.
//
//   strobe_metrics_example [--port N] [--duration-seconds S]
//
// Two worker threads "handle requests" (a little hashing work) and record a labelled
// request counter, a latency histogram through ScopedTimer, a payload-size histogram
// exposed as a quantile summary, an in-flight up-down counter and a callback gauge.
// strobe::metrics::Exposer serves GET /metrics on 127.0.0.1 (port 0 picks a free one) from its
// background thread, Prometheus text or OpenMetrics chosen by the Accept header; the program
// prints `listening on 127.0.0.1:<port>` once ready and stops on SIGINT/SIGTERM or after
// --duration-seconds.
//
//   curl -s localhost:PORT/metrics
//   curl -s -H 'Accept: application/openmetrics-text; version=1.0.0' localhost:PORT/metrics

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "strobe/metrics/exposer.h"
#include "strobe/metrics/registry.h"
#include "strobe/metrics/timer.h"

namespace {

namespace m = strobe::metrics;

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

struct Instruments {
  m::Family<m::Counter>* requests;
  m::Histogram* latency;
  m::Histogram* payload;
  m::UpDownCounter* in_flight;
};

Instruments Register(m::Registry& r) {
  Instruments in{};
  in.requests =
      r.AddCounterFamily({"example_requests_total", "Requests handled by the workload", ""},
                         {"method", "path", "code"})
          .value();
  in.latency =
      r.AddHistogram({"example_request_duration_seconds", "Time to handle a request", "seconds"},
                     m::HistogramOptions{.unit_scale = 1e-9})
          .value();
  in.payload = r.AddHistogram({"example_payload_bytes", "Request payload sizes", "bytes"},
                              m::HistogramOptions{.bounds = m::ExponentialBounds(64, 4, 8),
                                                  .exposition = m::HistogramExposition::kSummary})
                   .value();
  in.in_flight =
      r.AddUpDownCounter({"example_in_flight_requests", "Requests being handled", ""}).value();
  const auto start = std::chrono::steady_clock::now();
  (void)r.AddCallbackGauge({"example_uptime_seconds", "Seconds since start", "seconds"}, [start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
  return in;
}

void Worker(const Instruments& in, int id) {
  // Handles resolved once; the loop below only records. Label values exercise escaping:
  // quotes, a backslash, a newline and UTF-8.
  m::Counter& get_ok = in.requests->With({{"method", "GET"}, {"path", "/items"}, {"code", "200"}});
  m::Counter& post_created =
      in.requests->With({{"method", "POST"}, {"path", "/items"}, {"code", "201"}});
  m::Counter& odd = in.requests->With(
      {{"method", "GET"}, {"path", "/q?name=\"x\"\\y\nz/caf\xc3\xa9"}, {"code", "404"}});
  uint64_t state = 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(id + 1);
  uint64_t n = 0;
  while (!g_stop.load(std::memory_order_relaxed)) {
    in.in_flight->Inc();
    {
      m::ScopedTimer timer(*in.latency);
      const int work = 200 + static_cast<int>(state % 2000);
      for (int i = 0; i < work; ++i)
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    }
    in.payload->Record(64 + (state >> 40) % 100'000);
    in.in_flight->Dec();
    if (n % 10 == 0) {
      post_created.Inc();
    } else if (n % 97 == 0) {
      odd.Inc();
    } else if (n % 1000 == 1) {
      // Sampled traced request: the exemplar links the metric to a trace.
      char trace_id[33];
      std::snprintf(trace_id, sizeof trace_id, "%016llx%016llx",
                    static_cast<unsigned long long>(state), static_cast<unsigned long long>(n));
      get_ok.AddWithExemplar(1, {{"trace_id", trace_id}});
    } else {
      get_ok.Inc();
    }
    ++n;
    if (n % 256 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

}  // namespace

int main(int argc, char** argv) try {
  int port = 9810;
  double duration_s = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--port" && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else if (a == "--duration-seconds" && i + 1 < argc) {
      duration_s = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--port N] [--duration-seconds S]\n", argv[0]);
      return 2;
    }
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  m::Registry& registry = m::Registry::Default();
  const Instruments in = Register(registry);

  auto exposer = m::Exposer::Start(registry, {.port = static_cast<uint16_t>(port)});
  if (!exposer.ok()) {
    std::fprintf(stderr, "%s\n", exposer.status().ToString().c_str());
    return 1;
  }
  std::printf("listening on 127.0.0.1:%u\n", (*exposer)->port());
  std::fflush(stdout);

  std::vector<std::thread> workers;
  workers.reserve(2);
  for (int i = 0; i < 2; ++i) workers.emplace_back(Worker, std::cref(in), i);

  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(duration_s);
  while (!g_stop.load()) {
    if (duration_s > 0 && std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // signal handlers set g_stop
  }
  g_stop.store(true);
  for (auto& w : workers) w.join();
  (*exposer)->Stop();
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "strobe_metrics_example: %s\n", e.what());
  return 1;
}
