#pragma once

// alert::AlertEngine: evaluates alert rules — strobe-syntax rules over the stream's latest
// series, and Prometheus rule-file groups (PromQL) over every series of the metrics registry —
// runs each alert instance through inactive → pending → firing → resolved, and hands
// notifications to the notifiers; serves current alerts, history, rules and config errors as
// JSON, and instant PromQL queries over its sample history.
//
//   auto cfg = AlertConfig::Parse(yaml["alerts"], "strobe.yaml");
//   AlertEngine alerts(cfg, base::WallClock::System());   // notifiers built from cfg
//   alerts.Start();                                          // one worker thread per notifier
//   every evaluation_interval:  stream.Tick(); alerts.Evaluate(stream.SnapshotSeries());
//                               alerts.EvaluateRules(registry);
//   GET /api/v1/alerts → alerts.AlertsJson();  GET /api/v1/query → alerts.Query(expr, t_ms)
//
// PromQL rules (EvaluateRules): each round takes one sample of every series the registry
// exposes at /metrics into a promql::History (retention: the largest range any rule reads plus
// the 5 m lookback; bounded by alerts.history_max_series / history_max_samples, refusals
// counted), then evaluates the groups that are due, rules in file order. A recording rule's
// output series (its labels, the rule's labels, __name__ = the record name) are stored in the
// history at the round's time, so later rules see them in the same round, and published on
// /metrics (RecordedFamilies, alert_metrics.h). An alerting rule's output series are alert
// instances labelled with the series' labels (without __name__), the rule's labels (templates
// expanded) and alertname; `keep_firing_for` keeps a firing instance firing that long after its
// series left the result.
//
// An alert instance is one (rule, selected series): its fingerprint is the rule name and
// expression plus the series' window and labels, so the same condition never notifies twice
// (deduplication). States:
//   inactive → pending      the condition holds (if `cooldown` since this instance last
//                           resolved has not elapsed, it stays inactive)
//   pending  → firing       the condition held for `for` (for: 0 fires on first evaluation)
//   pending  → inactive     the condition stopped holding before `for`
//   firing   → resolved     the condition stopped holding, or the series went stale
//                           (not updated for `staleness`)
// Notifications: on firing; again every repeat_interval while firing (Alertmanager
// notifiers: every min(resend_interval, repeat_interval), with endsAt = now + 4 x
// resend_interval so Alertmanager keeps it active between re-sends); on resolution once, to
// every notifier that was told it fired (endsAt = resolution time).
//
// Threading: Evaluate() and EvaluateRules() run on one caller thread (the daemon's ticker);
// AlertsJson() and Query() on HTTP threads, ReloadRuleFiles() on the control thread; one mutex
// guards instances, history of transitions and the rule groups (control plane, never on the
// event path); PromQL evaluation runs outside it, under the sample history's shared lock.
// Notifier workers only see copies. Before Start() (unit tests), notifications are delivered
// inline by Evaluate().
//
// Thread class: thread-safe.

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobe/snapshot/snapshot.h"
#include "strobed/alert/notifier.h"
#include "strobed/alert/promql/eval.h"
#include "strobed/alert/promql/history.h"
#include "strobed/alert/rules.h"
#include "strobed/base/clock.h"
#include "strobed/stream/series.h"

namespace strobe::metrics {
class Registry;
}

namespace strobed::alert {

enum class AlertState : uint8_t { kInactive, kPending, kFiring, kResolved };
std::string_view AlertStateName(AlertState state);

struct AlertView {
  std::string name;
  AlertState state = AlertState::kInactive;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  double value = 0;
  uint64_t active_at_ns = 0;
  uint64_t fired_at_ns = 0;
};

struct Transition {
  uint64_t time_ns = 0;
  std::string name;
  std::map<std::string, std::string> labels;
  AlertState from = AlertState::kInactive;
  AlertState to = AlertState::kInactive;
  double value = 0;
};

// Counters of the PromQL rule evaluation (alert_metrics.h publishes them).
struct RuleStats {
  uint64_t evaluations = 0;       // rule evaluations
  uint64_t failures = 0;          // rule evaluations that failed (error kept per rule)
  double last_round_seconds = 0;  // wall time of the last round (sampling + evaluation)
  uint64_t reloads_ok = 0;        // ReloadRuleFiles results
  uint64_t reloads_failed = 0;
  uint64_t config_reloads_ok = 0;  // Reload (the alerts: section) results
  uint64_t config_reloads_failed = 0;
  promql::History::Stats history;
  std::size_t rules = 0;  // PromQL rules loaded (alerting and recording)
  // PromQL evaluations (API queries and rules) stopped by alerts.query_max_samples and by
  // alerts.query_timeout.
  uint64_t queries_refused_samples = 0;
  uint64_t queries_refused_timeout = 0;
};

struct NotifierTotals {
  std::string type;  // "log", "webhook", "alertmanager"
  uint64_t sent = 0;
  uint64_t failed = 0;
  uint64_t retries = 0;
  uint64_t dropped = 0;  // queue full
};

class AlertEngine {
 public:
  // Builds the notifiers `config` lists. `clock` gives Unix ns.
  AlertEngine(AlertConfig config, base::WallClock& clock);
  ~AlertEngine();
  AlertEngine(const AlertEngine&) = delete;
  AlertEngine& operator=(const AlertEngine&) = delete;

