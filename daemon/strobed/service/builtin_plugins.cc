#include "strobed/service/builtin_plugins.h"

#include "strobed/exporters/clickhouse/clickhouse.h"
#include "strobed/exporters/debug/debug.h"
#include "strobed/exporters/memory/memory.h"
#include "strobed/exporters/otlp_http/otlp_http.h"
#include "strobed/exporters/prometheus/prometheus.h"
#include "strobed/exporters/prometheus_remote_write/prometheus_remote_write.h"
#include "strobed/exporters/stream/stream.h"
#include "strobed/exporters/trace_analysis/trace_analysis.h"
#include "strobed/processors/adaptive_sampler/adaptive_sampler.h"
#include "strobed/processors/batch/batch.h"
#include "strobed/processors/head_sampler/head_sampler.h"
#include "strobed/processors/schema_validator/schema_validator.h"
#include "strobed/processors/tail_sampler/tail_sampler.h"
#include "strobed/receivers/memory/memory.h"
#include "strobed/receivers/otlp_grpc/otlp_grpc.h"
#include "strobed/receivers/otlp_http/otlp_http.h"
#include "strobed/receivers/shm/shm_receiver.h"

namespace strobed::service {

void RegisterBuiltinPlugins(pipeline::PluginRegistry& registry) {
  // Receivers.
  receivers::RegisterMemoryReceiver(registry);
  receivers::RegisterOtlpGrpcReceiver(registry);
  receivers::RegisterOtlpHttpReceiver(registry);
  receivers::RegisterShmReceiver(registry);
  // Processors (memory_limiter is built into the pipeline entry; see memory_limiter.h).
  processors::RegisterAdaptiveSampler(registry);
  processors::RegisterBatchProcessor(registry);
  processors::RegisterHeadSampler(registry);
  processors::RegisterSchemaValidator(registry);
  processors::RegisterTailSampler(registry);
  // Exporters.
  exporters::RegisterClickHouseExporter(registry);
  exporters::RegisterDebugExporter(registry);
  exporters::RegisterMemoryExporter(registry);
  exporters::RegisterOtlpHttpExporter(registry);
  exporters::RegisterPrometheusExporter(registry);
  exporters::RegisterRemoteWriteExporter(registry);
  exporters::RegisterStreamExporter(registry);
  exporters::RegisterTraceAnalysisExporter(registry);
}

const pipeline::PluginRegistry& BuiltinPlugins() {
  static const pipeline::PluginRegistry* registry = [] {
    auto* r = new pipeline::PluginRegistry();
    RegisterBuiltinPlugins(*r);
    return r;
  }();
  return *registry;
}

}  // namespace strobed::service
