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
      alerts_->StrobeRuleCount(), alerts_->Stats().rules);

  stream::StreamEngine* engine = engine_.get();
  alert::AlertEngine* alerts = alerts_.get();
  ctx.api.Handle("GET", "/api/v1/alerts", [alerts](const server::Request&) {
    return server::Response::Json(200, alerts->AlertsJson());
  });
  // The Prometheus HTTP API (query_api.h): GET with URL parameters, or POST with a form body
  // (Grafana posts long queries), both behind the API's bearer token.
  const auto prom_api = [&](std::string_view path, auto answer, bool post) {
    auto handler = [answer](const server::Request& req) {
      alert::QueryParams params = server::ParseForm(req.query);
      if (req.method == "POST") {
        const auto type = req.headers.Get("Content-Type");
        if (type.has_value() &&
            type->substr(0, 33) == std::string_view("application/x-www-form-urlencoded")) {
          for (auto& p : server::ParseForm(req.body)) params.push_back(std::move(p));
        }
      }
      alert::QueryReply reply = answer(req, params);
      return server::Response::Json(reply.status, std::move(reply.body));
    };
    ctx.api.Handle("GET", std::string(path), handler);
    if (post) ctx.api.Handle("POST", std::string(path), handler);
  };
  prom_api(
      "/api/v1/query",
      [alerts, clock = &clock_](const server::Request&, const alert::QueryParams& params) {
        return alert::InstantQuery(*alerts, params,
                                   static_cast<int64_t>(clock->NowUnixNs() / 1'000'000));
      },
      true);
  prom_api(
      "/api/v1/query_range",
      [alerts](const server::Request&, const alert::QueryParams& params) {
        return alert::RangeQuery(*alerts, params);
      },
      true);
  prom_api(
      "/api/v1/series",
      [alerts](const server::Request&, const alert::QueryParams& params) {
        return alert::SeriesQuery(*alerts, params);
      },
      true);
  prom_api(
      "/api/v1/labels",
      [alerts](const server::Request&, const alert::QueryParams& params) {
        return alert::LabelNamesQuery(*alerts, params);
      },
      true);
  // /api/v1/label/<name>/values: a prefix route; <name> is one path segment.
  prom_api(
      "/api/v1/label/*",
      [alerts](const server::Request& req, const alert::QueryParams& params) {
        constexpr std::string_view kPrefix = "/api/v1/label/";
        constexpr std::string_view kSuffix = "/values";
        const std::string_view path = req.path;
        if (path.size() <= kPrefix.size() + kSuffix.size() ||
            path.substr(path.size() - kSuffix.size()) != kSuffix) {
          return alert::QueryReply{404,
                                   "{\"status\":\"error\",\"errorType\":\"not_found\",\"error\":"
                                   "\"expected /api/v1/label/<name>/values\"}"};
        }
        const std::string name = server::PercentDecode(
            path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
        return alert::LabelValuesQuery(*alerts, name, params);
      },
      false);
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
  uint64_t next_eval = 0;
  strobe::MutexLock lock(mu_);
  while (!stop_) {
    lock.Unlock();
    // Read each tick: alerts.evaluation_interval reloads on SIGHUP.
    const uint64_t eval_ns = alerts_->EvaluationIntervalNs();
    const uint64_t tick_ns = std::min<uint64_t>(eval_ns, 250'000'000);
    if (next_eval > clock_.NowUnixNs() + eval_ns) next_eval = clock_.NowUnixNs() + eval_ns;
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
  // The alerts: section applies live (AlertEngine::Reload: everything but its notifiers), and
  // its rule files are read again; the stream: section needs a restart.
  if (!alerts_) return strobe::OkStatus();
  const config::RawSection& section = next.Section("alerts");
  strobe::Status s = alerts_->Reload(alert::AlertConfig::Parse(section.node, section.file));
  if (s.ok()) {
    spdlog::info("alerts: configuration reloaded: {} alert rules, {} PromQL rules",
                 alerts_->StrobeRuleCount(), alerts_->Stats().rules);
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
         ",\"alert_rules\":" + std::to_string(alerts_->StrobeRuleCount()) + ",\"config_errors\":" +
         std::to_string(engine_->config_errors().size() + alerts_->ConfigErrorCount()) + "}";
}

}  // namespace strobed::service