  // Adds a notifier (before Start). resend_interval_ns = 0: repeat per rule only.
  void AddNotifier(std::unique_ptr<Notifier> notifier, uint64_t resend_interval_ns,
                   std::size_t queue_capacity = 1024);

  // Starts one delivery thread per notifier. Stop() delivers what is queued, then joins.
  void Start();
  void Stop();

  // Evaluates every strobe-syntax rule against `series` at the clock's time. Thread-safe.
  void Evaluate(std::span<const stream::Series> series);

  // One round of the PromQL rule groups at the clock's time: samples every series `registry`
  // exposes into the history, then evaluates each group whose interval has elapsed (see the
  // overview). Call from one thread (the ticker), every evaluation_interval.
  void EvaluateRules(const strobe::metrics::Registry& registry);
  // The same with families already collected (tests; recorded families in them are ignored).
  void EvaluateRules(std::span<const strobe::snapshot::Family> families);

  // Loads the configured rule files again. Any error (a file that cannot be read or parsed,
  // a bad rule) fails the reload: the running groups stay, the failure is counted and
  // returned (INVALID_ARGUMENT listing the errors). On success the groups are replaced;
  // instances of rules that still exist (same group, name and expression) keep their state,
  // the others end (a firing one is sent resolved). Thread-safe.
  strobe::Status ReloadRuleFiles();

  // Applies a new `alerts:` section (SIGHUP). A section with any error of its own is refused
  // whole: the running configuration stays, the failure is counted and returned
  // (INVALID_ARGUMENT listing the errors); errors in the rule files are ReloadRuleFiles'. Otherwise
  // every key applies now except `notifiers` (see below): evaluation_interval (from the next tick),
  // staleness, history, generator_url (next notification), history_max_series/samples (new series
  // and samples from the next round; held ones stay until they expire),
  // query_max_samples/query_timeout (next query), `rules` (instances of rules kept with the same
  // name and expression keep their state; the others end, a firing one sent resolved) and
  // rule_files (read again, as ReloadRuleFiles; its status is returned). `notifiers` keep running
  // as started: each owns a delivery thread and a queue of notifications in flight (with retries
  // and backoff), and which alerts each one was told of; replacing them live would drop or repeat
  // notifications, so a change needs a restart (the daemon logs it as such). Thread-safe.
  strobe::Status Reload(AlertConfig next);

  // Thread-safe views of the running configuration (it changes on Reload).
  uint64_t EvaluationIntervalNs() const;
  std::size_t StrobeRuleCount() const;
  std::size_t ConfigErrorCount() const;

  // Evaluates the PromQL `expr` over the sample history at `t_ms` (Unix ms), as Prometheus'
  // instant query does, within alerts.query_max_samples and alerts.query_timeout (or
  // `timeout_ms` when > 0 and shorter). INVALID_ARGUMENT for an evaluation error,
  // RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED past the limits (counted). Thread-safe.
  strobe::Result<promql::Value> Query(const promql::Expr& expr, int64_t t_ms,
                                      int64_t timeout_ms = 0) const;
  // The same for a range query (promql::EvaluateRange). Thread-safe.
  strobe::Result<std::vector<promql::RangeSeries>> QueryRange(const promql::Expr& expr,
                                                              int64_t start_ms, int64_t end_ms,
                                                              int64_t step_ms,
                                                              int64_t timeout_ms = 0) const;
  // The label sets of the history's series that match any of `selectors` (each a list of
  // matchers; none: every series) and hold a sample (stale markers included, as a TSDB
  // holds them) in [mint_ms, maxt_ms], sorted. Thread-safe.
  std::vector<promql::Labels> MatchSeries(
      const std::vector<std::vector<promql::Matcher>>& selectors, int64_t mint_ms,
      int64_t maxt_ms) const;

  // The latest output of every recording rule, as gauge families (one per record name);
  // what /metrics shows for them. Thread-safe.
  std::vector<strobe::snapshot::Family> RecordedFamilies() const;
  RuleStats Stats() const;
  // True on the thread while EvaluateRules samples the registry: the recorded-series
  // collector (alert_metrics.h) emits nothing then, as EvaluateRules stores those series in
  // the history itself at the round's time.
  static bool SamplingThread();

  // {"alerts":[...],"history":[...],"rules":[...],"errors":[...],"notifiers":[...]}
  std::string AlertsJson() const;
  // Totals of each notifier, in configuration order (alert_metrics.h publishes them).
  std::vector<NotifierTotals> NotifierStats() const;

