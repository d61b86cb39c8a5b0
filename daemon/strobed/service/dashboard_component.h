#pragma once

// service::DashboardComponent: the live dashboard of `strobe serve`. At Start it
//   - mounts the page compiled into the binary (web_assets.h) at "/" and "/assets/*" of the
//     API listener (no token needed for the page; the data it reads needs one);
//   - mounts the live feed (live_feed.h) at the WebSocket endpoint /api/v1/live, with the
//     daemon's bearer-token check, and starts its thread;
//   - registers the feed's self-metrics (strobe_live_*).
// Shutdown stops the feed's thread (the API listener, drained first, has closed the sockets).
//
// Thread class: control thread (Start/Shutdown); the routes are thread-safe.

#include <memory>
#include <string>

#include "strobed/daemon/component.h"
#include "strobed/service/live_feed.h"

namespace strobed::service {

class DashboardComponent final : public daemon::Component {
 public:
  // `sources` (registry excepted: the daemon's registry is used) must outlive the component.
  explicit DashboardComponent(LiveSources sources) : sources_(std::move(sources)) {}

  std::string Name() const override { return "dashboard"; }
  strobe::Status Start(const daemon::ComponentContext& ctx) override;
  strobe::Status Shutdown(daemon::Deadline deadline) override;

 private:
  LiveSources sources_;
  std::unique_ptr<LiveFeed> feed_;
};

}  // namespace strobed::service
