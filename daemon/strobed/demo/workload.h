#pragma once

// strobed::demo::Workload: a deterministic generator of synthetic request records — a few
// services with log-normal latencies, a slow endpoint, and error bursts — for
// `strobe serve --demo`, tests and load generation. It only produces records through a
// callback; DemoComponent records them into metrics, and the same records can be turned
// into spans for the event pipeline.
//
//   Workload w(Workload::DefaultServices(), /*seed=*/1);
//   w.Advance(now_ns, /*rate=*/200, [](const RequestRecord& r) { ... });
//
// Model: requests complete as a Poisson process of `rate` per second spread over endpoints by
// weight. Each endpoint's latency is log-normal (median, sigma); a "slow" endpoint has a
// heavy tail (10% of its calls take 5-20x longer). Each service alternates between calm
// periods (base error rate) and error bursts (burst_error_rate for burst_seconds, on average
// every burst_every_seconds), during which latencies also grow by 1.5x. Randomness comes
// only from the seeded generator and time only from the `now_ns` arguments, so a run is
// reproducible.
//
// Thread class: thread-compatible (one thread drives a Workload).

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace strobed::demo {

struct EndpointModel {
  std::string name;    // "GET /api/cart"
  std::string method;  // "GET"
  std::string route;   // "/api/cart"
  double weight = 1;   // share of the service's traffic
  double median_ms = 10;
  double sigma = 0.4;  // log-normal shape
  double base_error_rate = 0.005;
  bool slow = false;  // heavy tail
};

struct ServiceModel {
  std::string name;
  std::vector<EndpointModel> endpoints;
  double weight = 1;  // share of all traffic
  double burst_every_seconds = 90;
  double burst_seconds = 12;
  double burst_error_rate = 0.25;
};

// `service` and `endpoint` point into the Workload's models: valid while it lives.
struct RequestRecord {
  const ServiceModel* service;
  const EndpointModel* endpoint;
  uint64_t start_unix_ns;  // end_unix_ns - duration_ns
  uint64_t end_unix_ns;    // when the request completed: never after the Advance() that made it
  uint64_t duration_ns;
  int status;                                  // 200, 404, 500, 503
  bool error;                                  // status >= 500
  uint64_t trace_id_hi, trace_id_lo, span_id;  // random ids, for spans
};

class Workload {
 public:
  Workload(std::vector<ServiceModel> services, uint64_t seed);

  // Four services: frontend, checkout (with a slow /api/checkout/pay), catalog and auth.
  static std::vector<ServiceModel> DefaultServices();

  // Emits the requests that completed since the previous call (the first call only sets the
  // clock) at `rate` per second, in order of completion. Every record ends before
  // `now_unix_ns` (it started duration_ns earlier), so spans made from it never carry a
  // timestamp in the future — a stream watermark must not be pulled ahead by the demo.
  // `now_unix_ns` must not go backwards (earlier times are ignored). At most 10 s of backlog
  // is generated after a stall.
  void Advance(uint64_t now_unix_ns, double rate,
               const std::function<void(const RequestRecord&)>& sink);

  const std::vector<ServiceModel>& services() const { return services_; }
  // True while `service` is in an error burst (for tests and the status page).
  bool InBurst(size_t service) const { return state_[service].burst_until_ns > last_ns_; }
  uint64_t generated() const { return generated_; }

 private:
  struct ServiceState {
    uint64_t next_burst_ns = 0;
    uint64_t burst_until_ns = 0;
  };
  RequestRecord Make(uint64_t at_ns);
  void UpdateBursts(uint64_t now_ns);

  std::vector<ServiceModel> services_;
  std::vector<ServiceState> state_;
  std::mt19937_64 rng_;
  uint64_t last_ns_ = 0;
  bool started_ = false;
  uint64_t generated_ = 0;
};

}  // namespace strobed::demo
