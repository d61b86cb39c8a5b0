#include "strobed/service/dashboard_component.h"

#include "strobed/server/static_assets.h"
#include "strobed/service/web_assets.h"

namespace strobed::service {

strobe::Status DashboardComponent::Start(const daemon::ComponentContext& ctx) {
  STROBE_RETURN_IF_ERROR(server::MountStaticAssets(ctx.api, WebAssets()));
  LiveSources sources = sources_;
  sources.registry = &ctx.registry;
  feed_ = std::make_unique<LiveFeed>(std::move(sources), ctx.auth);
  STROBE_RETURN_IF_ERROR(feed_->RegisterMetrics(ctx.registry));
  // The route is open at the HTTP level: browsers cannot send Authorization on a WebSocket,
  // so the feed checks the token of the subscribe message itself (live_feed.h).
  ctx.api.HandleWebSocket("/api/v1/live", feed_->Handlers(), {.require_auth = false});
  feed_->Start();
  return strobe::OkStatus();
}

strobe::Status DashboardComponent::Shutdown(daemon::Deadline deadline) {
  (void)deadline;
  // The feed itself stays allocated: the router's handlers and the registry's callbacks refer
  // to it until the daemon is destroyed.
  if (feed_) feed_->Stop();
  return strobe::OkStatus();
}

}  // namespace strobed::service
