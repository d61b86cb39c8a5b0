#include "strobed/alert/alert_engine.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "strobed/base/json.h"
#include "strobed/stream/engine.h"

namespace strobed::alert {
namespace {

using base::JsonNumber;
using base::JsonQuote;
using base::JsonStringMap;

}  // namespace

std::string_view AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
    case AlertState::kResolved:
      return "resolved";
  }
  return "?";
}

AlertEngine::AlertEngine(AlertConfig config, base::WallClock& clock)
    : config_(std::move(config)), clock_(clock) {
  for (const NotifierConfig& n : config_.notifiers) {
    AddNotifier(MakeNotifier(n), n.type == NotifierType::kAlertmanager ? n.resend_interval_ns : 0,
                n.queue_capacity);
  }
}

AlertEngine::~AlertEngine() { Stop(); }

void AlertEngine::AddNotifier(std::unique_ptr<Notifier> notifier, uint64_t resend_interval_ns,
                              std::size_t queue_capacity) {
  auto slot = std::make_unique<Slot>();
  slot->notifier = std::move(notifier);
  slot->resend_ns = resend_interval_ns;
  slot->capacity = queue_capacity;
  slots_.push_back(std::move(slot));
}

void AlertEngine::Start() {
  if (started_) return;
  started_ = true;
  for (auto& s : slots_) {
    Slot* slot = s.get();
    slot->thread = std::thread([this, slot] { Worker(*slot); });
  }
}

void AlertEngine::Stop() {
  if (!started_) return;
  for (auto& s : slots_) {
    {
      strobe::MutexLock lock(s->mu);
      s->stop = true;
    }
    s->cv.NotifyAll();
  }
  for (auto& s : slots_) {
    if (s->thread.joinable()) s->thread.join();
  }
  started_ = false;
}

void AlertEngine::Worker(Slot& slot) {
  while (true) {
    std::vector<Notification> batch;
    {
      strobe::MutexLock lock(slot.mu);
      slot.cv.Wait(slot.mu,
                   [&slot]() STROBE_REQUIRES(slot.mu) { return slot.stop || !slot.queue.empty(); });
      if (slot.queue.empty()) return;  // stop requested and drained
      batch = std::move(slot.queue.front());
      slot.queue.pop_front();
      slot.busy = true;
    }
    (void)slot.notifier->Send(batch);  // counted inside the notifier
    {
      strobe::MutexLock lock(slot.mu);
      slot.busy = false;
    }
    slot.cv.NotifyAll();
  }
}

bool AlertEngine::WaitDelivered(uint64_t timeout_ns) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout_ns);
  for (auto& s : slots_) {
    Slot& slot = *s;
    strobe::MutexLock lock(slot.mu);
    if (!slot.cv.WaitUntil(slot.mu, deadline, [&slot]() STROBE_REQUIRES(slot.mu) {
          return slot.queue.empty() && !slot.busy;
        })) {
      return false;
    }
  }
  return true;
}

void AlertEngine::Dispatch(std::vector<std::vector<Notification>>& per_slot) {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (per_slot[i].empty()) continue;
    Slot& slot = *slots_[i];
    if (!started_) {
      (void)slot.notifier->Send(per_slot[i]);
      continue;
    }
    {
      strobe::MutexLock lock(slot.mu);
      if (slot.queue.size() >= slot.capacity) {
        slot.notifier->counters().dropped.fetch_add(per_slot[i].size(), std::memory_order_relaxed);
        continue;
      }
      slot.queue.push_back(std::move(per_slot[i]));
    }
    slot.cv.NotifyAll();
  }
}

Notification AlertEngine::MakeNotification(const Instance& inst, AlertStatus status, uint64_t now,
                                           const Slot& slot) const {
  Notification n;
  n.fingerprint = inst.fingerprint;
  n.status = status;
  n.labels = inst.labels;
  n.annotations = inst.annotations;
  n.starts_at_ns = inst.fired_at;
  n.value = inst.value;
  n.generator_url = config_.generator_url;
  if (status == AlertStatus::kResolved) {
    n.ends_at_ns = now;
  } else if (slot.resend_ns != 0) {
    n.ends_at_ns = now + 4 * slot.resend_ns;
  }
  return n;
}

