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
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_stream_cep_matches_total", "Complex-event rule matches.", ""},
      CallbackType::kCounter, {"rule"}, [engine](CallbackSink& sink) {
        for (std::size_t i = 0; i < engine->cep_count(); ++i) {
          const CepOperator& op = engine->cep(i);
          sink.Emit({op.rule().name},
                    static_cast<double>(op.stats().matches.load(std::memory_order_relaxed)));
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
