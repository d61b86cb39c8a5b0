#include "strobed/stream/stream_metrics.h"

#include <algorithm>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strobed::stream {

using strobe::metrics::CallbackSink;
using strobe::metrics::CallbackType;

strobe::Status RegisterStreamMetrics(strobe::metrics::Registry& registry,
                                     const StreamEngine& engine_ref) {
  const StreamEngine* engine = &engine_ref;
  std::set<std::string> aggregates;
  std::vector<std::string> label_names = {"window"};
  std::vector<std::string> raw_labels;
  for (std::size_t i = 0; i < engine->window_count(); ++i) {
    const WindowSpec& spec = engine->window(i).spec();
    for (const AggSpec& a : spec.aggregations.outputs) aggregates.insert(a.name);
    for (const std::string& g : spec.group_by) {
      if (std::find(raw_labels.begin(), raw_labels.end(), g) == raw_labels.end()) {
        raw_labels.push_back(g);
        label_names.push_back(PrometheusName(g));
      }
    }
  }
  if (engine->anomaly_count() > 0) aggregates.insert("anomaly_score");
  for (const std::string& agg : aggregates) {
    const std::string name = "strobe_stream_" + PrometheusName(agg);
    STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
        {name, "Latest closed-window value of " + agg + " per window and key.", ""},
        CallbackType::kGauge, label_names, [engine, agg, raw_labels](CallbackSink& sink) {
          std::vector<std::string_view> values(raw_labels.size() + 1);
          for (const Series& s : engine->SnapshotSeries()) {
            if (s.name != agg) continue;
            values[0] = s.window;
            for (std::size_t i = 0; i < raw_labels.size(); ++i) {
              values[i + 1] = std::string_view();
              for (const auto& [k, v] : s.labels) {
                if (k == raw_labels[i]) values[i + 1] = v;
              }
            }
            sink.Emit(values, s.value);
          }
        }));
  }
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_events_total", "Items aggregated into windows.", ""}, CallbackType::kCounter,
      {"window"}, [engine](CallbackSink& sink) {
        for (std::size_t i = 0; i < engine->window_count(); ++i) {
          const WindowOperator& op = engine->window(i);
          sink.Emit({op.spec().name},
                    static_cast<double>(op.stats().accepted.load(std::memory_order_relaxed)));
        }
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_dropped_events_total",
       "Items not aggregated: late (after allowed lateness), key_limit, future (beyond "
       "max_future).",
       ""},
      CallbackType::kCounter, {"window", "reason"}, [engine](CallbackSink& sink) {
        for (std::size_t i = 0; i < engine->window_count(); ++i) {
          const WindowOperator& op = engine->window(i);
          const WindowStats& st = op.stats();
          sink.Emit({op.spec().name, "late"},
                    static_cast<double>(st.late.load(std::memory_order_relaxed)));
          sink.Emit({op.spec().name, "key_limit"},
                    static_cast<double>(st.dropped_key_limit.load(std::memory_order_relaxed)));
          sink.Emit({op.spec().name, "future"},
                    static_cast<double>(st.dropped_future.load(std::memory_order_relaxed)));
        }
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_watermark_timestamp_seconds",
       "Event time up to which the window is complete (Unix seconds; 0 before any item).", ""},
      CallbackType::kGauge, {"window"}, [engine](CallbackSink& sink) {
        for (std::size_t i = 0; i < engine->window_count(); ++i) {
          const WindowOperator& op = engine->window(i);
          sink.Emit(
              {op.spec().name},
              static_cast<double>(op.stats().watermark_ns.load(std::memory_order_relaxed)) * 1e-9);
        }
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_watermark_sources",
       "Sources (resources, shm producers) the window's watermark tracks.", ""},
      CallbackType::kGauge, {"window"}, [engine](CallbackSink& sink) {
        for (std::size_t i = 0; i < engine->window_count(); ++i) {
          const WindowOperator& op = engine->window(i);
          sink.Emit({op.spec().name}, static_cast<double>(op.watermark().sources()));
        }
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_watermark_sources_evicted_total",
       "Sources no longer tracked because the window tracks max_sources already.", ""},
      CallbackType::kCounter, {"window"}, [engine](CallbackSink& sink) {
        for (std::size_t i = 0; i < engine->window_count(); ++i) {
          const WindowOperator& op = engine->window(i);
          sink.Emit({op.spec().name}, static_cast<double>(op.watermark().evictions()));
        }
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_series_dropped_total",
       "Window result series refused because the engine holds max_series already.", ""},
      CallbackType::kCounter, {}, [engine](CallbackSink& sink) {
        sink.Emit(std::span<const std::string_view>(),
                  static_cast<double>(engine->series_dropped()));
      }));
  // Match counters per rule and key: labels rule + the union of every rule's key attributes
  // (Prometheus form; "" where a rule lacks one). A rule without a match yet shows 0.
  std::vector<std::string> cep_labels = {"rule"};
  std::vector<std::string> cep_raw;
  for (std::size_t i = 0; i < engine->cep_count(); ++i) {
    for (const std::string& k : engine->cep(i).rule().key_names) {
      if (std::find(cep_raw.begin(), cep_raw.end(), k) == cep_raw.end()) {
        cep_raw.push_back(k);
        cep_labels.push_back(PrometheusName(k));
      }
    }
  }
  const MetricDeltaStats* deltas = &engine->metric_delta_stats();
  auto load = [](const std::atomic<uint64_t>& a) {
    return static_cast<double>(a.load(std::memory_order_relaxed));
  };
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_metric_series",
       "Metric series whose last cumulative point the stream engine holds (to compute deltas).",
       ""},
      CallbackType::kGauge, {}, [deltas, load](CallbackSink& sink) {
        sink.Emit(std::span<const std::string_view>(), load(deltas->series));
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_metric_series_bytes",
       "Approximate bytes of that per-series state (bounded by max_bytes).", ""},
      CallbackType::kGauge, {}, [deltas, load](CallbackSink& sink) {
        sink.Emit(std::span<const std::string_view>(), load(deltas->bytes));
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_metric_series_evicted_total",
       "Metric series forgotten after no point for the idle TTL.", ""},
      CallbackType::kCounter, {}, [deltas, load](CallbackSink& sink) {
        sink.Emit(std::span<const std::string_view>(), load(deltas->evicted_idle));
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_metric_points_total",
       "Cumulative metric points that were the baseline of a series (first point, or a bucket "
       "layout that cannot be differenced) or started a new run (reset).",
       ""},
      CallbackType::kCounter, {"result"}, [deltas, load](CallbackSink& sink) {
        sink.Emit({"baseline"}, load(deltas->baselines));
        sink.Emit({"reset"}, load(deltas->resets));
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_metric_points_dropped_total",
       "Metric points the stream engine did not use: limit (series or bytes bound), invalid, "
       "out_of_order.",
       ""},
      CallbackType::kCounter, {"reason"}, [deltas, load](CallbackSink& sink) {
        sink.Emit({"limit"}, load(deltas->dropped_limit));
        sink.Emit({"invalid"}, load(deltas->dropped_invalid));
        sink.Emit({"out_of_order"}, load(deltas->dropped_out_of_order));
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_cep_matches_total",
       "Complex-event rule matches per rule and key (the rule's group_by attributes).", ""},
      CallbackType::kCounter, cep_labels, [engine, cep_raw](CallbackSink& sink) {
        std::vector<std::string_view> values(cep_raw.size() + 1);
        std::set<std::string> seen;
        for (const Series& s : engine->SnapshotSeries()) {
          if (s.name != kCepMatches) continue;
          seen.insert(s.window);
          values[0] = s.window;
          for (std::size_t i = 0; i < cep_raw.size(); ++i) {
            values[i + 1] = std::string_view();
            for (const auto& [k, v] : s.labels) {
              if (k == cep_raw[i]) values[i + 1] = v;
            }
          }
          sink.Emit(values, s.value);
        }
        for (std::size_t i = 0; i < engine->cep_count(); ++i) {
          const std::string& rule = engine->cep(i).rule().name;
          if (seen.count(rule) != 0) continue;
          values.assign(cep_raw.size() + 1, std::string_view());
          values[0] = rule;
          sink.Emit(values, 0);
        }
      }));
  return registry.AddCallbackFamily(
      {"strobe_stream_cep_dropped_total", "CEP keys or pending items dropped at limits.", ""},
      CallbackType::kCounter, {"rule"}, [engine](CallbackSink& sink) {
        for (std::size_t i = 0; i < engine->cep_count(); ++i) {
          const CepOperator& op = engine->cep(i);
          sink.Emit(
              {op.rule().name},
              static_cast<double>(op.stats().dropped_key_limit.load(std::memory_order_relaxed) +
                                  op.stats().dropped_pending.load(std::memory_order_relaxed)));
        }
      });
}

}  // namespace strobed::stream
