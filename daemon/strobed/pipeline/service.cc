#include "strobed/pipeline/service.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "strobe/base/check.h"
#include "strobe/metrics/registry.h"

namespace strobed::pipeline {

// The Ingest a receiver (or connector) pushes into: routes to every pipeline it feeds.
class PipelineService::FanoutIngest final : public Ingest {
 public:
  FanoutIngest(event::BatchPool& pool, std::string id) : pool_(pool), id_(std::move(id)) {}

  void AddTarget(Pipeline* p, uint8_t signals) { targets_.push_back({p, signals}); }

  PushResult Push(event::BatchPtr&& batch, const PushOptions& options) noexcept override {
    uint8_t present = batch->signals();
    std::size_t wanted_count = 0;
    uint8_t covered = 0;
    for (const Target& t : targets_) {
      if ((t.signals & present) != 0) {
        ++wanted_count;
        covered |= t.signals;
      }
    }
    // Events of kinds no pipeline takes are counted and removed.
    uint8_t unrouted = present & static_cast<uint8_t>(~covered);
    if (unrouted != 0) {
      uint64_t n = 0;
      if ((unrouted & event::kSignalTraces) != 0) {
        n += batch->RemoveSpansIf([](const event::Span&) { return true; });
      }
      if ((unrouted & event::kSignalMetrics) != 0) {
        n += batch->RemoveMetricsIf([](const event::MetricPoint&) { return true; });
      }
      if ((unrouted & event::kSignalLogs) != 0) {
        n += batch->RemoveLogsIf([](const event::LogRecord&) { return true; });
      }
      unrouted_.fetch_add(n, std::memory_order_relaxed);  // statistic
    }
    if (wanted_count == 0) return PushResult{PushStatus::kDropped, RefuseReason::kCount, {}, {}};

    PushResult worst;
    std::size_t seen = 0;
    for (const Target& t : targets_) {
      if ((t.signals & present) == 0) continue;
      ++seen;
      event::BatchPtr mine;
      if (seen == wanted_count) {
        mine = std::move(batch);
        StripTo(*mine, t.signals);
      } else {
        mine = pool_.Acquire();
        event::EventCopier copier(*mine);
        if ((t.signals & event::kSignalTraces) != 0) {
          for (const auto& s : batch->spans()) copier.CopySpan(s);
        }
        if ((t.signals & event::kSignalMetrics) != 0) {
          for (const auto& m : batch->metrics()) copier.CopyMetric(m);
        }
        if ((t.signals & event::kSignalLogs) != 0) {
          for (const auto& l : batch->logs()) copier.CopyLog(l);
        }
      }
      PushResult r = t.pipeline->Push(std::move(mine), options);
      if (static_cast<int>(r.status) > static_cast<int>(worst.status)) worst = std::move(r);
    }
    return worst;
  }

  event::BatchPool& pool() noexcept override { return pool_; }
  uint64_t unrouted() const { return unrouted_.load(std::memory_order_relaxed); }
  const std::string& id() const { return id_; }

 private:
  struct Target {
    Pipeline* pipeline;
    uint8_t signals;
  };
  static void StripTo(event::Batch& b, uint8_t signals) {
    if ((signals & event::kSignalTraces) == 0) {
      b.RemoveSpansIf([](const event::Span&) { return true; });
    }
    if ((signals & event::kSignalMetrics) == 0) {
      b.RemoveMetricsIf([](const event::MetricPoint&) { return true; });
    }
    if ((signals & event::kSignalLogs) == 0) {
      b.RemoveLogsIf([](const event::LogRecord&) { return true; });
    }
  }

  event::BatchPool& pool_;
  std::string id_;
  std::vector<Target> targets_;
  std::atomic<uint64_t> unrouted_{0};
};

// The exporter end of a `forward` connector: copies each batch into the pipelines that list
// the connector as a receiver (blocking under their block policy; kRetry with the downstream
// pipeline's retry-after when refused).
class PipelineService::ForwardExporter final : public Exporter {
 public:
  ForwardExporter(FanoutIngest& ingest, event::BatchPool& pool) : ingest_(ingest), pool_(pool) {}

  ExportResult Export(const event::Batch& batch) noexcept override {
    event::BatchPtr copy = pool_.Acquire();
    event::EventCopier copier(*copy);
    copier.CopyAll(batch);
    PushResult r = ingest_.Push(std::move(copy), {});
    switch (r.status) {
      case PushStatus::kAccepted:
      case PushStatus::kDropped:  // counted by the downstream pipeline
        return ExportResult::kOk;
      case PushStatus::kThrottled:
      case PushStatus::kRefused:
        return ExportResult::RetryAfter(r.retry_after);  // the downstream pipeline's hint
      case PushStatus::kShutdown:
        return ExportResult::kFailed;
    }
    return ExportResult::kFailed;
  }
  strobe::Status Shutdown(std::chrono::milliseconds) override { return strobe::OkStatus(); }

