#include "strobed/config/defaults.h"

#include <yaml-cpp/yaml.h>

#include <initializer_list>

namespace strobed::config {
namespace {

constexpr std::string_view kPipelineSections[] = {"receivers",  "processors", "exporters",
                                                  "connectors", "pipelines",  "service"};

// Windows and alert rules over the demo workload's spans (demo/demo_spans.h): server spans
// carry service.name (resource), http.route and http.response.status_code. Every result shows
// within a minute of start (tests/integration/stream_watermark/test_demo_results.py): the
// first window closes ~12 s in, anomaly scores follow after `warmup` windows (~45 s), and the
// default seed's first error burst fires HighErrorRate.
constexpr std::string_view kDemoStream = R"(windows:
  - name: demo_http
    match: {kind: span, where: ["http.response.status_code >= 100"]}
    type: tumbling
    size: 10s
    group_by: [service.name, http.route]
    aggregations: [count, rate, error_rate, p50, p90, p99]
    allowed_lateness: 2s
anomaly:
  - name: demo_latency
    window: demo_http
    aggregation: p99
    detector: mad
    points: 60
    warmup: 4
    sensitivity: 6
)";

constexpr std::string_view kDemoAlerts = R"(evaluation_interval: 1s
rules:
  - alert: HighLatencyP99
    expr: p99(demo_http) > 1s
    for: 20s
    severity: warning
    annotations:
      summary: "p99 of {{ $labels.service.name }} {{ $labels.http.route }} is {{ $value }}s"
  - alert: HighErrorRate
    expr: error_rate(demo_http) > 10%
    for: 10s
    severity: critical
    annotations:
      summary: "{{ $labels.service.name }} {{ $labels.http.route }} fails {{ $value }} of requests"
)";

// Double-quoted YAML scalar.
std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool AnyPresent(const Config& config, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (config.Section(n).present()) return true;
  }
  return false;
}

strobe::Status AddSection(Config& config, std::string_view name, std::string_view yaml) {
  try {
    YAML::Node node = YAML::Load(std::string(yaml));
    config.sections[std::string(name)] = RawSection{node, std::string(kBuiltinDefaultsFile)};
  } catch (const YAML::Exception& e) {
    return strobe::Internal("built-in " + std::string(name) + " section: " + e.what());
  }
  return strobe::OkStatus();
}

}  // namespace

std::string DefaultPipelineYaml(const Config& config, const BuiltinSections& builtin) {
  for (std::string_view n : kPipelineSections) {
    if (config.Section(n).present()) return "";
  }
  std::string receivers, receiver_ids;
  auto add_receiver = [&](std::string_view id, const std::string& body) {
    receivers += "  " + std::string(id) + ": " + body + "\n";
    receiver_ids += (receiver_ids.empty() ? "" : ", ") + std::string(id);
  };
  if (config.otlp_http.enabled) {
    std::string body = "{endpoint: " + Quoted(config.otlp_http.ToString());
    add_receiver("otlp_http", body + "}");
  }
  if (builtin.otlp_grpc_receiver && config.otlp_grpc.enabled) {
    add_receiver("otlp_grpc", "{endpoint: " + Quoted(config.otlp_grpc.ToString()) + "}");
  }
  if (builtin.shm_receiver && config.shm_name != "off") {
    add_receiver("shm", "{name: " + Quoted(config.shm_name) + ", dir: " + Quoted(config.shm_dir) +
                            ", allowed_users: " + Quoted(config.shm_allowed_users) +
                            ", allowed_groups: " + Quoted(config.shm_allowed_groups) + "}");
  }
  if (config.demo.enabled) add_receiver("memory/demo", "{}");
  if (receiver_ids.empty()) return "";

  std::string exporters = "  trace_analysis: {}\n";
  std::string exporter_ids = "trace_analysis";
  if (builtin.prometheus_exporter) {
    exporters += "  prometheus: {}\n";
    exporter_ids += ", prometheus";
  }
  if (config.Section("stream").present()) {
    exporters += "  stream: {}\n";
    exporter_ids += ", stream";
  }
  return "receivers:\n" + receivers +
         "processors:\n"
         "  memory_limiter: {soft_limit: 384MiB, hard_limit: 512MiB}\n"
         "  batch: {send_batch_size: 1000, timeout: 100ms}\n"
         "exporters:\n" +
         exporters +
         "service:\n"
         "  pipelines:\n"
         "    default:\n"
         "      receivers: [" +
         receiver_ids +
         "]\n"
         "      processors: [memory_limiter, batch]\n"
         "      exporters: [" +
         exporter_ids + "]\n";
}

strobe::Status ApplyBuiltinSections(Config& config, const BuiltinSections& builtin) {
  if (config.demo.enabled && !AnyPresent(config, {"stream", "alerts"})) {
    STROBE_RETURN_IF_ERROR(AddSection(config, "stream", kDemoStream));
    STROBE_RETURN_IF_ERROR(AddSection(config, "alerts", kDemoAlerts));
  }
  std::string yaml = DefaultPipelineYaml(config, builtin);
  if (yaml.empty()) return strobe::OkStatus();
  try {
    YAML::Node root = YAML::Load(yaml);
    for (std::string_view name : kPipelineSections) {
      YAML::Node section = root[std::string(name)];
      if (section.IsDefined()) {
        config.sections[std::string(name)] = RawSection{section, std::string(kBuiltinDefaultsFile)};
      }
    }
  } catch (const YAML::Exception& e) {
    return strobe::Internal(std::string("built-in pipeline: ") + e.what());
  }
  return strobe::OkStatus();
}

}  // namespace strobed::config
