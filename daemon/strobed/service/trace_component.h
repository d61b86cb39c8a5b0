#pragma once

// service::TraceComponent: plugs trace analysis into `strobe serve`. At Start it mounts the
// trace API (service/trace_api.h) on the daemon's API router and publishes the store's
// metrics in the daemon's registry (trace/trace_metrics.h). Spans reach the store through a
// pipeline with the `trace_analysis` exporter, which gets the same store through its plugin
// context. At Shutdown (after the pipelines drained) it completes every pending trace.
//
// Thread class: control thread (Start/Shutdown); the routes and metric callbacks are
// thread-safe.

#include <string>

#include "strobed/base/clock.h"
#include "strobed/daemon/component.h"
#include "strobed/trace/trace_store.h"

namespace strobed::service {

class TraceComponent final : public daemon::Component {
 public:
  // `store` and `clock` must outlive the component and the daemon's router.
  TraceComponent(trace::TraceStore& store, base::MonotonicClock& clock)
      : store_(store), clock_(clock) {}

  std::string Name() const override { return "trace"; }
  strobe::Status Start(const daemon::ComponentContext& ctx) override;
  strobe::Status Shutdown(daemon::Deadline deadline) override;

 private:
  trace::TraceStore& store_;
  base::MonotonicClock& clock_;
};

}  // namespace strobed::service