 private:
  FanoutIngest& ingest_;
  event::BatchPool& pool_;
};

strobe::Result<std::unique_ptr<PipelineService>> PipelineService::Create(
    const PipelineConfig& config, ServiceOptions options) {
  std::unique_ptr<PipelineService> svc(new PipelineService());
  if (options.registry == nullptr) options.registry = &BuiltinPlugins();
  if (options.clock == nullptr) options.clock = &Clock::Steady();
  if (options.pool == nullptr) options.pool = &event::BatchPool::Default();
  if (options.keys == nullptr) options.keys = &event::KeyTable::Global();
  svc->options_ = options;
  const PluginRegistry& registry = *options.registry;
  uint64_t seed = options.seed;

  auto context = [&](const ComponentConfig& c) {
    return ComponentContext{c.id,          c.options,     config.file, *options.clock,
                            *options.pool, *options.keys, seed++};
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
  return svc;
}

PipelineService::~PipelineService() {
  UnbindMetrics();
  (void)Shutdown(std::chrono::milliseconds(2000));
}

strobe::Status PipelineService::BindMetrics(strobe::metrics::Registry& registry) {
  using strobe::metrics::CallbackSink;
  using strobe::metrics::CallbackType;
  UnbindMetrics();
  metrics_ = &registry;
  auto add = [&](const std::string& name, const std::string& help, CallbackType type,
                 std::vector<std::string> labels,
                 std::function<void(CallbackSink&)> fn) -> strobe::Status {
    strobe::Status s =
        registry.AddCallbackFamily({name, help, ""}, type, std::move(labels), std::move(fn));
    if (s.ok()) metric_names_.push_back(name);
    return s;
  };
  auto per_stage = [this](auto value) {
    return [this, value](CallbackSink& sink) {
      for (const PipelineSnapshot& p : Snapshot().pipelines) {
        for (const StageSnapshot& st : p.stages) {
          sink.Emit({p.name, st.stage}, static_cast<double>(value(st)));
        }
      }
    };
  };
  STROBE_RETURN_IF_ERROR(add("strobe_pipeline_received_events_total",
                             "Events that entered a pipeline stage", CallbackType::kCounter,
                             {"pipeline", "stage"},
                             per_stage([](const StageSnapshot& st) { return st.received; })));
  STROBE_RETURN_IF_ERROR(add("strobe_pipeline_forwarded_events_total",
                             "Events a stage passed on (exported, for exporters)",
                             CallbackType::kCounter, {"pipeline", "stage"},
                             per_stage([](const StageSnapshot& st) { return st.forwarded; })));
  STROBE_RETURN_IF_ERROR(add("strobe_pipeline_in_flight_events",
                             "Events held by a stage (queued, batching, awaiting a decision)",
                             CallbackType::kGauge, {"pipeline", "stage"},
                             per_stage([](const StageSnapshot& st) { return st.in_flight; })));
  STROBE_RETURN_IF_ERROR(
      add("strobe_pipeline_dropped_events_total", "Events a pipeline stage dropped, by reason",
          CallbackType::kCounter, {"pipeline", "stage", "reason"}, [this](CallbackSink& sink) {
            for (const PipelineSnapshot& p : Snapshot().pipelines) {
              for (const StageSnapshot& st : p.stages) {
                for (std::size_t r = 0; r < kDropReasonCount; ++r) {
                  sink.Emit({p.name, st.stage, DropReasonName(static_cast<DropReason>(r))},
                            static_cast<double>(st.dropped[r]));
                }
              }
            }
          }));
  STROBE_RETURN_IF_ERROR(
      add("strobe_pipeline_refused_events_total",
          "Events refused at a pipeline entry and handed back to the receiver, by reason",
          CallbackType::kCounter, {"pipeline", "reason"}, [this](CallbackSink& sink) {
            for (const PipelineSnapshot& p : Snapshot().pipelines) {
              for (std::size_t r = 0; r < kRefuseReasonCount; ++r) {
                sink.Emit({p.name, RefuseReasonName(static_cast<RefuseReason>(r))},
                          p.stages.empty() ? 0.0 : static_cast<double>(p.stages[0].refused[r]));
              }
            }
          }));
  auto per_pipeline = [this](auto value) {
    return [this, value](CallbackSink& sink) {
      for (const PipelineSnapshot& p : Snapshot().pipelines) {
        sink.Emit({p.name}, static_cast<double>(value(p)));
      }
    };
  };
  STROBE_RETURN_IF_ERROR(
      add("strobe_pipeline_queued_bytes", "Memory estimate of batches waiting in a pipeline queue",
          CallbackType::kGauge, {"pipeline"},
          per_pipeline([](const PipelineSnapshot& p) { return p.queued_bytes; })));
  STROBE_RETURN_IF_ERROR(add(
      "strobe_pipeline_load_shed_keep_ratio",
      "Keep probability of the sample back-pressure policy (1 = no shedding)", CallbackType::kGauge,
      {"pipeline"}, per_pipeline([](const PipelineSnapshot& p) { return p.load_shed_rate; })));
  STROBE_RETURN_IF_ERROR(add("strobe_pipeline_export_latency_p50_seconds",
                             "Median ingest-to-export latency of batches", CallbackType::kGauge,
                             {"pipeline"}, per_pipeline([](const PipelineSnapshot& p) {
                               return static_cast<double>(p.latency_p50_ns) * 1e-9;
                             })));
  STROBE_RETURN_IF_ERROR(add("strobe_pipeline_export_latency_p99_seconds",
                             "99th percentile ingest-to-export latency of batches",
                             CallbackType::kGauge, {"pipeline"},
                             per_pipeline([](const PipelineSnapshot& p) {
                               return static_cast<double>(p.latency_p99_ns) * 1e-9;
                             })));
  STROBE_RETURN_IF_ERROR(add("strobe_pipeline_unrouted_events_total",
                             "Events of a signal no pipeline of the receiver takes (dropped)",
                             CallbackType::kCounter, {"receiver"}, [this](CallbackSink& sink) {
                               for (const auto& [id, n] : Snapshot().unrouted_events) {
                                 sink.Emit({id}, static_cast<double>(n));
                               }
                             }));
  STROBE_RETURN_IF_ERROR(add("strobe_memory_limiter_used_bytes",
                             "Pipeline data in memory charged to a memory limiter",
                             CallbackType::kGauge, {"limiter"}, [this](CallbackSink& sink) {
                               for (const auto& [id, n] : Snapshot().memory_used_bytes) {
                                 sink.Emit({id}, static_cast<double>(n));
                               }
                             }));
  STROBE_RETURN_IF_ERROR(add("strobe_memory_limiter_limit_bytes", "Hard limit of a memory limiter",
                             CallbackType::kGauge, {"limiter"}, [this](CallbackSink& sink) {
                               for (const auto& [id, n] : Snapshot().memory_limit_bytes) {
                                 sink.Emit({id}, static_cast<double>(n));
                               }
                             }));
  // Processor statistics: one family per (name, label key) seen now (the sets are fixed per
  // processor type).
  std::map<std::string, std::pair<std::string, bool>> extras;
  for (const PipelineSnapshot& p : Snapshot().pipelines) {
    for (const StageSnapshot& st : p.stages) {
      for (const auto& e : st.extra) extras.emplace(e.name, std::make_pair(e.label_key, e.counter));
    }
  }
  for (const auto& [name, info] : extras) {
    std::string key = info.first;
    std::vector<std::string> labels = {"pipeline", "processor"};
    if (!key.empty()) labels.push_back(key);
    std::string stat = name;
    STROBE_RETURN_IF_ERROR(
        add("strobe_processor_" + name, "Processor statistic " + name + " (see docs/pipeline.md)",
            info.second ? CallbackType::kCounter : CallbackType::kGauge, labels,
            [this, stat, key](CallbackSink& sink) {
              for (const PipelineSnapshot& p : Snapshot().pipelines) {
                for (const StageSnapshot& st : p.stages) {
                  std::string proc = st.stage.substr(st.stage.find('/') + 1);
                  for (const auto& e : st.extra) {
                    if (e.name != stat) continue;
                    if (key.empty()) {
                      sink.Emit({p.name, proc}, e.value);
                    } else {
                      sink.Emit({std::string_view(p.name), std::string_view(proc),
                                 std::string_view(e.label_value)},
                                e.value);
                    }
                  }
                }
              }
            }));
  }
  event::KeyTable* keys = options_.keys;
  STROBE_RETURN_IF_ERROR(add("strobe_event_key_table_rejected_total",
                             "Attribute keys refused because the key table was full or the key "
                             "too long (the attribute is dropped)",
                             CallbackType::kCounter, {}, [keys](CallbackSink& sink) {
                               sink.Emit(std::span<const std::string_view>(),
                                         static_cast<double>(keys->rejected()));
                             }));
  event::BatchPool* pool = options_.pool;
  STROBE_RETURN_IF_ERROR(add("strobe_event_batches_allocated_total",
                             "Batches allocated because the pool was empty (steady state: flat)",
                             CallbackType::kCounter, {}, [pool](CallbackSink& sink) {
                               sink.Emit(std::span<const std::string_view>(),
                                         static_cast<double>(pool->allocated()));
                             }));
  return strobe::OkStatus();
}

void PipelineService::UnbindMetrics() {
  if (metrics_ == nullptr) return;
  for (const std::string& name : metric_names_) (void)metrics_->Remove(name);
  metric_names_.clear();
  metrics_ = nullptr;
}

strobe::Status PipelineService::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || shut_down_) return strobe::FailedPrecondition("pipeline service already started");
  started_ = true;
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
    keep_first(p->Shutdown(remaining()).WithContext("pipeline '" + p->name() + "'"));
  }
  for (auto& [id, se] : exporters_) {
    keep_first(se.exporter->Shutdown(remaining()).WithContext("exporter '" + id + "'"));
  }
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

