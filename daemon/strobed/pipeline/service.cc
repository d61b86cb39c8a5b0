#include "strobed/pipeline/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "strobe/base/check.h"
#include "strobe/metrics/registry.h"
#include "strobed/pipeline/fanout.h"

namespace strobed::pipeline {

strobe::Result<std::unique_ptr<PipelineService>> PipelineService::Create(
    const PipelineConfig& config, ServiceOptions options) {
  std::unique_ptr<PipelineService> svc(new PipelineService());
  if (options.plugins == nullptr) {
    return strobe::InvalidArgument("pipeline service: no plugin registry given");
  }
  if (options.services.metrics == nullptr) {
    svc->own_metrics_ = std::make_unique<strobe::metrics::Registry>();
    options.services.metrics = svc->own_metrics_.get();
  }
  if (options.services.wall_clock == nullptr) {
    options.services.wall_clock = &base::WallClock::System();
  }
  if (options.clock == nullptr) options.clock = &base::MonotonicClock::Steady();
  if (options.pool == nullptr) options.pool = &event::BatchPool::Default();
  if (options.keys == nullptr) options.keys = &event::KeyTable::Global();
  svc->options_ = options;
  const PluginRegistry& registry = *options.plugins;
  uint64_t seed = options.seed;

  auto context = [&](const ComponentConfig& c) {
    return ComponentContext{c.id,          c.options,     config.file, *options.clock,
                            *options.pool, *options.keys, seed++,      options.services};
  };
  auto where = [&](const ComponentConfig& c) {
    return config.file + ":" + std::to_string(c.line) + ": " +
           std::string(ComponentKindName(c.kind)) + " '" + c.id.ToString() + "'";
  };

  // Usage counts decide whether an exporter needs its mutex.
  std::map<std::string, int> exporter_users;
  for (const PipelineSpec& p : config.pipelines) {
    for (const ComponentId& id : p.exporters) ++exporter_users[id.ToString()];
  }

  // Connector ingests exist before the pipelines that export into them.
  for (const ComponentConfig& c : config.components) {
    if (c.kind == ComponentKind::kConnector) {
      svc->connector_ingests_[c.id.ToString()] =
          std::make_unique<FanoutIngest>(*options.pool, c.id.ToString());
    }
  }
  // Shared exporters.
  for (const ComponentConfig& c : config.components) {
    if (c.kind != ComponentKind::kExporter) continue;
    std::string id = c.id.ToString();
    if (exporter_users.count(id) == 0) continue;  // defined but unused: not instantiated
    const ExporterPlugin* plugin = registry.FindExporter(c.id.type);
    STROBE_CHECK(plugin != nullptr);  // validated by ParsePipelineConfig
    auto ex = plugin->create(context(c));
    if (!ex.ok()) return ex.status().WithContext(where(c));
    SharedExporter& se = svc->exporters_[id];
    se.id = id;
    se.exporter = std::move(ex).value();
    se.users = exporter_users[id];
    if (se.users > 1) se.mu = std::make_unique<std::mutex>();
  }
  // Memory limiters (one per id).
  for (const ComponentConfig& c : config.components) {
    if (c.kind != ComponentKind::kProcessor || c.id.type != "memory_limiter") continue;
    auto lo = MemoryLimiterOptionsFrom(c.options);
    if (!lo.ok()) return lo.status().WithContext(where(c));
    svc->limiters_[c.id.ToString()] = std::make_unique<MemoryLimiter>(*lo);
  }
  // Pipelines.
  std::map<std::string, Pipeline*> by_name;
  for (const PipelineSpec& spec : config.pipelines) {
    std::vector<Stage<Processor>> procs;
    for (const ComponentId& id : spec.processors) {
      const ComponentConfig* c = config.Find(ComponentKind::kProcessor, id);
      STROBE_CHECK(c != nullptr);
      const ProcessorPlugin* plugin = registry.FindProcessor(id.type);
      STROBE_CHECK(plugin != nullptr);
      auto proc = plugin->create(context(*c));
      if (!proc.ok()) return proc.status().WithContext(where(*c));
      procs.push_back(Stage<Processor>{id.ToString(), std::move(proc).value(), nullptr, nullptr});
    }
    std::vector<Stage<Exporter>> exps;
    for (const ComponentId& id : spec.exporters) {
      std::string key = id.ToString();
      if (auto it = svc->connector_ingests_.find(key); it != svc->connector_ingests_.end()) {
        exps.push_back(Stage<Exporter>{
            key, std::make_unique<ForwardExporter>(*it->second, *options.pool), nullptr, nullptr});
        continue;
      }
      SharedExporter& se = svc->exporters_.at(key);
      exps.push_back(Stage<Exporter>{key, nullptr, se.exporter.get(), se.mu.get()});
    }
    PipelineOptions po;
    po.name = spec.name;
    po.queue = spec.queue;
    po.retry = spec.retry;
    po.clock = options.clock;
    po.pool = options.pool;
    po.seed = seed++;
    if (spec.has_memory_limiter)
      po.limiter = svc->limiters_.at(spec.memory_limiter.ToString()).get();
    auto pipeline = std::make_unique<Pipeline>(po, std::move(procs), std::move(exps));
    by_name[spec.name] = pipeline.get();
    svc->pipelines_.push_back(std::move(pipeline));
  }
  // Receivers and connector inputs.
  std::map<std::string, FanoutIngest*> receiver_ingests;
  for (const ComponentConfig& c : config.components) {
    if (c.kind != ComponentKind::kReceiver) continue;
    bool used = false;
    for (const PipelineSpec& p : config.pipelines) {
      used = used || std::find(p.receivers.begin(), p.receivers.end(), c.id) != p.receivers.end();
    }
    if (!used) continue;
    const ReceiverPlugin* plugin = registry.FindReceiver(c.id.type);
    STROBE_CHECK(plugin != nullptr);
    auto rec = plugin->create(context(c));
    if (!rec.ok()) return rec.status().WithContext(where(c));
    ReceiverEntry entry;
    entry.id = c.id.ToString();
    entry.receiver = std::move(rec).value();
    entry.ingest = std::make_unique<FanoutIngest>(*options.pool, entry.id);
    receiver_ingests[entry.id] = entry.ingest.get();
    svc->receivers_.push_back(std::move(entry));
  }
  for (const PipelineSpec& p : config.pipelines) {
    for (const ComponentId& id : p.receivers) {
      std::string key = id.ToString();
      FanoutIngest* ingest = nullptr;
      if (auto it = svc->connector_ingests_.find(key); it != svc->connector_ingests_.end()) {
        ingest = it->second.get();
      } else {
        ingest = receiver_ingests.at(key);
      }
      ingest->AddTarget(by_name.at(p.name), p.signals);
    }
  }
  STROBE_RETURN_IF_ERROR(svc->BindMetrics());
  return svc;
}

PipelineService::~PipelineService() {
  UnbindMetrics();
  (void)Shutdown(std::chrono::milliseconds(2000));
}

strobe::Status PipelineService::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || shut_down_) return strobe::FailedPrecondition("pipeline service already started");
  started_ = true;
  // Sweeps are sound only when the batches carrying the table's ids register with it: the
  // service's pool must be of the same table (a test may pair a private table with the
  // default pool; its keys are then never reclaimed).
  if (&options_.pool->keys() == options_.keys) {
    key_sweeper_ = std::make_unique<KeySweeper>(*options_.keys, options_.key_sweep);
    key_sweeper_->Start();
  }
  // Exporters shared by pipelines are owned here, so the pipelines' Start (which starts the
  // stages they own) does not reach them: start each once, before any pipeline can export.
  for (auto& [id, se] : exporters_) {
    strobe::Status s = se.exporter->Start();
    if (!s.ok()) return s.WithContext("exporter '" + id + "'");
  }
  for (auto it = pipelines_.rbegin(); it != pipelines_.rend(); ++it) {  // downstream first
    strobe::Status s = (*it)->Start();
    if (!s.ok()) return s.WithContext("pipeline '" + (*it)->name() + "'");
  }
  for (ReceiverEntry& r : receivers_) {
    strobe::Status s = r.receiver->Start(*r.ingest);
    if (!s.ok()) return s.WithContext("receiver '" + r.id + "'");
  }
  return strobe::OkStatus();
}

