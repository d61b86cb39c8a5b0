#pragma once

// alert::AlertEngine: evaluates alert rules over the stream's latest series, runs each alert
// instance through inactive → pending → firing → resolved, and hands notifications to the
// notifiers; serves current alerts, history, rules and config errors as JSON.
//
//   auto cfg = AlertConfig::Parse(yaml["alerts"], "strobe.yaml");
//   AlertEngine alerts(cfg, base::WallClock::System());   // notifiers built from cfg
//   alerts.Start();                                          // one worker thread per notifier
//   every evaluation_interval:  stream.Tick(); alerts.Evaluate(stream.SnapshotSeries());
//   GET /api/v1/alerts → alerts.AlertsJson()
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
// Threading: Evaluate() runs on the caller's thread (the daemon's ticker); AlertsJson() on
// HTTP threads; one mutex guards instances and history (control plane, never on the event
// path). Notifier workers only see copies. Before Start() (unit tests), notifications are
// delivered inline by Evaluate().
//
// Thread class: thread-safe.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/alert/notifier.h"
#include "strobed/alert/rules.h"
#include "strobed/base/clock.h"
#include "strobed/stream/series.h"

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

  // Evaluates every rule against `series` at the clock's time. Thread-safe.
  void Evaluate(std::span<const stream::Series> series);

  // {"alerts":[...],"history":[...],"rules":[...],"errors":[...],"notifiers":[...]}
  std::string AlertsJson() const;
  // Totals of each notifier, in configuration order (alert_metrics.h publishes them).
  std::vector<NotifierTotals> NotifierStats() const;

  std::vector<AlertView> Alerts() const;
  std::vector<Transition> History() const;
  const AlertConfig& config() const { return config_; }
  // Waits until every notifier queue is empty and idle, or `timeout_ns` passes (tests).
  bool WaitDelivered(uint64_t timeout_ns);

 private:
  struct Instance {
    const AlertRule* rule = nullptr;
    std::string fingerprint;
    std::vector<std::pair<std::string, std::string>> series_labels;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    AlertState state = AlertState::kInactive;
    uint64_t active_at = 0;
    uint64_t fired_at = 0;
    double value = 0;
    std::vector<uint64_t> last_sent;  // per notifier; 0 = never told
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
  Notification MakeNotification(const Instance& inst, AlertStatus status, uint64_t now,
                                const Slot& slot) const;
  void Dispatch(std::vector<std::vector<Notification>>& per_slot);
  void Worker(Slot& slot);

  AlertConfig config_;
  base::WallClock& clock_;
  std::vector<std::unique_ptr<Slot>> slots_;
  bool started_ = false;

  mutable strobe::Mutex mu_;
  std::map<std::string, Instance> instances_ STROBE_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> resolved_at_ STROBE_GUARDED_BY(mu_);  // for cooldown
  std::deque<Transition> history_ STROBE_GUARDED_BY(mu_);
};

}  // namespace strobed::alert
