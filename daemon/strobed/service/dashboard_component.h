#pragma once

// service::DashboardComponent: the live dashboard of `strobe serve`. At Start it mounts the
// page compiled into the binary (web_assets.h) at "/" and "/assets/*" on the API listener.
//
// Thread class: control thread (Start/Shutdown); the routes are thread-safe.

#include <string>

#include "strobed/daemon/component.h"

namespace strobed::service {

class DashboardComponent final : public daemon::Component {
 public:
  DashboardComponent() = default;

  std::string Name() const override { return "dashboard"; }
  strobe::Status Start(const daemon::ComponentContext& ctx) override;
  strobe::Status Shutdown(daemon::Deadline deadline) override;
};

}  // namespace strobed::service
