#include "strobed/service/stream_component.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "strobe/metrics/registry.h"
#include "strobed/alert/alert_metrics.h"
#include "strobed/alert/query_api.h"
#include "strobed/config/config.h"
#include "strobed/server/router.h"
#include "strobed/stream/stream_metrics.h"

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
  // The collector reads alerts_, which dies with this component.
  if (registry_ != nullptr) (void)registry_->RemoveCollector("alert_recording_rules");
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
  spdlog::info(
      "stream: {} windows, {} CEP rules, {} anomaly detectors, {} alert rules, {} PromQL rules",
      engine_->window_count(), engine_->cep_count(), engine_->anomaly_count(),
      alerts_->config().rules.size(), alerts_->Stats().rules);

  stream::StreamEngine* engine = engine_.get();
  alert::AlertEngine* alerts = alerts_.get();
  ctx.api.Handle("GET", "/api/v1/alerts", [alerts](const server::Request&) {
    return server::Response::Json(200, alerts->AlertsJson());
  });
  ctx.api.Handle("GET", "/api/v1/query", [alerts, clock = &clock_](const server::Request& req) {
    alert::QueryReply reply =
        alert::InstantQuery(*alerts, req.QueryParam("query"), req.QueryParam("time"),
                            static_cast<int64_t>(clock->NowUnixNs() / 1'000'000));
    return server::Response::Json(reply.status, std::move(reply.body));
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

  STROBE_RETURN_IF_ERROR(stream::RegisterStreamMetrics(ctx.registry, *engine));
  registry_ = &ctx.registry;
  STROBE_RETURN_IF_ERROR(alert::RegisterAlertMetrics(ctx.registry, *alerts));
  STROBE_RETURN_IF_ERROR(ctx.registry.AddCallbackFamily(
      {"strobe_stream_dropped_batches_total",
       "Batches sent to the stream exporter while no stream engine was running.", ""},
      CallbackType::kCounter, {}, [slot = &slot_](CallbackSink& sink) {
        sink.Emit(std::span<const std::string_view>(),
                  static_cast<double>(slot->dropped_batches()));
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
    uint64_t now = clock_.NowUnixNs();
    if (now >= next_eval) {
      alerts_->Evaluate(engine_->SnapshotSeries());
      alerts_->EvaluateRules(*registry_);
      // A fixed cadence (not `now + interval`): the history's samples are evenly spaced, as a
      // scrape's are, so count_over_time and rate's extrapolation see what Prometheus sees. A
      // round that overran skips the missed slots instead of bursting.
      next_eval = next_eval == 0 ? now + eval_ns : next_eval + eval_ns;
      now = clock_.NowUnixNs();
      if (next_eval <= now) next_eval = now + eval_ns;
    }
    const uint64_t wait = std::min<uint64_t>(tick_ns, next_eval > now ? next_eval - now : 0);
    lock.Lock();
    cv_.WaitFor(mu_, std::chrono::nanoseconds(wait),
                [this]() STROBE_REQUIRES(mu_) { return stop_; });
  }
}

strobe::Status StreamComponent::Reload(const config::Config& next) {
  (void)next;  // the alerts: section itself needs a restart; its rule files are read again
  if (!alerts_ || alerts_->config().rule_files.empty()) return strobe::OkStatus();
  strobe::Status s = alerts_->ReloadRuleFiles();
  if (s.ok()) {
    spdlog::info("alerts: rule files reloaded: {} PromQL rules", alerts_->Stats().rules);
  } else {
    spdlog::error("alerts: {}", s.message());
  }
  return s;
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
