#pragma once

// alert::AlertConfig: the `alerts:` YAML section — rules and notifiers.
//
//   alerts:
//     evaluation_interval: 1s
//     generator_url: http://127.0.0.1:9800/api/v1/alerts
//     history: 1000                  # transitions kept for /api/v1/alerts
//     staleness: 5m                  # series not updated this long are absent (resolve)
//     notifiers:
//       - type: log
//       - type: webhook
//         url: http://127.0.0.1:5001/hook
//         timeout: 5s
//         max_attempts: 5            # retries with exponential backoff
//         initial_backoff: 200ms
//         max_backoff: 10s
//       - type: alertmanager
//         url: http://127.0.0.1:9093  # POST {url}/api/v2/alerts
//         resend_interval: 1m         # firing alerts are re-sent (endsAt = now + 4 x this)
//     rules:
//       - alert: HighLatency
//         expr: p99(http.server.request.duration) > 250ms
//         for: 30s
//         severity: critical          # info | warning | critical
//         labels: {team: checkout}
//         annotations:
//           summary: "p99 of {{ $labels.service.name }} is {{ $value }}s"
//         repeat_interval: 4h         # re-notify a still-firing alert
//         cooldown: 1m                # after resolving, stay quiet this long
//
// Templates: {{ $value }}, {{ $threshold }}, {{ $expr }}, {{ $alert }}, {{ $severity }},
// {{ $labels.NAME }} (NAME as configured, e.g. service.name, or its Prometheus form).
//
// Errors are per rule (and per notifier): a bad rule is reported with file:line and reason
// and skipped; the others are loaded.
//
// Thread class: value types.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/alert/expr.h"

namespace strobed::alert {

struct AlertRule {
  std::string name;
  AlertExpr expr;
  uint64_t for_ns = 0;
  std::string severity = "warning";
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;  // templates
  uint64_t repeat_interval_ns = 4ULL * 3600 * 1'000'000'000;
  uint64_t cooldown_ns = 0;
  std::string file_line;
};

enum class NotifierType : uint8_t { kLog, kWebhook, kAlertmanager };

struct NotifierConfig {
  NotifierType type = NotifierType::kLog;
  std::string url;
  uint64_t timeout_ns = 5'000'000'000;
  int max_attempts = 5;
  uint64_t initial_backoff_ns = 200'000'000;
  uint64_t max_backoff_ns = 10'000'000'000;
  uint64_t resend_interval_ns = 60'000'000'000;
  std::size_t queue_capacity = 1024;
  std::string file_line;
};

struct AlertConfig {
  uint64_t evaluation_interval_ns = 1'000'000'000;
  std::string generator_url = "http://127.0.0.1:9800/api/v1/alerts";
  std::size_t history = 1000;
  uint64_t staleness_ns = 300'000'000'000;  // a series not updated this long no longer fires
  std::vector<AlertRule> rules;
  std::vector<NotifierConfig> notifiers;
  std::vector<strobe::Status> errors;

  // Never fails as a whole: bad entries go to `errors` ("file:line: reason").
  static AlertConfig Parse(const YAML::Node& node, std::string_view file,
                           const stream::AggregationRegistry* registry = nullptr);
};

struct TemplateContext {
  const AlertRule* rule = nullptr;
  double value = 0;
  const std::vector<std::pair<std::string, std::string>>* series_labels = nullptr;
};

// Expands {{ ... }} in `text`. Unknown variables render as "<unknown NAME>" (Parse rejects
// them up front, so this only happens for $labels.X that a series lacks: rendered empty).
std::string ExpandTemplate(std::string_view text, const TemplateContext& ctx);
// Checks a template's syntax and variable names; INVALID_ARGUMENT with the reason.
strobe::Status CheckTemplate(std::string_view text);

// 1.5, 0.25, 1.2e+06: the value format used in annotations.
std::string FormatValue(double v);

}  // namespace strobed::alert
