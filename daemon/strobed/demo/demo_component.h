#pragma once

// strobed::demo::DemoComponent: runs a Workload (workload.h) inside the daemon for
// `strobe serve --demo` and records every synthetic request into the registry:
//
//   demo_http_requests_total{service,method,route,code}
//   demo_http_request_duration_seconds{service,method,route}    histogram (le buckets)
//   demo_http_errors_total{service,route}                       5xx responses
//   demo_load_series_total{series}                              demo.extra_series counters
//                                                               (load tests of /metrics)
//
// A thread advances the workload every 100 ms (demo.rate requests/s, reloadable). Extra
// consumers (the event pipeline, turning records into spans) attach with SetRecordSink
// before Start.
//
// Thread class: component methods on the control thread.

#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <tuple>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/daemon/component.h"
#include "strobed/demo/demo_spans.h"
#include "strobed/demo/workload.h"

namespace strobe::metrics {
class Counter;
class Histogram;
template <typename T>
class Family;
}  // namespace strobe::metrics

namespace strobed::demo {

class DemoComponent : public daemon::Component {
 public:
  DemoComponent() = default;
  ~DemoComponent() override;

  // Called on the demo thread for every record, after it was recorded into metrics.
  void SetRecordSink(std::function<void(const RequestRecord&)> sink) { sink_ = std::move(sink); }
  // Also turns every record into spans pushed into the event pipeline through the `memory`
  // receiver `lookup` returns once the pipelines run (demo_spans.h). Before Start.
  void FeedPipeline(std::function<receivers::MemoryReceiver*()> lookup, event::KeyTable& keys);

  std::string Name() const override { return "demo"; }
  strobe::Status Start(const daemon::ComponentContext& ctx) override;
  strobe::Status Shutdown(daemon::Deadline deadline) override;
  strobe::Status Reload(const config::Config& next) override;
  std::string StatusJson() const override;

 private:
  void Loop();
  void Record(const RequestRecord& r);

  std::unique_ptr<Workload> workload_;
  std::function<void(const RequestRecord&)> sink_;
  std::unique_ptr<DemoSpanFeeder> feeder_;  // used by the demo thread only
  strobe::metrics::Registry* registry_ = nullptr;
  strobe::metrics::Family<strobe::metrics::Counter>* requests_ = nullptr;
  strobe::metrics::Family<strobe::metrics::Histogram>* durations_ = nullptr;
  strobe::metrics::Family<strobe::metrics::Counter>* errors_ = nullptr;
  // Resolved handles (demo thread only): (service, endpoint, status) → counter, etc.
  std::map<std::tuple<const void*, int>, strobe::metrics::Counter*> request_handles_;
  std::map<const void*, strobe::metrics::Histogram*> duration_handles_;
  std::map<const void*, strobe::metrics::Counter*> error_handles_;
  std::vector<strobe::metrics::Counter*> load_series_;  // demo.extra_series

  mutable strobe::Mutex mu_;
  strobe::CondVar cv_;
  bool stop_ STROBE_GUARDED_BY(mu_) = false;
  double rate_ STROBE_GUARDED_BY(mu_) = 200;
  uint64_t generated_ STROBE_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace strobed::demo
