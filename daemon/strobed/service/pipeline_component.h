#pragma once

// service::PipelineComponent: runs the configured pipelines inside `strobe serve`.
//
// At Start it reads the configuration sections `receivers`, `processors`, `exporters`,
// `connectors`, `pipelines` and `service` (kept raw by the daemon's config loader), parses
// them with ParsePipelineConfig (errors name file:line), builds a PipelineService from the
// plugin registry it was given (the built-in plugins in `strobe serve`), hands every plugin
// the daemon's services (its metrics registry for /metrics, the API router, the data
// directory, the logger, plus the shared trace store and stream engine slot it was built
// with) and starts it. Shutdown drains every pipeline within the daemon's grace period. With no
// pipeline sections nothing runs (and Ready() says so in StatusJson only; it stays ready).
//
// Thread class: Start/Shutdown on the daemon's control thread; Ready/StatusJson thread-safe.

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "strobed/daemon/component.h"
#include "strobed/pipeline/plugin_registry.h"
#include "strobed/pipeline/service.h"

namespace strobed::service {

class PipelineComponent final : public daemon::Component {
 public:
  // `plugins` and what `shared` points to must outlive the component. The component fills
  // shared.metrics, router, logger and data_dir from the daemon at Start.
  PipelineComponent(const pipeline::PluginRegistry& plugins, pipeline::PluginServices shared)
      : plugins_(plugins), shared_(std::move(shared)) {}
  ~PipelineComponent() override;

  std::string Name() const override { return "pipelines"; }
  strobe::Status Start(const daemon::ComponentContext& ctx) override;
  strobe::Status Shutdown(daemon::Deadline deadline) override;
  daemon::Readiness Ready() const override;
  std::string StatusJson() const override;

  // The running service (nullptr before Start); for in-process users such as tests.
  pipeline::PipelineService* service() const { return service_.get(); }

 private:
  const pipeline::PluginRegistry& plugins_;
  pipeline::PluginServices shared_;
  std::unique_ptr<pipeline::PipelineService> service_;
  std::atomic<bool> running_{false};
};

// The YAML map of the pipeline sections of a daemon configuration, and the file they came
// from (for messages). Exposed for tests and `strobe validate`.
YAML::Node PipelineSections(const config::Config& config, std::string* file);

}  // namespace strobed::service
