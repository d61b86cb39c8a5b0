#include "strobed/service/trace_component.h"

#include "strobed/service/trace_api.h"
#include "strobed/trace/trace_metrics.h"

namespace strobed::service {

strobe::Status TraceComponent::Start(const daemon::ComponentContext& ctx) {
  MountTraceApi(ctx.api, store_, clock_);
  return trace::RegisterTraceMetrics(ctx.registry, store_, clock_);
}

strobe::Status TraceComponent::Shutdown(daemon::Deadline deadline) {
  (void)deadline;
  store_.FlushAll(clock_.NowNs());
  return strobe::OkStatus();
}

}  // namespace strobed::service
