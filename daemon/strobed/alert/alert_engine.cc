#include "strobed/alert/alert_engine.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "strobe/metrics/registry.h"
#include "strobed/base/json.h"
#include "strobed/stream/engine.h"

namespace strobed::alert {
namespace {

using base::JsonNumber;
using base::JsonQuote;
using base::JsonStringMap;

int64_t RetentionMs(const std::vector<RuleGroup>& groups) {
  return MaxRangeMs(groups) + promql::kLookbackDeltaMs;
}

promql::History::Options HistoryOptions(const AlertConfig& c) {
  promql::History::Options o;
  o.retention_ms = RetentionMs(c.groups);
  o.max_series = c.history_max_series;
  o.max_samples = c.history_max_samples;
  return o;
}

// An exact map key of a sorted label set (length-prefixed: no value can fake a separator).
std::string LabelsKey(const promql::Labels& labels) {
  std::string k;
  for (const auto& l : labels) {
    k += std::to_string(l.name.size()) + ':' + l.name + std::to_string(l.value.size()) + ':' +
         l.value;
  }
  return k;
}

std::string GroupKey(const RuleGroup& g) { return g.file + '\x1f' + g.name; }

// Whether the thread is the one sampling the registry into the history: the recorded-series
// collector (alert_metrics.cc) emits nothing for it, since EvaluateRules stores recorded
// series itself, at the round's time.
thread_local bool t_sampling = false;

}  // namespace

bool AlertEngine::SamplingThread() { return t_sampling; }

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
    : config_(std::move(config)), clock_(clock), samples_(HistoryOptions(config_)) {
  wanted_retention_ms_.store(RetentionMs(config_.groups));
  query_max_samples_.store(config_.query_max_samples);
  query_timeout_ns_.store(config_.query_timeout_ns);
  evaluation_interval_ns_.store(config_.evaluation_interval_ns);
  {
    strobe::MutexLock lock(mu_);
    groups_ = std::make_shared<const Groups>(std::move(config_.groups));
    config_.groups.clear();
  }
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

void AlertEngine::Hold(const AlertRule& rule, const std::string& group, Hit& hit, uint64_t now,
                       std::vector<std::vector<Notification>>& per_slot) {
  auto it = instances_.find(hit.fingerprint);
  if (it == instances_.end()) {
    Instance inst;
    inst.rule = &rule;
    inst.group = group;
    inst.fingerprint = hit.fingerprint;
    inst.series_labels = std::move(hit.series);
    inst.labels = std::move(hit.labels);
    inst.last_sent.assign(slots_.size(), 0);
    it = instances_.emplace(hit.fingerprint, std::move(inst)).first;
  }
  Instance& inst = it->second;
  inst.value = hit.value;
  inst.last_held = now;
  TemplateContext ctx{&rule, hit.value, &inst.series_labels};
  for (const auto& [k, tmpl] : rule.annotations) inst.annotations[k] = ExpandTemplate(tmpl, ctx);
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

AlertEngine::Instances::iterator AlertEngine::End(
    Instances::iterator it, uint64_t now, std::vector<std::vector<Notification>>& per_slot) {
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
  return instances_.erase(it);
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
        Hit hit;
        hit.fingerprint = rule.name + '\x1f' + rule.expr.text + '\x1f' + s.window;
        for (const auto& [k, v] : s.labels) hit.fingerprint += '\x1f' + k + '=' + v;
        if (instances_.count(hit.fingerprint) == 0) {
          auto r = resolved_at_.find(hit.fingerprint);
          if (r != resolved_at_.end() && now < r->second + rule.cooldown_ns) continue;
        }
        hit.series = s.labels;
        for (const auto& [k, v] : s.labels) hit.labels[k] = v;
        for (const auto& [k, v] : rule.labels) hit.labels[k] = v;
        hit.labels["alertname"] = rule.name;
        hit.labels["severity"] = rule.severity;
        hit.labels["window"] = s.window;
        hit.value = s.value;
        holding.insert(hit.fingerprint);
        Hold(rule, "", hit, now, per_slot);
      }
    }
    // Instances whose condition no longer holds (or whose series vanished or went stale).
    for (auto it = instances_.begin(); it != instances_.end();) {
      if (!it->second.group.empty() || holding.count(it->first) != 0) {
        ++it;
      } else {
        it = End(it, now, per_slot);
      }
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

void AlertEngine::EvaluateRules(const strobe::metrics::Registry& registry) {
  const auto start = std::chrono::steady_clock::now();
  const uint64_t now = clock_.NowUnixNs();
  const int64_t t_ms = static_cast<int64_t>(now / 1'000'000);
  const int64_t retention = wanted_retention_ms_.load();
  if (retention != samples_.retention_ms()) samples_.SetRetentionMs(retention);
  t_sampling = true;  // the recorded-series collector stays out of this collection
  samples_.Append(registry, t_ms);
  t_sampling = false;
  EvaluateGroups(t_ms, now);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  strobe::MutexLock lock(mu_);
  stats_.last_round_seconds = secs;
}

void AlertEngine::EvaluateRules(std::span<const strobe::snapshot::Family> families) {
  const uint64_t now = clock_.NowUnixNs();
  const int64_t t_ms = static_cast<int64_t>(now / 1'000'000);
  const int64_t retention = wanted_retention_ms_.load();
  if (retention != samples_.retention_ms()) samples_.SetRetentionMs(retention);
  std::set<std::string> recorded_names;
  {
    strobe::MutexLock lock(mu_);
    for (const auto& [name, v] : recorded_) recorded_names.insert(name);
  }
  std::vector<strobe::snapshot::Family> kept;
  for (const auto& f : families) {
    if (recorded_names.count(f.name) == 0) kept.push_back(f);
  }
  samples_.Append(kept, t_ms);
  EvaluateGroups(t_ms, now);
}

strobe::Result<std::vector<promql::Sample>> AlertEngine::RunRule(const AlertRule& rule,
                                                                 int64_t t_ms) const {
  auto v = promql::Evaluate(*rule.promql, samples_, t_ms, QueryLimits(0));
  if (!v.ok()) {
    CountRefusal(v.status());
    return v.status();
  }
  if (v->kind == promql::Value::Kind::kScalar) {
    // As Prometheus' rule manager: a scalar result is one sample without labels.
    return std::vector<promql::Sample>{promql::Sample{{}, v->scalar, nullptr}};
  }
  // Rules record and alert on floats: native histogram samples are left out (docs).
  std::erase_if(v->vector, [](const promql::Sample& smp) { return smp.histogram != nullptr; });
  return std::move(v->vector);
}

void AlertEngine::EvaluateGroups(int64_t t_ms, uint64_t now) {
  std::shared_ptr<const Groups> groups;
  {
    strobe::MutexLock lock(mu_);
    groups = groups_;
  }
  std::vector<std::vector<Notification>> per_slot(slots_.size());
  std::map<std::string, promql::Labels> recorded_now;  // key → labels, stored this round
  std::map<std::string, std::vector<promql::Sample>> recorded;
  std::set<std::string> evaluated;  // group keys evaluated this round
  for (const RuleGroup& group : *groups) {
    const std::string gkey = GroupKey(group);
    const uint64_t tick = evaluation_interval_ns_.load(std::memory_order_relaxed);
    const uint64_t interval = group.interval_ns != 0 ? group.interval_ns : tick;
    auto due = group_due_.find(gkey);
    // Half a tick of slack: a ticker that wakes a little early must not skip a whole interval.
    if (due != group_due_.end() && now + tick / 2 < due->second) {
      // Not due: keep its recorded series alive in the history and on /metrics.
      for (const AlertRule& rule : group.rules) {
        if (!rule.recording) continue;
        strobe::MutexLock lock(mu_);
        auto r = recorded_.find(rule.name);
        if (r == recorded_.end()) continue;
        for (const promql::Sample& smp : r->second) {
          recorded[rule.name].push_back(smp);
          recorded_now.emplace(LabelsKey(smp.labels), smp.labels);
        }
      }
      continue;
    }
    group_due_[gkey] = (due == group_due_.end() ? now : due->second) + interval;
    if (group_due_[gkey] <= now) group_due_[gkey] = now + interval;  // fell behind: skip ahead
    evaluated.insert(gkey);
    for (const AlertRule& rule : group.rules) {
      auto out = RunRule(rule, t_ms);
      std::string error;
      std::vector<Hit> hits;
      if (out.ok()) {
        std::set<std::string> seen;
        if (rule.recording) {
          std::vector<promql::Sample> samples;
          for (promql::Sample& smp : *out) {
            std::map<std::string, std::string> labels;
            for (auto& l : smp.labels) {
              if (l.name != "__name__") labels[l.name] = l.value;
            }
            for (const auto& [k, v] : rule.labels) labels[k] = v;
            promql::Labels ls;
            ls.push_back({"__name__", rule.name});
            for (auto& [k, v] : labels) ls.push_back({k, v});
            ls = promql::SortedLabels(std::move(ls));
            if (!seen.insert(LabelsKey(ls)).second) {
              error = "vector contains metrics with the same labelset after applying rule labels";
              break;
            }
            samples.push_back({std::move(ls), smp.value, nullptr});
          }
          if (error.empty()) {
            for (const promql::Sample& smp : samples) {
              samples_.AppendSample(smp.labels, t_ms, smp.value);
              recorded_now.emplace(LabelsKey(smp.labels), smp.labels);
            }
            auto& dst = recorded[rule.name];
            dst.insert(dst.end(), samples.begin(), samples.end());
          }
        } else {
          for (promql::Sample& smp : *out) {
            Hit hit;
            for (auto& l : smp.labels) {
              if (l.name != "__name__") hit.series.emplace_back(l.name, l.value);
            }
            for (const auto& [k, v] : hit.series) hit.labels[k] = v;
            TemplateContext ctx{&rule, smp.value, &hit.series};
            for (const auto& [k, v] : rule.labels) hit.labels[k] = ExpandTemplate(v, ctx);
            hit.labels["alertname"] = rule.name;
            hit.value = smp.value;
            hit.fingerprint = gkey + '\x1f' + rule.name + '\x1f' + rule.expr.text;
            for (const auto& [k, v] : hit.labels) hit.fingerprint += '\x1f' + k + '=' + v;
            if (!seen.insert(hit.fingerprint).second) {
              error = "vector contains metrics with the same labelset after applying alert labels";
              break;
            }
            hits.push_back(std::move(hit));
          }
        }
      } else {
        error = out.status().message();
      }
      strobe::MutexLock lock(mu_);
      // A reload replaced the groups during this round: its instances were moved to the new
      // rules, which must not be touched through the old ones (they die with this round).
      if (groups_ != groups) break;
      ++stats_.evaluations;
      if (!error.empty()) {
        ++stats_.failures;
        rule_errors_[&rule] = error;
        continue;  // as Prometheus: a failed evaluation leaves the rule's alerts as they were
      }
      rule_errors_.erase(&rule);
      if (rule.recording) continue;
      std::set<std::string> holding;
      for (Hit& hit : hits) {
        holding.insert(hit.fingerprint);
        Hold(rule, gkey, hit, now, per_slot);
      }
      for (auto it = instances_.begin(); it != instances_.end();) {
        const Instance& inst = it->second;
        const bool keep =
            inst.rule != &rule || holding.count(it->first) != 0 ||
            (inst.state == AlertState::kFiring && now - inst.last_held < rule.keep_firing_for_ns);
        it = keep ? std::next(it) : End(it, now, per_slot);
      }
    }
  }
  // Forget the due times of groups a reload removed.
  for (auto it = group_due_.begin(); it != group_due_.end();) {
    const bool live = std::any_of(groups->begin(), groups->end(),
                                  [&](const RuleGroup& g) { return GroupKey(g) == it->first; });
    it = live ? std::next(it) : group_due_.erase(it);
  }
  // Recorded series that are gone get a stale marker, as Prometheus' rule manager writes.
  for (const auto& [key, labels] : recorded_last_) {
    if (recorded_now.count(key) == 0) samples_.AppendStale(labels, t_ms);
  }
  recorded_last_ = std::move(recorded_now);
  // Read before taking mu_: History::Append holds the history's lock while it visits the
  // registry, whose alert callbacks take mu_; taking them in the other order here would invert
  // that lock order (a deadlock TSan reported).
  const promql::History::Stats history = samples_.stats();
  {
    strobe::MutexLock lock(mu_);
    recorded_ = std::move(recorded);
    stats_.history = history;
  }
  Dispatch(per_slot);
}

promql::Limits AlertEngine::QueryLimits(int64_t timeout_ms) const {
  promql::Limits limits;
  limits.max_samples = query_max_samples_.load(std::memory_order_relaxed);
  uint64_t timeout_ns = query_timeout_ns_.load(std::memory_order_relaxed);
  if (timeout_ms > 0) {
    timeout_ns = std::min<uint64_t>(timeout_ns, static_cast<uint64_t>(timeout_ms) * 1'000'000);
  }
  limits.deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout_ns);
  return limits;
}

void AlertEngine::CountRefusal(const strobe::Status& status) const {
  if (status.code() == strobe::StatusCode::kResourceExhausted) {
    refused_samples_.fetch_add(1, std::memory_order_relaxed);
  } else if (status.code() == strobe::StatusCode::kDeadlineExceeded) {
    refused_timeout_.fetch_add(1, std::memory_order_relaxed);
  }
}

strobe::Result<promql::Value> AlertEngine::Query(const promql::Expr& expr, int64_t t_ms,
                                                 int64_t timeout_ms) const {
  auto v = promql::Evaluate(expr, samples_, t_ms, QueryLimits(timeout_ms));
  if (!v.ok()) CountRefusal(v.status());
  return v;
}

strobe::Result<std::vector<promql::RangeSeries>> AlertEngine::QueryRange(const promql::Expr& expr,
                                                                         int64_t start_ms,
                                                                         int64_t end_ms,
                                                                         int64_t step_ms,
                                                                         int64_t timeout_ms) const {
  auto v =
      promql::EvaluateRange(expr, samples_, start_ms, end_ms, step_ms, QueryLimits(timeout_ms));
  if (!v.ok()) CountRefusal(v.status());
  return v;
}

std::vector<promql::Labels> AlertEngine::MatchSeries(
    const std::vector<std::vector<promql::Matcher>>& selectors, int64_t mint_ms,
    int64_t maxt_ms) const {
  std::vector<promql::SeriesId> ids;
  std::vector<promql::Labels> out;
  auto lock = samples_.ReadLock();
  if (selectors.empty()) {
    samples_.Select({}, &ids);
  } else {
    for (const auto& matchers : selectors) samples_.Select(matchers, &ids);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
  for (promql::SeriesId id : ids) {
    if (samples_.Range(id, mint_ms, maxt_ms).empty()) continue;
    out.push_back(samples_.LabelsOf(id));
  }
  std::sort(out.begin(), out.end(), [](const promql::Labels& a, const promql::Labels& b) {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](const strobe::snapshot::Label& x, const strobe::snapshot::Label& y) {
          return x.name != y.name ? x.name < y.name : x.value < y.value;
        });
  });
  return out;
}

std::vector<strobe::snapshot::Family> AlertEngine::RecordedFamilies() const {
  std::vector<strobe::snapshot::Family> out;
  strobe::MutexLock lock(mu_);
  for (const auto& [name, samples] : recorded_) {
    strobe::snapshot::Family f;
    f.name = name;
    f.help = "Recording rule " + name + " (alerts.rule_files).";
    f.type = strobe::snapshot::MetricType::kGauge;
    std::set<std::string> label_names;
    for (const promql::Sample& smp : samples) {
      for (const auto& l : smp.labels) {
        if (l.name != "__name__") label_names.insert(l.name);
      }
    }
    f.label_names.assign(label_names.begin(), label_names.end());
    for (const promql::Sample& smp : samples) {
      strobe::snapshot::Point p;
      for (const std::string& n : f.label_names) {
        std::string value;
        for (const auto& l : smp.labels) {
          if (l.name == n) value = l.value;
        }
        p.labels.push_back({n, value});
      }
      p.value = smp.value;
      f.points.push_back(std::move(p));
    }
    out.push_back(std::move(f));
  }
  return out;
}

RuleStats AlertEngine::Stats() const {
  strobe::MutexLock lock(mu_);
  // stats_.history is refreshed after every round: asking the history here would deadlock
  // when a registry callback runs during the round's own Append (which holds its lock).
  RuleStats s = stats_;
  s.rules = 0;
  for (const RuleGroup& g : *groups_) s.rules += g.rules.size();
  s.queries_refused_samples = refused_samples_.load(std::memory_order_relaxed);
  s.queries_refused_timeout = refused_timeout_.load(std::memory_order_relaxed);
  return s;
}

strobe::Status AlertEngine::Reload(AlertConfig next) {
  // Errors of the rule files alone do not refuse the section: ReloadRuleFiles below reads
  // the files again and keeps the running groups on any error (counted as a rule reload).
  if (next.errors.size() > next.rule_file_errors) {
    std::string msg = "alerts: configuration not reloaded, the running one stays:";
    for (const auto& e : next.errors) msg += "\n  " + e.message();
    strobe::MutexLock lock(mu_);
    ++stats_.config_reloads_failed;
    last_reload_error_ = msg;
    return strobe::InvalidArgument(msg);
  }
  evaluation_interval_ns_.store(next.evaluation_interval_ns);
  query_max_samples_.store(next.query_max_samples);
  query_timeout_ns_.store(next.query_timeout_ns);
  samples_.SetLimits(next.history_max_series, next.history_max_samples);
  std::vector<std::vector<Notification>> per_slot(slots_.size());
  {
    strobe::MutexLock lock(mu_);
    ++stats_.config_reloads_ok;
    last_reload_error_.clear();
    config_.staleness_ns = next.staleness_ns;
    config_.history = next.history;
    while (history_.size() > config_.history) history_.pop_front();
    config_.generator_url = next.generator_url;
    config_.evaluation_interval_ns = next.evaluation_interval_ns;
    config_.history_max_series = next.history_max_series;
    config_.history_max_samples = next.history_max_samples;
    config_.query_max_samples = next.query_max_samples;
    config_.query_timeout_ns = next.query_timeout_ns;
    config_.errors.clear();
    config_.rule_files = std::move(next.rule_files);
    config_.rule_files_dir = std::move(next.rule_files_dir);
    // strobe-syntax rules: an instance of a rule that stays (same name and expression) moves
    // to the new rule with its state; the others end (a firing one is sent resolved). The new
    // vector's elements keep their addresses through the swap below.
    std::vector<AlertRule> rules = std::move(next.rules);
    std::map<std::string, const AlertRule*> by_key;
    for (const AlertRule& r : rules) by_key.emplace(r.name + '\x1f' + r.expr.text, &r);
    const uint64_t now = clock_.NowUnixNs();
    for (auto it = instances_.begin(); it != instances_.end();) {
      Instance& inst = it->second;
      if (!inst.group.empty()) {
        ++it;
        continue;
      }
      auto found = by_key.find(inst.rule->name + '\x1f' + inst.rule->expr.text);
      if (found != by_key.end()) {
        inst.rule = found->second;
        ++it;
      } else {
        it = End(it, now, per_slot);
      }
    }
    config_.rules.swap(rules);
  }
  Dispatch(per_slot);
  // The rule files (their list may have changed) are read again as on a plain SIGHUP.
  return ReloadRuleFiles();
}

uint64_t AlertEngine::EvaluationIntervalNs() const { return evaluation_interval_ns_.load(); }

std::size_t AlertEngine::StrobeRuleCount() const {
  strobe::MutexLock lock(mu_);
  return config_.rules.size();
}

std::size_t AlertEngine::ConfigErrorCount() const {
  strobe::MutexLock lock(mu_);
  return config_.errors.size();
}

strobe::Status AlertEngine::ReloadRuleFiles() {
  std::vector<std::string> files;
  std::string dir;
  {
    strobe::MutexLock lock(mu_);
    files = config_.rule_files;
    dir = config_.rule_files_dir;
  }
  RuleFiles loaded = LoadRuleFiles(files, dir);
  std::vector<std::vector<Notification>> per_slot(slots_.size());
  strobe::Status result;
  {
    strobe::MutexLock lock(mu_);
    if (!loaded.errors.empty()) {
      ++stats_.reloads_failed;
      std::string msg = "rule files not reloaded, the running rules stay:";
      for (const auto& e : loaded.errors) msg += "\n  " + e.message();
      last_reload_error_ = msg;
      return strobe::InvalidArgument(msg);
    }
    ++stats_.reloads_ok;
    last_reload_error_.clear();
    auto next = std::make_shared<const Groups>(std::move(loaded.groups));
    // Instances of rules that still exist move to the new rule; the others end.
    std::map<std::string, const AlertRule*> by_key;
    for (const RuleGroup& g : *next) {
      for (const AlertRule& r : g.rules) {
        if (!r.recording) by_key[GroupKey(g) + '\x1f' + r.name + '\x1f' + r.expr.text] = &r;
      }
    }
    const uint64_t now = clock_.NowUnixNs();
    for (auto it = instances_.begin(); it != instances_.end();) {
      Instance& inst = it->second;
      if (inst.group.empty()) {
        ++it;
        continue;
      }
      auto found =
          by_key.find(inst.group + '\x1f' + inst.rule->name + '\x1f' + inst.rule->expr.text);
      if (found != by_key.end()) {
        inst.rule = found->second;
        ++it;
      } else {
        it = End(it, now, per_slot);
      }
    }
    rule_errors_.clear();
    groups_ = std::move(next);
    wanted_retention_ms_.store(RetentionMs(*groups_));
  }
  Dispatch(per_slot);
  return result;
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
             ",\"state\":" + JsonQuote(AlertStateName(inst.state)) + ",\"severity\":" +
             JsonQuote(inst.labels.count("severity") != 0 ? inst.labels.at("severity") : "") +
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
  bool first_rule = true;
  strobe::MutexLock rules_lock(mu_);  // config_.rules and errors change on Reload
  for (const AlertRule& r : config_.rules) {
    if (!first_rule) out += ",";
    first_rule = false;
    out += "{\"alert\":" + JsonQuote(r.name) + ",\"expr\":" + JsonQuote(r.expr.text) +
           ",\"for_seconds\":" + JsonNumber(static_cast<double>(r.for_ns) * 1e-9) +
           ",\"severity\":" + JsonQuote(r.severity) + ",\"defined_at\":" + JsonQuote(r.file_line) +
           "}";
  }
  {
    for (const RuleGroup& g : *groups_) {
      for (const AlertRule& r : g.rules) {
        if (!first_rule) out += ",";
        first_rule = false;
        auto err = rule_errors_.find(&r);
        out += std::string("{") + (r.recording ? "\"record\":" : "\"alert\":") + JsonQuote(r.name) +
               ",\"expr\":" + JsonQuote(r.expr.text) +
               ",\"type\":" + (r.recording ? "\"recording\"" : "\"alerting\"") +
               ",\"group\":" + JsonQuote(g.name) +
               ",\"for_seconds\":" + JsonNumber(static_cast<double>(r.for_ns) * 1e-9) +
               ",\"keep_firing_for_seconds\":" +
               JsonNumber(static_cast<double>(r.keep_firing_for_ns) * 1e-9) +
               ",\"labels\":" + JsonStringMap(r.labels) +
               ",\"health\":" + (err == rule_errors_.end() ? "\"ok\"" : "\"err\"") +
               (err == rule_errors_.end() ? "" : ",\"lastError\":" + JsonQuote(err->second)) +
               ",\"defined_at\":" + JsonQuote(r.file_line) + "}";
      }
    }
  }
  out += "],\"errors\":[";
  for (std::size_t i = 0; i < config_.errors.size(); ++i) {
    if (i != 0) out += ",";
    out += JsonQuote(config_.errors[i].message());
  }
  if (!last_reload_error_.empty()) {
    out += std::string(config_.errors.empty() ? "" : ",") + JsonQuote(last_reload_error_);
  }
  rules_lock.Unlock();
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
