#include "strobed/service/stream_component.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "strobe/metrics/registry.h"
#include "strobed/config/config.h"
#include "strobed/server/router.h"

namespace strobed::service {
namespace {

using strobe::metrics::CallbackSink;
using strobe::metrics::CallbackType;

}  // namespace

StreamComponent::~StreamComponent() {
  {
    strobe::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (ticker_.joinable()) ticker_.join();
}

strobe::Status StreamComponent::Start(const daemon::ComponentContext& ctx) {
  const config::RawSection& stream_section = ctx.config.Section("stream");
  const config::RawSection& alerts_section = ctx.config.Section("alerts");
  engine_ = std::shared_ptr<stream::StreamEngine>(stream::StreamEngine::Create(
      stream_section.node, stream_section.file, event::KeyTable::Global(), clock_));
  for (const strobe::Status& e : engine_->config_errors()) {
    spdlog::error("stream: {} (skipped; the rest of the stream configuration runs)", e.message());
  }
  alert::AlertConfig acfg = alert::AlertConfig::Parse(alerts_section.node, alerts_section.file);
  for (const strobe::Status& e : acfg.errors) {
    spdlog::error("alerts: {} (skipped; the other rules run)", e.message());
  }
  alerts_ = std::make_unique<alert::AlertEngine>(std::move(acfg), clock_);
  spdlog::info("stream: {} windows, {} CEP rules, {} anomaly detectors, {} alert rules",
               engine_->window_count(), engine_->cep_count(), engine_->anomaly_count(),
               alerts_->config().rules.size());

  stream::StreamEngine* engine = engine_.get();
  alert::AlertEngine* alerts = alerts_.get();
  ctx.api.Handle("GET", "/api/v1/alerts", [alerts](const server::Request&) {
    return server::Response::Json(200, alerts->AlertsJson());
  });
  ctx.api.Handle("GET", "/api/v1/stream/series", [engine](const server::Request&) {
    return server::Response::Json(200, engine->SeriesJson());
  });
  ctx.api.Handle("GET", "/api/v1/stream/events", [engine](const server::Request& req) {
    const std::string type = req.QueryParam("type").value_or("");
    if (!type.empty() && type != "window" && type != "cep" && type != "anomaly") {
      return server::Response::Error(400, "type must be window, cep or anomaly");
    }
    return server::Response::Json(200, engine->EventsJson(type));
  });

  // Aggregates as gauges: one family per aggregate name, labels = window + the union of every
  // window's group-by attributes (Prometheus form; "" where a window lacks one).
  std::set<std::string> aggregates;
  std::vector<std::string> label_names = {"window"};
  std::vector<std::string> raw_labels;
  for (std::size_t i = 0; i < engine->window_count(); ++i) {
    const stream::WindowSpec& spec = engine->window(i).spec();
    for (const stream::AggSpec& a : spec.aggregations.outputs) aggregates.insert(a.name);
    for (const std::string& g : spec.group_by) {
      if (std::find(raw_labels.begin(), raw_labels.end(), g) == raw_labels.end()) {
        raw_labels.push_back(g);
        label_names.push_back(stream::PrometheusName(g));
      }
    }
  }
  if (engine->anomaly_count() > 0) aggregates.insert("anomaly_score");
  for (const std::string& agg : aggregates) {
    const std::string name = "strobe_stream_" + stream::PrometheusName(agg);
    STROBE_RETURN_IF_ERROR(ctx.registry.AddCallbackFamily(
        {name, "Latest closed-window value of " + agg + " per window and key.", ""},
        CallbackType::kGauge, label_names, [engine, agg, raw_labels](CallbackSink& sink) {
          std::vector<std::string_view> values(raw_labels.size() + 1);
          for (const stream::Series& s : engine->SnapshotSeries()) {
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
  STROBE_RETURN_IF_ERROR(ctx.registry.AddCallbackFamily(
      {"strobe_stream_events_total", "Items aggregated into windows.", ""}, CallbackType::kCounter,
      {"window"}, [engine](CallbackSink& sink) {
        for (std::size_t i = 0; i < engine->window_count(); ++i) {
          const stream::WindowOperator& op = engine->window(i);
          sink.Emit({op.spec().name},
                    static_cast<double>(op.stats().accepted.load(std::memory_order_relaxed)));
        }
      }));
  STROBE_RETURN_IF_ERROR(ctx.registry.AddCallbackFamily(
      {"strobe_stream_dropped_events_total",
       "Items not aggregated: late (after allowed lateness), key_limit, future timestamps.", ""},
      CallbackType::kCounter, {"window", "reason"}, [engine](CallbackSink& sink) {
        for (std::size_t i = 0; i < engine->window_count(); ++i) {
          const stream::WindowOperator& op = engine->window(i);
          const stream::WindowStats& st = op.stats();
          sink.Emit({op.spec().name, "late"},
                    static_cast<double>(st.late.load(std::memory_order_relaxed)));
          sink.Emit({op.spec().name, "key_limit"},
                    static_cast<double>(st.dropped_key_limit.load(std::memory_order_relaxed)));
          sink.Emit({op.spec().name, "future"},
                    static_cast<double>(st.dropped_future.load(std::memory_order_relaxed)));
        }
      }));
  STROBE_RETURN_IF_ERROR(ctx.registry.AddCallbackFamily(
      {"strobe_stream_dropped_batches_total",
       "Batches sent to the stream exporter while no stream engine was running.", ""},
      CallbackType::kCounter, {}, [slot = &slot_](CallbackSink& sink) {
        sink.Emit(std::span<const std::string_view>(),
                  static_cast<double>(slot->dropped_batches()));
      }));
  STROBE_RETURN_IF_ERROR(ctx.registry.AddCallbackFamily(
      {"strobe_stream_cep_matches_total", "Complex-event rule matches.", ""},
      CallbackType::kCounter, {"rule"}, [engine](CallbackSink& sink) {
        for (std::size_t i = 0; i < engine->cep_count(); ++i) {
          const stream::CepOperator& op = engine->cep(i);
          sink.Emit({op.rule().name},
                    static_cast<double>(op.stats().matches.load(std::memory_order_relaxed)));
        }
      }));
  STROBE_RETURN_IF_ERROR(
      ctx.registry.AddCallbackFamily({"strobe_alerts", "Alert instances by state.", ""},
                                     CallbackType::kGauge, {"state"}, [alerts](CallbackSink& sink) {
                                       double pending = 0, firing = 0;
                                       for (const alert::AlertView& a : alerts->Alerts()) {
                                         if (a.state == alert::AlertState::kPending) ++pending;
                                         if (a.state == alert::AlertState::kFiring) ++firing;
                                       }
                                       sink.Emit({"pending"}, pending);
                                       sink.Emit({"firing"}, firing);
                                     }));

  slot_.Install(engine_);
  alerts_->Start();
  ticker_ = std::thread([this] { Run(); });
  return strobe::OkStatus();
}

void StreamComponent::Run() {
  const uint64_t eval_ns = alerts_->config().evaluation_interval_ns;
  const uint64_t tick_ns = std::min<uint64_t>(eval_ns, 250'000'000);
  uint64_t next_eval = 0;
  strobe::MutexLock lock(mu_);
  while (!stop_) {
    lock.Unlock();
    engine_->Tick();
    const uint64_t now = clock_.NowUnixNs();
    if (now >= next_eval) {
      alerts_->Evaluate(engine_->SnapshotSeries());
      next_eval = now + eval_ns;
    }
    lock.Lock();
    cv_.WaitFor(mu_, std::chrono::nanoseconds(tick_ns),
                [this]() STROBE_REQUIRES(mu_) { return stop_; });
  }
}

strobe::Status StreamComponent::Shutdown(daemon::Deadline deadline) {
  {
    strobe::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (ticker_.joinable()) ticker_.join();
  slot_.Install(nullptr);
  engine_->FlushAll();
  alerts_->Evaluate(engine_->SnapshotSeries());
  const auto left = deadline - std::chrono::steady_clock::now();
  const bool delivered =
      left.count() > 0 && alerts_->WaitDelivered(static_cast<uint64_t>(
                              std::chrono::duration_cast<std::chrono::nanoseconds>(left).count()));
  alerts_->Stop();
  if (!delivered) return strobe::DeadlineExceeded("stream: notifications still queued at deadline");
  return strobe::OkStatus();
}

std::string StreamComponent::StatusJson() const {
  if (!engine_ || !alerts_) return "";
  return "{\"windows\":" + std::to_string(engine_->window_count()) +
         ",\"cep_rules\":" + std::to_string(engine_->cep_count()) +
         ",\"anomaly_detectors\":" + std::to_string(engine_->anomaly_count()) +
         ",\"alert_rules\":" + std::to_string(alerts_->config().rules.size()) +
         ",\"config_errors\":" +
         std::to_string(engine_->config_errors().size() + alerts_->config().errors.size()) + "}";
}

}  // namespace strobed::service
