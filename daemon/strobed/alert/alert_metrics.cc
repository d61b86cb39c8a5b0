#include "strobed/alert/alert_metrics.h"

#include <map>
#include <string>
#include <vector>

namespace strobed::alert {

using strobe::metrics::CallbackSink;
using strobe::metrics::CallbackType;

strobe::Status RegisterAlertMetrics(strobe::metrics::Registry& registry,
                                    const AlertEngine& engine_ref) {
  const AlertEngine* engine = &engine_ref;
  // Label values per notifier, fixed at registration (the notifier list does not change).
  std::vector<std::string> names;
  std::map<std::string, int> per_type;
  for (const NotifierTotals& n : engine->NotifierStats()) ++per_type[n.type];
  std::map<std::string, int> seen;
  for (const NotifierTotals& n : engine->NotifierStats()) {
    const int k = ++seen[n.type];
    names.push_back(per_type[n.type] > 1 ? n.type + "/" + std::to_string(k) : n.type);
  }
  STROBE_RETURN_IF_ERROR(
      registry.AddCallbackFamily({"strobe_alerts", "Alert instances by state.", ""},
                                 CallbackType::kGauge, {"state"}, [engine](CallbackSink& sink) {
                                   double pending = 0;
                                   double firing = 0;
                                   for (const AlertView& a : engine->Alerts()) {
                                     if (a.state == AlertState::kPending) ++pending;
                                     if (a.state == AlertState::kFiring) ++firing;
                                   }
                                   sink.Emit({"pending"}, pending);
                                   sink.Emit({"firing"}, firing);
                                 }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_alert_notifications_total", "Notifications by notifier and result.", ""},
      CallbackType::kCounter, {"notifier", "result"}, [engine, names](CallbackSink& sink) {
        const std::vector<NotifierTotals> stats = engine->NotifierStats();
        for (std::size_t i = 0; i < stats.size() && i < names.size(); ++i) {
          sink.Emit({names[i], "sent"}, static_cast<double>(stats[i].sent));
          sink.Emit({names[i], "failed"}, static_cast<double>(stats[i].failed));
        }
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_alert_notifications_dropped_total", "Notifications dropped: queue full.", ""},
      CallbackType::kCounter, {"notifier"}, [engine, names](CallbackSink& sink) {
        const std::vector<NotifierTotals> stats = engine->NotifierStats();
        for (std::size_t i = 0; i < stats.size() && i < names.size(); ++i) {
          sink.Emit({names[i]}, static_cast<double>(stats[i].dropped));
        }
      }));
  // PromQL rules and their sample history.
  const auto rule_stat = [&](const char* name, const char* help, CallbackType type,
                             double (*get)(const RuleStats&)) {
    return registry.AddCallbackFamily(
        {name, help, ""}, type, {}, [engine, get](CallbackSink& sink) {
          sink.Emit(std::span<const std::string_view>(), get(engine->Stats()));
        });
  };
  STROBE_RETURN_IF_ERROR(
      rule_stat("strobe_alert_rule_evaluations_total",
                "PromQL rule evaluations (alerts.rule_files).", CallbackType::kCounter,
                [](const RuleStats& s) { return static_cast<double>(s.evaluations); }));
  STROBE_RETURN_IF_ERROR(rule_stat(
      "strobe_alert_rule_evaluation_failures_total",
      "PromQL rule evaluations that failed (the rule's lastError in /api/v1/alerts).",
      CallbackType::kCounter, [](const RuleStats& s) { return static_cast<double>(s.failures); }));
  STROBE_RETURN_IF_ERROR(
      rule_stat("strobe_alert_rule_round_duration_seconds",
                "Wall time of the last PromQL rule round: sampling every series, then evaluating.",
                CallbackType::kGauge, [](const RuleStats& s) { return s.last_round_seconds; }));
  STROBE_RETURN_IF_ERROR(rule_stat(
      "strobe_alert_rules", "PromQL rules loaded (alerting and recording).", CallbackType::kGauge,
      [](const RuleStats& s) { return static_cast<double>(s.rules); }));
  STROBE_RETURN_IF_ERROR(
      rule_stat("strobe_alert_history_series", "Series held in the PromQL sample history.",
                CallbackType::kGauge,
                [](const RuleStats& s) { return static_cast<double>(s.history.series); }));
  STROBE_RETURN_IF_ERROR(
      rule_stat("strobe_alert_history_samples", "Samples held in the PromQL sample history.",
                CallbackType::kGauge,
                [](const RuleStats& s) { return static_cast<double>(s.history.samples); }));
  STROBE_RETURN_IF_ERROR(
      rule_stat("strobe_alert_history_dropped_series_total",
                "New series the PromQL sample history refused: alerts.history_max_series reached.",
                CallbackType::kCounter,
                [](const RuleStats& s) { return static_cast<double>(s.history.series_refused); }));
  STROBE_RETURN_IF_ERROR(
      rule_stat("strobe_alert_history_dropped_samples_total",
                "Samples the PromQL sample history refused: alerts.history_max_samples reached.",
                CallbackType::kCounter,
                [](const RuleStats& s) { return static_cast<double>(s.history.samples_refused); }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_promql_queries_refused_total",
       "PromQL evaluations (API queries and rules) stopped by a limit: reason=\"samples\" "
       "(alerts.query_max_samples), reason=\"timeout\" (alerts.query_timeout).",
       ""},
      CallbackType::kCounter, {"reason"}, [engine](CallbackSink& sink) {
        const RuleStats s = engine->Stats();
        sink.Emit({"samples"}, static_cast<double>(s.queries_refused_samples));
        sink.Emit({"timeout"}, static_cast<double>(s.queries_refused_timeout));
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_alert_rule_reloads_total", "Rule file reloads (SIGHUP) by result.", ""},
      CallbackType::kCounter, {"result"}, [engine](CallbackSink& sink) {
        const RuleStats s = engine->Stats();
        sink.Emit({"ok"}, static_cast<double>(s.reloads_ok));
        sink.Emit({"failed"}, static_cast<double>(s.reloads_failed));
      }));
  STROBE_RETURN_IF_ERROR(registry.AddCallbackFamily(
      {"strobe_alert_config_reloads_total",
       "Reloads of the alerts: configuration section (SIGHUP) by result.", ""},
      CallbackType::kCounter, {"result"}, [engine](CallbackSink& sink) {
        const RuleStats s = engine->Stats();
        sink.Emit({"ok"}, static_cast<double>(s.config_reloads_ok));
        sink.Emit({"failed"}, static_cast<double>(s.config_reloads_failed));
      }));
  // The recording rules' latest results, under their record names.
  return registry.AddCollector("alert_recording_rules", [engine](strobe::snapshot::Snapshot& out) {
    if (AlertEngine::SamplingThread()) return;
    for (auto& f : engine->RecordedFamilies()) out.families.push_back(std::move(f));
  });
}

}  // namespace strobed::alert
