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
  return registry.AddCallbackFamily(
      {"strobe_alert_notifications_dropped_total", "Notifications dropped: queue full.", ""},
      CallbackType::kCounter, {"notifier"}, [engine, names](CallbackSink& sink) {
        const std::vector<NotifierTotals> stats = engine->NotifierStats();
        for (std::size_t i = 0; i < stats.size() && i < names.size(); ++i) {
          sink.Emit({names[i]}, static_cast<double>(stats[i].dropped));
        }
      });
}

}  // namespace strobed::alert
