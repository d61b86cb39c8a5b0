#include "strobed/pipeline/pipeline_component.h"

#include <algorithm>
#include <chrono>
#include <string_view>

#include "strobed/base/json.h"
#include "strobed/config/config.h"
#include "strobed/pipeline/config.h"

namespace strobed::pipeline {

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

PipelineComponent::~PipelineComponent() {
  if (service_) service_->UnbindMetrics();
}

strobe::Status PipelineComponent::Start(const daemon::ComponentContext& ctx) {
  std::string file;
  YAML::Node root = PipelineSections(ctx.config, &file);
  auto cfg = ParsePipelineConfig(root, file, BuiltinPlugins());
  if (!cfg.ok()) return cfg.status();
  auto svc = PipelineService::Create(*cfg, ServiceOptions{});
  if (!svc.ok()) return svc.status();
  service_ = std::move(svc).value();
  STROBE_RETURN_IF_ERROR(service_->BindMetrics(ctx.registry));
  STROBE_RETURN_IF_ERROR(service_->Start());
  running_.store(true);
  for (const ComponentConfig& c : cfg->components) {
    if (c.kind != ComponentKind::kReceiver) continue;
    const Receiver* r = service_->receiver(c.id.ToString());
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
  for (const PipelineSnapshot& p : service_->Snapshot().pipelines) {
    if (!first) out += ",";
    first = false;
    uint64_t received = p.stages.empty() ? 0 : p.stages[0].received;
    uint64_t dropped = 0;
    uint64_t exported = 0;
    for (const StageSnapshot& st : p.stages) {
      dropped += st.DroppedTotal();
      if (st.stage.rfind("exporter/", 0) == 0) exported += st.forwarded;
    }
    out += "{\"name\":" + base::JsonQuote(p.name) + ",\"received\":" + std::to_string(received) +
           ",\"exported\":" + std::to_string(exported) + ",\"dropped\":" + std::to_string(dropped) +
           ",\"queued\":" + std::to_string(p.queued_events) + "}";
  }
  return out + "]}";
}

}  // namespace strobed::pipeline
