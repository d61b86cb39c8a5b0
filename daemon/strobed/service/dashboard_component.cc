#include "strobed/service/dashboard_component.h"

#include "strobed/server/static_assets.h"
#include "strobed/service/web_assets.h"

namespace strobed::service {

strobe::Status DashboardComponent::Start(const daemon::ComponentContext& ctx) {
  return server::MountStaticAssets(ctx.api, WebAssets());
}

strobe::Status DashboardComponent::Shutdown(daemon::Deadline deadline) {
  (void)deadline;
  return strobe::OkStatus();
}

}  // namespace strobed::service