void AlertEngine::Record(const Instance& inst, AlertState from, AlertState to, uint64_t now) {
  Transition t;
  t.time_ns = now;
  t.name = inst.rule->name;
  t.labels = inst.labels;
  t.from = from;
  t.to = to;
  t.value = inst.value;
  history_.push_back(std::move(t));
  while (history_.size() > config_.history) history_.pop_front();
}

void AlertEngine::Evaluate(std::span<const stream::Series> series) {
  const uint64_t now = clock_.NowUnixNs();
  std::vector<std::vector<Notification>> per_slot(slots_.size());
  {
    strobe::MutexLock lock(mu_);
    std::set<std::string> holding;
    for (const AlertRule& rule : config_.rules) {
      for (const stream::Series& s : series) {
        if (!rule.expr.Selects(s)) continue;
        if (now > s.updated_ns && now - s.updated_ns > config_.staleness_ns) continue;
        if (!rule.expr.Holds(s.value)) continue;
        std::string fp = rule.name + '\x1f' + rule.expr.text + '\x1f' + s.window;
        for (const auto& [k, v] : s.labels) fp += '\x1f' + k + '=' + v;
        auto it = instances_.find(fp);
        if (it == instances_.end()) {
          auto r = resolved_at_.find(fp);
          if (r != resolved_at_.end() && now < r->second + rule.cooldown_ns) continue;
          Instance inst;
          inst.rule = &rule;
          inst.fingerprint = fp;
          inst.series_labels = s.labels;
          for (const auto& [k, v] : s.labels) inst.labels[k] = v;
          for (const auto& [k, v] : rule.labels) inst.labels[k] = v;
          inst.labels["alertname"] = rule.name;
          inst.labels["severity"] = rule.severity;
          inst.labels["window"] = s.window;
          inst.last_sent.assign(slots_.size(), 0);
          it = instances_.emplace(fp, std::move(inst)).first;
        }
        holding.insert(fp);
        Instance& inst = it->second;
        inst.value = s.value;
        TemplateContext ctx{&rule, s.value, &inst.series_labels};
        for (const auto& [k, tmpl] : rule.annotations)
          inst.annotations[k] = ExpandTemplate(tmpl, ctx);
        if (inst.state == AlertState::kInactive) {
          inst.state = AlertState::kPending;
          inst.active_at = now;
          Record(inst, AlertState::kInactive, AlertState::kPending, now);
        }
        if (inst.state == AlertState::kPending && now - inst.active_at >= rule.for_ns) {
          inst.state = AlertState::kFiring;
          inst.fired_at = now;
          Record(inst, AlertState::kPending, AlertState::kFiring, now);
        }
        if (inst.state == AlertState::kFiring) {
          for (std::size_t i = 0; i < slots_.size(); ++i) {
            uint64_t interval = rule.repeat_interval_ns;
            if (slots_[i]->resend_ns != 0) interval = std::min(interval, slots_[i]->resend_ns);
            if (inst.last_sent[i] == 0 || now - inst.last_sent[i] >= interval) {
              per_slot[i].push_back(MakeNotification(inst, AlertStatus::kFiring, now, *slots_[i]));
              inst.last_sent[i] = now;
            }
          }
        }
      }
    }
    // Instances whose condition no longer holds (or whose series vanished or went stale).
    for (auto it = instances_.begin(); it != instances_.end();) {
      if (holding.count(it->first) != 0) {
        ++it;
        continue;
      }
      Instance& inst = it->second;
      if (inst.state == AlertState::kFiring) {
        Record(inst, AlertState::kFiring, AlertState::kResolved, now);
        for (std::size_t i = 0; i < slots_.size(); ++i) {
          if (inst.last_sent[i] != 0) {
            per_slot[i].push_back(MakeNotification(inst, AlertStatus::kResolved, now, *slots_[i]));
          }
        }
        resolved_at_[inst.fingerprint] = now;
      } else {
        Record(inst, inst.state, AlertState::kInactive, now);
      }
      it = instances_.erase(it);
    }
    // Forget resolution times older than every cooldown (bounded memory).
    uint64_t max_cooldown = 0;
    for (const AlertRule& r : config_.rules) max_cooldown = std::max(max_cooldown, r.cooldown_ns);
    for (auto it = resolved_at_.begin(); it != resolved_at_.end();) {
      it = now >= it->second + max_cooldown ? resolved_at_.erase(it) : std::next(it);
    }
  }
  Dispatch(per_slot);
}

