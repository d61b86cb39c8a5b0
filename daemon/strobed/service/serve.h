#pragma once

// service::Serve: the composition root of `strobe serve`. It owns what the daemon's parts
// share (the trace store, the stream engine slot, the clocks) and adds the daemon's
// components in their start order:
//   stream   stream + alert engines, their API routes and metrics (installs the engine in
//            the slot before any pipeline feeds it; drains after them)
//   trace    trace API routes and metrics over the shared store
//   pipelines  every configured pipeline, built from the built-in plugins, each plugin given
//            the shared services through its context
//   shm_snapshot  the results snapshot for local programs
//   host     host and process metrics (when host.enabled)
//   demo     the synthetic workload (when demo.enabled), fed through `memory/demo`
// This file and builtin_plugins.cc are the only places that know every part of the daemon;
// apps/strobe only parses flags and runs the Daemon.
//
//   strobed::service::Serve serve;                  // must outlive the daemon
//   strobed::daemon::Daemon daemon(std::move(options));
//   serve.AddComponents(daemon, config);
//   daemon.Start(); daemon.Run();
//
// Thread class: control thread only.

#include "strobed/base/clock.h"
#include "strobed/config/config.h"
#include "strobed/daemon/daemon.h"
#include "strobed/stream/engine_slot.h"
#include "strobed/trace/trace_store.h"

namespace strobed::service {

class Serve {
 public:
  Serve() = default;
  Serve(const Serve&) = delete;
  Serve& operator=(const Serve&) = delete;

  // Adds the components listed above to `daemon`, before daemon.Start(). The components
  // refer to this object's members: destroy it only after the daemon.
  void AddComponents(daemon::Daemon& daemon, const config::Config& config);

  trace::TraceStore& trace_store() { return trace_store_; }
  stream::EngineSlot& stream_engines() { return stream_engines_; }

 private:
  trace::TraceStore trace_store_;
  stream::EngineSlot stream_engines_;
};

}  // namespace strobed::service
