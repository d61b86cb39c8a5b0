#include "strobed/demo/workload.h"

#include <algorithm>
#include <cmath>

namespace strobed::demo {

Workload::Workload(std::vector<ServiceModel> services, uint64_t seed)
    : services_(std::move(services)), state_(services_.size()), rng_(seed) {}

std::vector<ServiceModel> Workload::DefaultServices() {
  std::vector<ServiceModel> s;
  s.push_back({"frontend",
               {{"GET /", "GET", "/", 5, 18, 0.35, 0.002, false},
                {"GET /product", "GET", "/product", 3, 35, 0.45, 0.004, false},
                {"POST /cart", "POST", "/cart", 1, 55, 0.5, 0.01, false}},
               4,
               120,
               10,
               0.2});
  s.push_back({"checkout",
               {{"POST /api/checkout", "POST", "/api/checkout", 3, 80, 0.4, 0.01, false},
                {"POST /api/checkout/pay", "POST", "/api/checkout/pay", 1, 450, 0.6, 0.03, true}},
               1,
               75,
               15,
               0.35});
  s.push_back({"catalog",
               {{"GET /api/items", "GET", "/api/items", 4, 6, 0.3, 0.001, false},
                {"GET /api/items/:id", "GET", "/api/items/:id", 6, 3, 0.25, 0.004, false}},
               3,
               150,
               8,
               0.15});
  s.push_back({"auth",
               {{"POST /login", "POST", "/login", 1, 120, 0.3, 0.02, false},
                {"GET /session", "GET", "/session", 8, 1.5, 0.2, 0.001, false}},
               2,
               200,
               6,
               0.5});
  return s;
}

void Workload::UpdateBursts(uint64_t now_ns) {
  for (size_t i = 0; i < services_.size(); ++i) {
    ServiceState& st = state_[i];
    const ServiceModel& m = services_[i];
    if (st.next_burst_ns == 0) {
      std::exponential_distribution<double> gap(1.0 / std::max(1.0, m.burst_every_seconds));
      st.next_burst_ns = now_ns + static_cast<uint64_t>(gap(rng_) * 1e9);
    }
    if (now_ns >= st.next_burst_ns && st.burst_until_ns <= now_ns) {
      st.burst_until_ns = now_ns + static_cast<uint64_t>(m.burst_seconds * 1e9);
      std::exponential_distribution<double> gap(1.0 / std::max(1.0, m.burst_every_seconds));
      st.next_burst_ns = st.burst_until_ns + static_cast<uint64_t>(gap(rng_) * 1e9);
    }
  }
}

// `at_ns` is the completion time: the request started duration_ns before it.
RequestRecord Workload::Make(uint64_t at_ns) {
  double total = 0;
  for (const auto& s : services_) total += s.weight;
  std::uniform_real_distribution<double> u(0, 1);
  double pick = u(rng_) * total;
  size_t si = 0;
  for (; si + 1 < services_.size(); ++si) {
    if (pick < services_[si].weight) break;
    pick -= services_[si].weight;
  }
  const ServiceModel& svc = services_[si];
  double etotal = 0;
  for (const auto& e : svc.endpoints) etotal += e.weight;
  double epick = u(rng_) * etotal;
  size_t ei = 0;
  for (; ei + 1 < svc.endpoints.size(); ++ei) {
    if (epick < svc.endpoints[ei].weight) break;
    epick -= svc.endpoints[ei].weight;
  }
  const EndpointModel& ep = svc.endpoints[ei];
  const bool burst = state_[si].burst_until_ns > at_ns;

  std::lognormal_distribution<double> latency(std::log(ep.median_ms), ep.sigma);
  double ms = latency(rng_);
  if (ep.slow && u(rng_) < 0.1) ms *= 5 + 15 * u(rng_);
  if (burst) ms *= 1.5;
  ms = std::min(ms, 60'000.0);

  double err_rate = burst ? svc.burst_error_rate : ep.base_error_rate;
  int status = 200;
  double r = u(rng_);
  if (r < err_rate) {
    status = u(rng_) < 0.7 ? 500 : 503;
  } else if (r < err_rate + 0.01 && ep.method == "GET") {
    status = 404;
  }
  RequestRecord rec{};
  rec.service = &svc;
  rec.endpoint = &ep;
  rec.duration_ns = std::min(static_cast<uint64_t>(ms * 1e6), at_ns);
  rec.end_unix_ns = at_ns;
  rec.start_unix_ns = at_ns - rec.duration_ns;
  rec.status = status;
  rec.error = status >= 500;
  rec.trace_id_hi = rng_();
  rec.trace_id_lo = rng_() | 1;  // never the all-zero invalid id
  rec.span_id = rng_() | 1;
  return rec;
}

void Workload::Advance(uint64_t now_unix_ns, double rate,
                       const std::function<void(const RequestRecord&)>& sink) {
  if (!started_) {
    started_ = true;
    last_ns_ = now_unix_ns;
    UpdateBursts(now_unix_ns);
    return;
  }
  if (now_unix_ns <= last_ns_ || rate <= 0 || services_.empty()) {
    if (now_unix_ns > last_ns_) last_ns_ = now_unix_ns;
    return;
  }
  constexpr uint64_t kMaxBacklogNs = 10'000'000'000;
  uint64_t from = std::max(last_ns_, now_unix_ns > kMaxBacklogNs ? now_unix_ns - kMaxBacklogNs : 0);
  const double seconds = static_cast<double>(now_unix_ns - from) / 1e9;
  std::poisson_distribution<uint64_t> count(rate * seconds);
  const uint64_t n = count(rng_);
  std::uniform_int_distribution<uint64_t> when(from, now_unix_ns - 1);
  std::vector<uint64_t> times(n);
  for (auto& t : times) t = when(rng_);
  std::sort(times.begin(), times.end());
  for (uint64_t t : times) {
    UpdateBursts(t);
    RequestRecord rec = Make(t);
    ++generated_;
    sink(rec);
  }
  last_ns_ = now_unix_ns;
  UpdateBursts(now_unix_ns);
}

}  // namespace strobed::demo
