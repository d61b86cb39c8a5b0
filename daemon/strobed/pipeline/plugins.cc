// The one list of built-in pipeline plugins (STYLE.md section 7). A new plugin adds its
// Register<Name>() call here and its library to `strobed_pipeline_service` in CMakeLists.txt.

#include "strobed/exporters/debug/debug.h"
#include "strobed/exporters/memory/memory.h"
#include "strobed/exporters/otlp_http/otlp_http.h"
#include "strobed/exporters/prometheus/prometheus.h"
#include "strobed/pipeline/plugin_registry.h"
#include "strobed/processors/adaptive_sampler/adaptive_sampler.h"
#include "strobed/processors/batch/batch.h"
#include "strobed/processors/head_sampler/head_sampler.h"
#include "strobed/processors/tail_sampler/tail_sampler.h"
#include "strobed/receivers/memory/memory.h"
#include "strobed/receivers/otlp_http/otlp_http.h"
#include "strobed/receivers/shm/shm_receiver.h"
#include "strobed/stream/exporter.h"
#include "strobed/trace/trace_exporter.h"

namespace strobed::pipeline {

void RegisterBuiltinPlugins(PluginRegistry& registry) {
  // Receivers.
  receivers::RegisterMemoryReceiver(registry);
  receivers::RegisterOtlpHttpReceiver(registry);
  receivers::RegisterShmReceiver(registry);
  // Processors (memory_limiter is built into the pipeline entry; see memory_limiter.h).
  processors::RegisterAdaptiveSampler(registry);
  processors::RegisterBatchProcessor(registry);
  processors::RegisterHeadSampler(registry);
  processors::RegisterTailSampler(registry);
  // Exporters.
  exporters::RegisterDebugExporter(registry);
  exporters::RegisterMemoryExporter(registry);
  exporters::RegisterOtlpHttpExporter(registry);
  exporters::RegisterPrometheusExporter(registry);
  stream::RegisterStreamExporter(registry);
  trace::RegisterTraceExporter(registry);
}

const PluginRegistry& BuiltinPlugins() {
  static const PluginRegistry* registry = [] {
    auto* r = new PluginRegistry();
    RegisterBuiltinPlugins(*r);
    return r;
  }();
  return *registry;
}

}  // namespace strobed::pipeline