std::vector<AlertView> AlertEngine::Alerts() const {
  strobe::MutexLock lock(mu_);
  std::vector<AlertView> out;
  for (const auto& [fp, inst] : instances_) {
    AlertView v;
    v.name = inst.rule->name;
    v.state = inst.state;
    v.labels = inst.labels;
    v.annotations = inst.annotations;
    v.value = inst.value;
    v.active_at_ns = inst.active_at;
    v.fired_at_ns = inst.fired_at;
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<Transition> AlertEngine::History() const {
  strobe::MutexLock lock(mu_);
  return {history_.begin(), history_.end()};
}

std::string AlertEngine::AlertsJson() const {
  std::string out = "{\"alerts\":[";
  {
    strobe::MutexLock lock(mu_);
    bool first = true;
    for (const auto& [fp, inst] : instances_) {
      if (!first) out += ",";
      first = false;
      out += "{\"name\":" + JsonQuote(inst.rule->name) +
             ",\"state\":" + JsonQuote(AlertStateName(inst.state)) +
             ",\"severity\":" + JsonQuote(inst.rule->severity) +
             ",\"labels\":" + JsonStringMap(inst.labels) +
             ",\"annotations\":" + JsonStringMap(inst.annotations) +
             ",\"value\":" + JsonNumber(inst.value) +
             ",\"activeAt\":" + JsonQuote(Rfc3339(inst.active_at)) +
             (inst.fired_at != 0 ? ",\"firedAt\":" + JsonQuote(Rfc3339(inst.fired_at)) : "") + "}";
    }
    out += "],\"history\":[";
    first = true;
    for (const Transition& t : history_) {
      if (!first) out += ",";
      first = false;
      out += "{\"time\":" + JsonQuote(Rfc3339(t.time_ns)) + ",\"name\":" + JsonQuote(t.name) +
             ",\"labels\":" + JsonStringMap(t.labels) +
             ",\"from\":" + JsonQuote(AlertStateName(t.from)) +
             ",\"to\":" + JsonQuote(AlertStateName(t.to)) + ",\"value\":" + JsonNumber(t.value) +
             "}";
    }
  }
  out += "],\"rules\":[";
  for (std::size_t i = 0; i < config_.rules.size(); ++i) {
    const AlertRule& r = config_.rules[i];
    if (i != 0) out += ",";
    out += "{\"alert\":" + JsonQuote(r.name) + ",\"expr\":" + JsonQuote(r.expr.text) +
           ",\"for_seconds\":" + JsonNumber(static_cast<double>(r.for_ns) * 1e-9) +
           ",\"severity\":" + JsonQuote(r.severity) + ",\"defined_at\":" + JsonQuote(r.file_line) +
           "}";
  }
  out += "],\"errors\":[";
  for (std::size_t i = 0; i < config_.errors.size(); ++i) {
    if (i != 0) out += ",";
    out += JsonQuote(config_.errors[i].message());
  }
  out += "],\"notifiers\":[";
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    NotifierCounters& c = slots_[i]->notifier->counters();
    if (i != 0) out += ",";
    out += "{\"type\":" + JsonQuote(slots_[i]->notifier->type()) +
           ",\"sent\":" + std::to_string(c.sent.load(std::memory_order_relaxed)) +
           ",\"failed\":" + std::to_string(c.failed.load(std::memory_order_relaxed)) +
           ",\"retries\":" + std::to_string(c.retries.load(std::memory_order_relaxed)) +
           ",\"dropped\":" + std::to_string(c.dropped.load(std::memory_order_relaxed)) + "}";
  }
  return out + "]}";
}

std::vector<NotifierTotals> AlertEngine::NotifierStats() const {
  std::vector<NotifierTotals> out;
  out.reserve(slots_.size());
  for (const auto& slot : slots_) {
    const NotifierCounters& c = slot->notifier->counters();
    out.push_back({std::string(slot->notifier->type()), c.sent.load(std::memory_order_relaxed),
                   c.failed.load(std::memory_order_relaxed),
                   c.retries.load(std::memory_order_relaxed),
                   c.dropped.load(std::memory_order_relaxed)});
  }
  return out;
}

}  // namespace strobed::alert
