// PipelineService's statistics as callback families in its metrics registry (service.h
// lists them).
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strobe/metrics/registry.h"
#include "strobed/pipeline/service.h"

namespace strobed::pipeline {

strobe::Status PipelineService::BindMetrics() {
  using strobe::metrics::CallbackSink;
  using strobe::metrics::CallbackType;
  UnbindMetrics();
  metrics_ = options_.services.metrics;
  strobe::metrics::Registry& registry = *metrics_;
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
  // The queue's bounds, so a dashboard can show its fill (queued / limit): fixed per pipeline.
  auto queue_limit = [this](auto value) {
    return [this, value](CallbackSink& sink) {
      for (const auto& p : pipelines_) {
        sink.Emit({p->options().name}, static_cast<double>(value(p->options().queue)));
      }
    };
  };
  STROBE_RETURN_IF_ERROR(
      add("strobe_pipeline_queue_limit_bytes",
          "Memory bound of a pipeline queue (queue.max_bytes): strobe_pipeline_queued_bytes / "
          "this is the queue's fill",
          CallbackType::kGauge, {"pipeline"},
          queue_limit([](const QueueOptions& q) { return q.max_bytes; })));
  STROBE_RETURN_IF_ERROR(
      add("strobe_pipeline_queue_limit_events",
          "Event bound of a pipeline queue (queue.max_events); the queued events are "
          "strobe_pipeline_in_flight_events{stage=\"queue\"}",
          CallbackType::kGauge, {"pipeline"},
          queue_limit([](const QueueOptions& q) { return q.max_events; })));
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
  STROBE_RETURN_IF_ERROR(add(
      "strobe_event_key_table_rejected_total",
      "Attribute keys refused by the key table, by reason (key_table_full, key_too_long, "
      "key_request_limit, key_source_limit); the receiver refuses the metric point or counts "
      "the dropped attribute",
      CallbackType::kCounter, {"reason"}, [keys](CallbackSink& sink) {
        for (std::size_t r = 1; r < event::kKeyRefusalCount; ++r) {
          const auto reason = static_cast<event::KeyRefusal>(r);
          sink.Emit({event::KeyRefusalName(reason)}, static_cast<double>(keys->rejected(reason)));
        }
      }));
  STROBE_RETURN_IF_ERROR(
      add("strobe_event_key_table_keys",
          "Attribute keys in the key table (including unlinked ones not yet reclaimed)",
          CallbackType::kGauge, {}, [keys](CallbackSink& sink) {
            sink.Emit(std::span<const std::string_view>(), static_cast<double>(keys->size()));
          }));
  STROBE_RETURN_IF_ERROR(add("strobe_event_key_table_reclaimed_total",
                             "Attribute keys of untrusted input reclaimed by key table sweeps "
                             "(their ids recycled once no batch could hold them)",
                             CallbackType::kCounter, {}, [keys](CallbackSink& sink) {
                               sink.Emit(std::span<const std::string_view>(),
                                         static_cast<double>(keys->reclaimed()));
                             }));
  STROBE_RETURN_IF_ERROR(add("strobe_event_key_table_sweeps_total", "Key table sweeps run",
                             CallbackType::kCounter, {}, [keys](CallbackSink& sink) {
                               sink.Emit(std::span<const std::string_view>(),
                                         static_cast<double>(keys->sweeps()));
                             }));
  STROBE_RETURN_IF_ERROR(add("strobe_event_key_table_last_sweep_seconds",
                             "Duration of the latest key table sweep", CallbackType::kGauge, {},
                             [keys](CallbackSink& sink) {
                               sink.Emit(std::span<const std::string_view>(),
                                         static_cast<double>(keys->last_sweep_ns()) * 1e-9);
                             }));
  STROBE_RETURN_IF_ERROR(
      add("strobe_event_key_table_capacity_keys", "Capacity of the attribute key table",
          CallbackType::kGauge, {}, [keys](CallbackSink& sink) {
            sink.Emit(std::span<const std::string_view>(), static_cast<double>(keys->capacity()));
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

}  // namespace strobed::pipeline
