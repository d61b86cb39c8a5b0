#pragma once

// strobed::pipeline::PipelineComponent: runs the configured pipelines inside `strobe serve`.
//
// At Start it reads the configuration sections `receivers`, `processors`, `exporters`,
// `connectors`, `pipelines` and `service` (kept raw by the daemon's config loader), parses
// them with ParsePipelineConfig (errors name file:line), builds a PipelineService from the
// built-in plugins, binds its statistics to the daemon's metrics registry (/metrics) and starts
// it. Shutdown drains every pipeline within the daemon's grace period. With no pipeline
// sections nothing runs (and Ready() says so in StatusJson only; it stays ready).
//
// Thread class: Start/Shutdown on the daemon's control thread; Ready/StatusJson thread-safe.

#include <atomic>
#include <memory>
#include <string>

#include "strobed/daemon/component.h"
#include "strobed/pipeline/service.h"

namespace strobed::pipeline {

class PipelineComponent final : public daemon::Component {
 public:
  PipelineComponent() = default;
  ~PipelineComponent() override;

  std::string Name() const override { return "pipelines"; }
  strobe::Status Start(const daemon::ComponentContext& ctx) override;
  strobe::Status Shutdown(daemon::Deadline deadline) override;
  daemon::Readiness Ready() const override;
  std::string StatusJson() const override;

  // The running service (nullptr before Start); for in-process users such as tests.
  PipelineService* service() const { return service_.get(); }

 private:
  std::unique_ptr<PipelineService> service_;
  std::atomic<bool> running_{false};
};

// The YAML map of the pipeline sections of a daemon configuration, and the file they came
// from (for messages). Exposed for tests and `strobe validate`.
YAML::Node PipelineSections(const config::Config& config, std::string* file);

}  // namespace strobed::pipeline
