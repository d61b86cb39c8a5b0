#include "strobed/service/serve.h"

#include <memory>

#include "strobed/demo/demo_component.h"
#include "strobed/event/attribute.h"
#include "strobed/host/host_collector.h"
#include "strobed/outputs/shm_snapshot/shm_snapshot.h"
#include "strobed/receivers/memory/memory.h"
#include "strobed/service/builtin_plugins.h"
#include "strobed/service/dashboard_component.h"
#include "strobed/service/pipeline_component.h"
#include "strobed/service/pprof_component.h"
#include "strobed/service/stream_component.h"
#include "strobed/service/trace_component.h"

namespace strobed::service {

void Serve::AddComponents(daemon::Daemon& daemon, const config::Config& config) {
  // Started in this order, stopped in reverse: the stream engine is up before pipelines feed
  // it and drains after them; the trace store completes pending traces after the pipelines
  // stopped feeding it; the demo stops first.
  auto stream = std::make_unique<StreamComponent>(stream_engines_, base::WallClock::System());
  StreamComponent* stream_ptr = stream.get();
  daemon.AddComponent(std::move(stream));
  daemon.AddComponent(
      std::make_unique<TraceComponent>(trace_store_, base::MonotonicClock::Steady()));
  pipeline::PluginServices shared;
  shared.trace_store = &trace_store_;
  shared.stream_engines = &stream_engines_;
  auto pipelines = std::make_unique<PipelineComponent>(BuiltinPlugins(), shared);
  PipelineComponent* pipelines_ptr = pipelines.get();
  daemon.AddComponent(std::move(pipelines));
  // Results for local programs without HTTP (<shm.dir>/strobe-<shm.name>.snapshot).
  daemon.AddComponent(std::make_unique<outputs::ShmSnapshotComponent>());
  if (config.host.enabled) daemon.AddComponent(std::make_unique<host::HostCollector>());
  // The dashboard reads the engines through the components that own them; they start before it
  // and stop after it.
  LiveSources live;
  live.traces = &trace_store_;
  live.steady_now_ns = [] { return base::MonotonicClock::Steady().NowNs(); };
  live.alerts = [stream_ptr] {
    return stream_ptr->alerts() ? stream_ptr->alerts()->AlertsJson() : std::string();
  };
  live.events = [stream_ptr] {
    // {"total":N,"events":[...]}: the feed shows the array.
    if (!stream_ptr->engine()) return std::string();
    std::string doc = stream_ptr->engine()->EventsJson();
    size_t at = doc.find("\"events\":");
    return at == std::string::npos ? std::string() : doc.substr(at + 9, doc.size() - at - 10);
  };
  daemon.AddComponent(std::make_unique<DashboardComponent>(std::move(live)));
  daemon.AddComponent(std::make_unique<PprofComponent>());
  if (config.demo.enabled) {
    auto demo = std::make_unique<demo::DemoComponent>();
    // The demo's requests also enter the pipeline as spans when a `memory/demo` receiver
    // exists (the built-in pipeline has one; a user's file may declare it).
    demo->FeedPipeline(
        [pipelines_ptr]() -> receivers::MemoryReceiver* {
          pipeline::PipelineService* svc = pipelines_ptr->service();
          if (svc == nullptr) return nullptr;
          return dynamic_cast<receivers::MemoryReceiver*>(svc->receiver("memory/demo"));
        },
        event::KeyTable::Global());
    daemon.AddComponent(std::move(demo));
  }
}

}  // namespace strobed::service