  std::vector<AlertView> Alerts() const;
  std::vector<Transition> History() const;
  // The configuration as constructed; owner thread only, and not while Reload may run (use
  // the thread-safe views above).
  const AlertConfig& config() const { return config_; }
  // Waits until every notifier queue is empty and idle, or `timeout_ns` passes (tests).
  bool WaitDelivered(uint64_t timeout_ns);

 private:
  struct Instance {
    const AlertRule* rule = nullptr;
    std::string group;  // PromQL rules: "file\x1fgroup"; "" for strobe-syntax rules
    std::string fingerprint;
    std::vector<std::pair<std::string, std::string>> series_labels;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    AlertState state = AlertState::kInactive;
    uint64_t active_at = 0;
    uint64_t fired_at = 0;
    double value = 0;
    uint64_t last_held = 0;           // last evaluation whose result held this instance
    std::vector<uint64_t> last_sent;  // per notifier; 0 = never told
  };
  using Groups = std::vector<RuleGroup>;
  using Instances = std::map<std::string, Instance>;
  // One output series of an alerting rule in one round.
  struct Hit {
    std::string fingerprint;
    std::map<std::string, std::string> labels;                // the alert's labels
    std::vector<std::pair<std::string, std::string>> series;  // the series' (templates)
    double value = 0;
  };
  struct Slot {
    std::unique_ptr<Notifier> notifier;
    uint64_t resend_ns = 0;
    std::size_t capacity = 1024;
    strobe::Mutex mu;
    strobe::CondVar cv;
    std::deque<std::vector<Notification>> queue STROBE_GUARDED_BY(mu);
    bool busy STROBE_GUARDED_BY(mu) = false;
    bool stop STROBE_GUARDED_BY(mu) = false;
    std::thread thread;
  };

  void Record(const Instance& inst, AlertState from, AlertState to, uint64_t now)
      STROBE_REQUIRES(mu_);
  // Moves the instance of `hit` (created if new) one step for a round where it holds.
  void Hold(const AlertRule& rule, const std::string& group, Hit& hit, uint64_t now,
            std::vector<std::vector<Notification>>& per_slot) STROBE_REQUIRES(mu_);
  // Ends the instance at `it` (resolved if firing), erases it and returns the next one.
  Instances::iterator End(Instances::iterator it, uint64_t now,
                          std::vector<std::vector<Notification>>& per_slot) STROBE_REQUIRES(mu_);
  // The output samples of one PromQL rule at t_ms (a scalar result is one unlabelled sample).
  strobe::Result<std::vector<promql::Sample>> RunRule(const AlertRule& rule, int64_t t_ms) const;
  void EvaluateGroups(int64_t t_ms, uint64_t start_ns);
  void Sample(std::span<const strobe::snapshot::Family> families, int64_t t_ms);
  Notification MakeNotification(const Instance& inst, AlertStatus status, uint64_t now,
                                const Slot& slot) const;
  void Dispatch(std::vector<std::vector<Notification>>& per_slot);
  void Worker(Slot& slot);

  AlertConfig config_;
  base::WallClock& clock_;
  std::vector<std::unique_ptr<Slot>> slots_;
  bool started_ = false;

  mutable strobe::Mutex mu_;
  Instances instances_ STROBE_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> resolved_at_ STROBE_GUARDED_BY(mu_);  // for cooldown
  std::deque<Transition> history_ STROBE_GUARDED_BY(mu_);

  // PromQL rules. groups_ is replaced whole on reload; a round holds its own reference.
  std::shared_ptr<const Groups> groups_ STROBE_GUARDED_BY(mu_);
  std::map<const AlertRule*, std::string> rule_errors_ STROBE_GUARDED_BY(mu_);  // last error
  // Record name → the latest output of the recording rules with that name.
  std::map<std::string, std::vector<promql::Sample>> recorded_ STROBE_GUARDED_BY(mu_);
  std::string last_reload_error_ STROBE_GUARDED_BY(mu_);
  RuleStats stats_ STROBE_GUARDED_BY(mu_);
  promql::History samples_;  // its own locking (history.h)
  // alerts.query_max_samples / query_timeout (atomics: reloadable while queries run).
  std::atomic<uint64_t> evaluation_interval_ns_{0};
  std::atomic<std::size_t> query_max_samples_{0};
  std::atomic<uint64_t> query_timeout_ns_{0};
  mutable std::atomic<uint64_t> refused_samples_{0};
  mutable std::atomic<uint64_t> refused_timeout_{0};
  // The limits of one evaluation starting now; `timeout_ms` > 0 shortens the timeout.
  promql::Limits QueryLimits(int64_t timeout_ms) const;
  // Counts a refusal by the limits in `status`.
  void CountRefusal(const strobe::Status& status) const;
  std::atomic<int64_t> wanted_retention_ms_{0};
  // Ticker thread only: when each group ("file\x1fgroup") is next due (Unix ns), and the
  // recorded series stored at the last round (to mark the ones that vanish stale).
  std::map<std::string, uint64_t> group_due_;
  std::map<std::string, promql::Labels> recorded_last_;
};

}  // namespace strobed::alert
