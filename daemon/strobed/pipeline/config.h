#pragma once

// Pipeline configuration: the `receivers`, `processors`, `exporters`, `connectors` and
// `service: pipelines` (or top-level `pipelines`) sections of the strobe YAML file, in the
// shape people know from OpenTelemetry Collector configurations:
//
//   receivers:
//     memory: {}
//   processors:
//     memory_limiter: {soft_limit: 384MiB, hard_limit: 512MiB}
//     batch: {send_batch_size: 1000, timeout: 100ms}
//   exporters:
//     debug: {verbosity: basic}
//   connectors:
//     forward/sampled: {}              # exporter in one pipeline, receiver in another
//   service:
//     pipelines:
//       traces:                        # name prefix traces/metrics/logs selects the signals
//         receivers: [memory]
//         processors: [memory_limiter, batch]
//         exporters: [debug]
//         queue: {policy: block, max_batches: 1024, max_events: 1000000, max_bytes: 256MiB}
//         retry: {max_attempts: 10, initial_backoff: 100ms, max_backoff: 10s}
//
// Component ids are "type" or "type/name". Every error names the file and line: unknown
// component type, unknown option, a pipeline naming an undefined component, a pipeline
// without receivers or exporters, a cycle through connectors, memory_limiter not first.
//
// Thread class: value types; parsing is control-plane only.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/pipeline/component.h"
#include "strobed/pipeline/pipeline.h"
#include "strobed/pipeline/plugin_registry.h"

namespace strobed::pipeline {

enum class ComponentKind : uint8_t { kReceiver, kProcessor, kExporter, kConnector };
std::string_view ComponentKindName(ComponentKind kind);

struct ComponentConfig {
  ComponentKind kind;
  ComponentId id;
  Options options;
  int line = 0;  // 1-based line of the component's key
};

struct PipelineSpec {
  std::string name;
  uint8_t signals = event::kSignalAll;
  std::vector<ComponentId> receivers;   // receivers and connectors
  std::vector<ComponentId> processors;  // memory_limiter (if any) is removed and put below
  std::vector<ComponentId> exporters;   // exporters and connectors
  bool has_memory_limiter = false;
  ComponentId memory_limiter;
  QueueOptions queue;
  RetryOptions retry;
  int line = 0;
};

struct PipelineConfig {
  std::string file;
  std::vector<ComponentConfig> components;
  std::vector<PipelineSpec> pipelines;  // in topological order: upstream before downstream

  const ComponentConfig* Find(ComponentKind kind, const ComponentId& id) const;
};

// Parses the pipeline sections of `root` (the whole configuration document, a map). Other
// top-level keys are ignored (they belong to the daemon). `file` is used in messages.
// Missing sections mean "no pipelines" (an empty, valid config).
strobe::Result<PipelineConfig> ParsePipelineConfig(const YAML::Node& root, std::string_view file,
                                                   const PluginRegistry& registry);

// Convenience: parses YAML text (tests, `strobe validate`). YAML syntax errors are reported
// with their line.
strobe::Result<PipelineConfig> ParsePipelineConfigText(std::string_view yaml, std::string_view file,
                                                       const PluginRegistry& registry);

}  // namespace strobed::pipeline
