#pragma once

// service::StreamComponent: plugs stream processing and alerting into `strobe serve`.
//
// At Start it
//   - builds the StreamEngine from the `stream:` section and the AlertEngine from `alerts:`;
//     every bad window, CEP rule, detector, alert rule or notifier is logged with file:line
//     and reason and skipped — the rest runs;
//   - installs the engine in the daemon's stream::EngineSlot (owned by the composition root,
//     service/serve.h), which pipelines feed through the `stream` exporter plugin;
//   - mounts GET /api/v1/alerts (current alerts, history, rules, errors, notifiers),
//     GET /api/v1/query (Prometheus-compatible instant PromQL query over the alert engine's
//     sample history of every /metrics series, alert/query_api.h),
//     GET /api/v1/stream/series (latest aggregates), GET /api/v1/stream/events (window
//     results, CEP matches, anomalies);
//   - registers on /metrics: strobe_stream_<aggregate>{window, <group-by labels>} gauges
//     (and strobe_stream_anomaly_score), strobe_stream_events_total{window},
//     strobe_stream_dropped_events_total{window,reason}, strobe_stream_cep_matches_total{rule,...},
//     strobe_alerts{state}, strobe_alert_notifications_total{notifier,result},
//     strobe_alert_notifications_dropped_total{notifier}, the PromQL rule and history
//     metrics and the recording rules' series (alert/alert_metrics.h);
//   - starts a ticker thread: every tick (the smaller of 250 ms and
//     alerts.evaluation_interval) it advances watermarks and closes windows; every
//     evaluation_interval (on a fixed cadence, so samples are evenly spaced as a scrape's
//     are) it evaluates the alert rules and runs a PromQL round (AlertEngine::EvaluateRules:
//     one sample of every series of the registry, then the rule groups that are due).
// Reload (SIGHUP) reads the rule files of alerts.rule_files again (AlertEngine::
// ReloadRuleFiles: any error keeps the running rules and is counted); other alerts: keys need a
// restart.
// Shutdown stops the ticker, closes every open window, evaluates once more, delivers queued
// notifications and uninstalls the engine.
//
// Thread class: Start/Shutdown on the control thread; routes and metric callbacks are
// thread-safe.

#include <memory>
#include <string>
#include <thread>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/alert/alert_engine.h"
#include "strobed/base/clock.h"
#include "strobed/daemon/component.h"
#include "strobed/stream/engine.h"
#include "strobed/stream/engine_slot.h"

namespace strobe::metrics {
class Registry;
}

namespace strobed::service {

class StreamComponent final : public daemon::Component {
 public:
  // `clock` gives Unix ns (event times are Unix ns). `slot` and `clock` must outlive the
  // component.
  StreamComponent(stream::EngineSlot& slot, base::WallClock& clock) : slot_(slot), clock_(clock) {}
  ~StreamComponent() override;

  std::string Name() const override { return "stream"; }
  strobe::Status Start(const daemon::ComponentContext& ctx) override;
  strobe::Status Shutdown(daemon::Deadline deadline) override;
  strobe::Status Reload(const config::Config& next) override;
  std::string StatusJson() const override;

  stream::StreamEngine* engine() const { return engine_.get(); }
  alert::AlertEngine* alerts() const { return alerts_.get(); }

 private:
  void Run();

  stream::EngineSlot& slot_;
  base::WallClock& clock_;
  strobe::metrics::Registry* registry_ = nullptr;  // set at Start
  std::shared_ptr<stream::StreamEngine> engine_;
  std::unique_ptr<alert::AlertEngine> alerts_;
  std::thread ticker_;
  strobe::Mutex mu_;
  strobe::CondVar cv_;
  bool stop_ STROBE_GUARDED_BY(mu_) = false;
};

}  // namespace strobed::service
