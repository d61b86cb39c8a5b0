#include "strobed/demo/demo_component.h"

#include <chrono>

#include "strobe/metrics/registry.h"
#include "strobed/base/json.h"
#include "strobed/config/config.h"

namespace strobed::demo {

namespace m = strobe::metrics;

DemoComponent::~DemoComponent() {
  if (thread_.joinable()) (void)Shutdown(std::chrono::steady_clock::now());
}

strobe::Status DemoComponent::Start(const daemon::ComponentContext& ctx) {
  registry_ = &ctx.registry;
  auto requests = ctx.registry.AddCounterFamily(
      {"demo_http_requests_total", "Synthetic requests of the demo workload", ""},
      {"service", "method", "route", "code"});
  if (!requests.ok()) return requests.status();
  auto durations = ctx.registry.AddHistogramFamily(
      {"demo_http_request_duration_seconds", "Latency of the demo workload's requests", "seconds"},
      {"service", "method", "route"}, {.unit_scale = 1e-9});
  if (!durations.ok()) return durations.status();
  auto errors = ctx.registry.AddCounterFamily(
      {"demo_http_errors_total", "5xx responses of the demo workload", ""}, {"service", "route"});
  if (!errors.ok()) return errors.status();
  if (const uint64_t n = ctx.config.demo.extra_series; n > 0) {
    auto load = ctx.registry.AddCounterFamily(
        {"demo_load_series_total", "Synthetic series for load tests (demo.extra_series)", ""},
        {"series"}, {.max_series = static_cast<size_t>(n) + 1});
    if (!load.ok()) return load.status();
    load_series_.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      std::string id = std::to_string(i);
      load_series_.push_back(&(*load)->With({{"series", id}}));
    }
  }
  requests_ = *requests;
  durations_ = *durations;
  errors_ = *errors;
  workload_ = std::make_unique<Workload>(Workload::DefaultServices(), ctx.config.demo.seed);
  {
    strobe::MutexLock lock(mu_);
    rate_ = ctx.config.demo.rate;
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
  return strobe::OkStatus();
}

void DemoComponent::FeedPipeline(std::function<receivers::MemoryReceiver*()> lookup,
                                 event::KeyTable& keys) {
  feeder_ = std::make_unique<DemoSpanFeeder>(std::move(lookup), keys);
}

void DemoComponent::Record(const RequestRecord& r) {
  const EndpointModel* ep = r.endpoint;
  auto key = std::make_tuple(static_cast<const void*>(ep), r.status);
  auto it = request_handles_.find(key);
  if (it == request_handles_.end()) {
    std::string code = std::to_string(r.status);
    m::Counter& c = requests_->With({{"service", r.service->name},
                                     {"method", ep->method},
                                     {"route", ep->route},
                                     {"code", code}});
    it = request_handles_.emplace(key, &c).first;
  }
  it->second->Inc();
  auto dit = duration_handles_.find(ep);
  if (dit == duration_handles_.end()) {
    m::Histogram& h = durations_->With(
        {{"service", r.service->name}, {"method", ep->method}, {"route", ep->route}});
    dit = duration_handles_.emplace(ep, &h).first;
  }
  dit->second->RecordUnsigned(r.duration_ns);
  if (r.error) {
    auto eit = error_handles_.find(ep);
    if (eit == error_handles_.end()) {
      m::Counter& c = errors_->With({{"service", r.service->name}, {"route", ep->route}});
      eit = error_handles_.emplace(ep, &c).first;
    }
    eit->second->Inc();
  }
  if (feeder_) feeder_->Add(r);
  if (sink_) sink_(r);
}

void DemoComponent::Loop() {
  auto wall_ns = [] {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  };
  strobe::MutexLock lock(mu_);
  while (!stop_) {
    double rate = rate_;
    lock.Unlock();
    uint64_t before = workload_->generated();
    workload_->Advance(wall_ns(), rate, [this](const RequestRecord& r) { Record(r); });
    uint64_t made = workload_->generated() - before;
    if (feeder_) feeder_->Flush();
    for (size_t i = 0; i < load_series_.size(); ++i) load_series_[i]->Add(1 + i % 3);
    lock.Lock();
    generated_ += made;
    cv_.WaitFor(mu_, std::chrono::milliseconds(100),
                [this]() STROBE_REQUIRES(mu_) { return stop_; });
  }
}

strobe::Status DemoComponent::Shutdown(daemon::Deadline /*deadline*/) {
  {
    strobe::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
  return strobe::OkStatus();
}

strobe::Status DemoComponent::Reload(const config::Config& next) {
  strobe::MutexLock lock(mu_);
  rate_ = next.demo.rate;
  return strobe::OkStatus();
}

std::string DemoComponent::StatusJson() const {
  strobe::MutexLock lock(mu_);
  base::JsonWriter w;
  w.BeginObject();
  w.Key("rate");
  w.Double(rate_);
  w.Key("generated");
  w.Uint(generated_);
  if (feeder_) {
    w.Key("spans_pushed");
    w.Uint(feeder_->pushed_spans());
    w.Key("spans_dropped");
    w.Uint(feeder_->dropped_spans());
  }
  w.EndObject();
  return std::move(w).Take();
}

}  // namespace strobed::demo