strobe::Status PipelineService::Shutdown(std::chrono::milliseconds deadline) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return strobe::OkStatus();
  shut_down_ = true;
  auto until = std::chrono::steady_clock::now() + deadline;
  auto remaining = [&] {
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                        until - std::chrono::steady_clock::now()),
                    std::chrono::milliseconds(0));
  };
  strobe::Status status;
  auto keep_first = [&status](strobe::Status s) {
    if (!s.ok() && status.ok()) status = std::move(s);
  };
  if (started_) {
    for (ReceiverEntry& r : receivers_) {
      keep_first(r.receiver->Shutdown(remaining()).WithContext("receiver '" + r.id + "'"));
    }
  }
  for (auto& p : pipelines_) {  // upstream first: forwards drain into running pipelines
    strobe::Status s = p->Shutdown(remaining());
    // Every pipeline's loss is logged with its count, not only the first error returned.
    if (!s.ok() && options_.services.logger != nullptr) {
      options_.services.logger->warn("shutdown: {}", s.message());
    }
    keep_first(s.WithContext("pipeline '" + p->name() + "'"));
  }
  for (auto& [id, se] : exporters_) {
    keep_first(se.exporter->Shutdown(remaining()).WithContext("exporter '" + id + "'"));
  }
  if (key_sweeper_) key_sweeper_->Stop();
  return status;
}

strobe::Status PipelineService::Flush(std::chrono::milliseconds deadline) {
  for (ReceiverEntry& r : receivers_) STROBE_RETURN_IF_ERROR(r.receiver->Flush(deadline));
  for (auto& p : pipelines_) STROBE_RETURN_IF_ERROR(p->Flush(deadline));
  return strobe::OkStatus();
}

ServiceSnapshot PipelineService::Snapshot() const {
  ServiceSnapshot s;
  for (const auto& p : pipelines_) s.pipelines.push_back(p->Snapshot());
  for (const ReceiverEntry& r : receivers_) s.unrouted_events[r.id] = r.ingest->unrouted();
  for (const auto& [id, l] : limiters_) {
    s.memory_used_bytes[id] = l->used_bytes();
    s.memory_limit_bytes[id] = l->options().hard_limit_bytes;
  }
  return s;
}

Receiver* PipelineService::receiver(const std::string& id) const {
  for (const ReceiverEntry& r : receivers_) {
    if (r.id == id) return r.receiver.get();
  }
  return nullptr;
}

Exporter* PipelineService::exporter(const std::string& id) const {
  auto it = exporters_.find(id);
  return it == exporters_.end() ? nullptr : it->second.exporter.get();
}

Pipeline* PipelineService::pipeline(const std::string& name) const {
  for (const auto& p : pipelines_) {
    if (p->name() == name) return p.get();
  }
  return nullptr;
}

}  // namespace strobed::pipeline
