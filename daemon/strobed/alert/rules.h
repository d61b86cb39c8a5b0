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
//     rule_files: [rules/*.yml]       # Prometheus rule files (PromQL over every series)
//     history_max_series: 100000      # the PromQL sample history's bounds
//     history_max_samples: 8000000
//
// Templates: {{ $value }}, {{ $threshold }}, {{ $expr }}, {{ $alert }}, {{ $severity }},
// {{ $labels.NAME }} (NAME as configured, e.g. service.name, or its Prometheus form),
// {{ humanize $value }} (Prometheus' SI form: 1.234k).
//
// Prometheus rule files (LoadRuleFiles) hold `groups:` of alerting (`alert:`) and recording
// (`record:`) rules whose `expr` is PromQL (alert/promql/ast.h): the format Prometheus and
// `promtool check rules` read. Paths and globs are relative to the configuration file's
// directory.
//
// Errors are per rule (and per notifier): a bad rule is reported with file:line, rule name and
// reason and skipped; the others are loaded.
//
// Thread class: value types.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/alert/expr.h"
#include "strobed/alert/promql/ast.h"

namespace strobed::alert {

// An alert rule: strobe syntax (`expr` over stream series, from `alerts.rules`) or, when
// `promql` is set, a rule of a Prometheus rule file (`expr.text` holds the PromQL text; the
// other fields of `expr` are unused). A recording rule (`recording`) has only name (the
// recorded metric name), promql and labels.
struct AlertRule {
  std::string name;
  AlertExpr expr;
  std::shared_ptr<const promql::Expr> promql;  // null: a strobe-syntax rule
  bool recording = false;
  uint64_t for_ns = 0;
  uint64_t keep_firing_for_ns = 0;   // PromQL rules: stay firing this long after the condition
  std::string severity = "warning";  // strobe-syntax rules only (a label of PromQL rules)
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

// One `groups:` entry of a Prometheus rule file; rules run in file order, so a recording
// rule's result is visible to the rules after it in the same round.
struct RuleGroup {
  std::string name;
  std::string file;
  uint64_t interval_ns = 0;  // 0: alerts.evaluation_interval
  std::vector<AlertRule> rules;
};

// What LoadRuleFiles read: the groups that loaded, and every error ("file:line: group 'g':
// rule 'r': reason"). `file_errors` counts files (or globs) that could not be read or parsed
// as YAML at all; rule errors only skip their rule.
struct RuleFiles {
  std::vector<RuleGroup> groups;
  std::vector<strobe::Status> errors;
  std::size_t file_errors = 0;
  std::size_t files = 0;  // files read

  std::size_t RuleCount() const;
};

// The largest range (plus offset) any rule of `groups` reads, in ms (promql::MaxRangeMs).
int64_t MaxRangeMs(const std::vector<RuleGroup>& groups);

// Reads the Prometheus rule files `patterns` name (paths or glob(3) patterns; relative ones
// are taken from `base_dir`). As in Prometheus, a plain path that does not exist is an error
// and a glob that matches nothing is not. A file larger than 16 MiB, or one that is not a regular
// file (a FIFO would block a reload), is refused. Never fails as a whole. Thread-safe.
RuleFiles LoadRuleFiles(const std::vector<std::string>& patterns, std::string_view base_dir);

// Parses one rule file's text (`file` names it in errors) into `out`. Thread-safe.
void ParseRuleFileText(std::string_view text, std::string_view file, RuleFiles& out);

struct AlertConfig {
  uint64_t evaluation_interval_ns = 1'000'000'000;
  std::string generator_url = "http://127.0.0.1:9800/api/v1/alerts";
  std::size_t history = 1000;
  uint64_t staleness_ns = 300'000'000'000;  // a series not updated this long no longer fires
  std::vector<AlertRule> rules;
  std::vector<NotifierConfig> notifiers;
  std::vector<strobe::Status> errors;
  // Prometheus rule files: the patterns as configured, the directory relative ones are taken
  // from (the configuration file's), and what Parse loaded from them.
  std::vector<std::string> rule_files;
  std::string rule_files_dir;
  std::vector<RuleGroup> groups;
  std::size_t rule_file_errors = 0;  // how many of `errors` come from the rule files
  std::size_t history_max_series = 100'000;
  std::size_t history_max_samples = 8'000'000;  // ~16 bytes each: ~128 MB at most
  // Per-query bounds of PromQL evaluation (API queries and rules), as Prometheus'
  // query.max-samples and query.timeout. Lower than Prometheus' 50 M / 2 m: a result point
  // costs ~16 bytes plus labels (5 M: ~100 MB), and an instant query holds the history's read
  // lock while it runs, which delays the next sampling round.
  std::size_t query_max_samples = 5'000'000;
  uint64_t query_timeout_ns = 10'000'000'000;

  // Never fails as a whole: bad entries go to `errors` ("file:line: reason"). Loads the rule
  // files `rule_files` names into `groups` (their errors go to `errors` too).
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
// Prometheus' `humanize`: SI prefixes, 4 significant digits (1234 → "1.234k", 0.0012 → "1.2m").
std::string Humanize(double v);

}  // namespace strobed::alert