std::string PipelineService::PrometheusText() const {
  ServiceSnapshot s = Snapshot();
  std::string out;
  auto line = [&out](const std::string& name, const std::string& labels, uint64_t v) {
    out += name + "{" + labels + "} " + std::to_string(v) + "\n";
  };
  out += "# TYPE strobe_pipeline_received_events_total counter\n";
  for (const auto& p : s.pipelines) {
    for (const auto& st : p.stages) {
      line("strobe_pipeline_received_events_total",
           "pipeline=\"" + p.name + "\",stage=\"" + st.stage + "\"", st.received);
    }
  }
  out += "# TYPE strobe_pipeline_forwarded_events_total counter\n";
  for (const auto& p : s.pipelines) {
    for (const auto& st : p.stages) {
      line("strobe_pipeline_forwarded_events_total",
           "pipeline=\"" + p.name + "\",stage=\"" + st.stage + "\"", st.forwarded);
    }
  }
  out += "# TYPE strobe_pipeline_dropped_events_total counter\n";
  for (const auto& p : s.pipelines) {
    for (const auto& st : p.stages) {
      for (std::size_t r = 0; r < kDropReasonCount; ++r) {
        line("strobe_pipeline_dropped_events_total",
             "pipeline=\"" + p.name + "\",stage=\"" + st.stage + "\",reason=\"" +
                 std::string(DropReasonName(static_cast<DropReason>(r))) + "\"",
             st.dropped[r]);
      }
    }
  }
  out += "# TYPE strobe_pipeline_refused_events_total counter\n";
  for (const auto& p : s.pipelines) {
    for (std::size_t r = 0; r < kRefuseReasonCount; ++r) {
      line("strobe_pipeline_refused_events_total",
           "pipeline=\"" + p.name + "\",reason=\"" +
               std::string(RefuseReasonName(static_cast<RefuseReason>(r))) + "\"",
           p.stages.empty() ? 0 : p.stages[0].refused[r]);
    }
  }
  out += "# TYPE strobe_pipeline_in_flight_events gauge\n";
  for (const auto& p : s.pipelines) {
    for (const auto& st : p.stages) {
      line("strobe_pipeline_in_flight_events",
           "pipeline=\"" + p.name + "\",stage=\"" + st.stage + "\"", st.in_flight);
    }
  }
  for (const auto& p : s.pipelines) {
    for (const auto& st : p.stages) {
      for (const auto& e : st.extra) {
        std::string stage = st.stage.substr(st.stage.find('/') + 1);
        std::string labels = "pipeline=\"" + p.name + "\",processor=\"" + stage + "\"";
        if (!e.label_key.empty()) labels += "," + e.label_key + "=\"" + e.label_value + "\"";
        char buf[64];
        std::snprintf(buf, sizeof(buf), "%.17g", e.value);
        out += "strobe_processor_" + e.name + "{" + labels + "} " + buf + "\n";
      }
    }
  }
  out += "# TYPE strobe_pipeline_queued_bytes gauge\n";
  for (const auto& p : s.pipelines) {
    line("strobe_pipeline_queued_bytes", "pipeline=\"" + p.name + "\"", p.queued_bytes);
  }
  out += "# TYPE strobe_pipeline_unrouted_events_total counter\n";
  for (const auto& [id, n] : s.unrouted_events) {
    line("strobe_pipeline_unrouted_events_total", "receiver=\"" + id + "\"", n);
  }
  out += "# TYPE strobe_memory_limiter_used_bytes gauge\n";
  for (const auto& [id, n] : s.memory_used_bytes) {
    line("strobe_memory_limiter_used_bytes", "limiter=\"" + id + "\"", n);
  }
  return out;
}

}  // namespace strobed::pipeline
