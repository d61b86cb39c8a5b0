#include "strobed/service/pipeline_component.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <string_view>

#include "strobed/base/json.h"
#include "strobed/config/config.h"
#include "strobed/pipeline/config.h"

namespace strobed::service {

namespace {
constexpr std::string_view kSections[] = {"receivers",  "processors", "exporters",
                                          "connectors", "pipelines",  "service"};
}  // namespace

YAML::Node PipelineSections(const config::Config& config, std::string* file) {
  YAML::Node root(YAML::NodeType::Map);
  *file = config.file.empty() ? "<defaults>" : config.file;
  for (std::string_view name : kSections) {
    const config::RawSection& s = config.Section(name);
    if (!s.present()) continue;
    root[std::string(name)] = s.node;
    if (!s.file.empty()) *file = s.file;
  }
  return root;
}

PipelineComponent::~PipelineComponent() = default;

strobe::Status PipelineComponent::Start(const daemon::ComponentContext& ctx) {
  std::string file;
  YAML::Node root = PipelineSections(ctx.config, &file);
  auto cfg = pipeline::ParsePipelineConfig(root, file, plugins_);
  if (!cfg.ok()) return cfg.status();
  pipeline::ServiceOptions options;
  options.plugins = &plugins_;
  options.services = shared_;
  options.services.metrics = &ctx.registry;
  options.services.router = &ctx.api;
  options.services.http_metrics = ctx.http_metrics;
  options.services.ingress_budget = ctx.ingress_budget;
  options.services.auth = ctx.auth;
  options.services.logger = spdlog::default_logger_raw();
  options.services.data_dir = ctx.config.data_dir;
  options.key_sweep.interval = ctx.config.key_table.sweep_interval;
  options.key_sweep.high_water = ctx.config.key_table.high_water;
  auto svc = pipeline::PipelineService::Create(*cfg, std::move(options));
  if (!svc.ok()) return svc.status();
  service_ = std::move(svc).value();
  STROBE_RETURN_IF_ERROR(service_->Start());
  running_.store(true);
  for (const pipeline::ComponentConfig& c : cfg->components) {
    if (c.kind != pipeline::ComponentKind::kReceiver) continue;
    const pipeline::Receiver* r = service_->receiver(c.id.ToString());
    std::string endpoint = r == nullptr ? "" : r->Endpoint();
    if (!endpoint.empty() && ctx.report_listener) ctx.report_listener(c.id.ToString(), endpoint);
  }
  return strobe::OkStatus();
}

strobe::Status PipelineComponent::Shutdown(daemon::Deadline deadline) {
  running_.store(false);
  if (!service_) return strobe::OkStatus();
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return service_->Shutdown(std::max(left, std::chrono::milliseconds(0)));
}

daemon::Readiness PipelineComponent::Ready() const {
  if (!running_.load()) return {false, "pipelines not running"};
  return {};
}

std::string PipelineComponent::StatusJson() const {
  if (!running_.load() || !service_) return "";
  std::string out = "{\"pipelines\":[";
  bool first = true;
  for (const pipeline::PipelineSnapshot& p : service_->Snapshot().pipelines) {
    if (!first) out += ",";
    first = false;
    uint64_t received = p.stages.empty() ? 0 : p.stages[0].received;
    uint64_t dropped = 0;
    uint64_t exported = 0;
    for (const pipeline::StageSnapshot& st : p.stages) {
      dropped += st.DroppedTotal();
      if (st.stage.rfind("exporter/", 0) == 0) exported += st.forwarded;
    }
    out += "{\"name\":" + base::JsonQuote(p.name) + ",\"received\":" + std::to_string(received) +
           ",\"exported\":" + std::to_string(exported) + ",\"dropped\":" + std::to_string(dropped) +
           ",\"queued\":" + std::to_string(p.queued_events) + "}";
  }
  return out + "]}";
}

}  // namespace strobed::service
