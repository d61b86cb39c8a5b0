#pragma once

// The alert engine's state and notifier statistics, published as callback families in a
// metrics registry (read at each scrape; the one way the daemon publishes metrics):
//   strobe_alerts{state}                                   pending and firing instances
//   strobe_alert_notifications_total{notifier,result}      sent / failed
//   strobe_alert_notifications_dropped_total{notifier}     dropped: notifier queue full
//   strobe_alert_rule_evaluations_total, strobe_alert_rule_evaluation_failures_total,
//   strobe_alert_rule_round_duration_seconds, strobe_alert_rules,
//   strobe_alert_rule_reloads_total{result}                PromQL rules (alerts.rule_files)
//   strobe_alert_config_reloads_total{result}              the alerts: section (SIGHUP)
//   strobe_alert_history_series, strobe_alert_history_samples,
//   strobe_alert_history_dropped_{series,samples}_total     their bounded sample history
//   strobe_promql_queries_refused_total{reason}            API queries and rule evaluations
//                                                          stopped by alerts.query_max_samples
//                                                          (samples) or query_timeout (timeout)
// and, through a collector, every recording rule's latest output under its record name.
// `notifier` is the notifier's type ("webhook", "alertmanager", "log"), with "/N" appended
// (N counting from 1 in configuration order) when several notifiers share a type, so every
// series is distinct.
//
// Thread class: call from the control thread; the callbacks are thread-safe.

#include "strobe/base/status.h"
#include "strobe/metrics/registry.h"
#include "strobed/alert/alert_engine.h"

namespace strobed::alert {

// Adds the families above for `engine`, which must outlive the registry's use of them.
// ALREADY_EXISTS when one is registered already. The caller removes the collector
// "alert_recording_rules" (Registry::RemoveCollector) before `engine` is destroyed.
strobe::Status RegisterAlertMetrics(strobe::metrics::Registry& registry, const AlertEngine& engine);

}  // namespace strobed::alert
