#include "strobed/stream/engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "strobed/base/json.h"

namespace strobed::stream {
namespace {

using base::JsonNumber;
using base::JsonQuote;
std::string LabelsJson(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i != 0) out += ",";
    out += JsonQuote(labels[i].first) + ":" + JsonQuote(labels[i].second);
  }
  return out + "}";
}

}  // namespace

std::string PrometheusName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) c = '_';
  }
  if (!out.empty() && out[0] >= '0' && out[0] <= '9') out.insert(out.begin(), '_');
  return out;
}

StreamEngine::StreamEngine(base::WallClock& clock, StreamEngineOptions options)
    : clock_(clock), options_(options), metric_deltas_(options.metric_deltas) {}

StreamEngine::~StreamEngine() = default;

void StreamEngine::ProcessItem(const Item& item, uint64_t now, SourceId source) noexcept {
  for (WindowEntry& w : windows_) w.op->Add(item, now, source);
  for (CepEntry& c : ceps_) c.op->Add(item, now, source);
}

bool StreamEngine::WantsMetric(std::string_view name) const noexcept {
  for (const WindowEntry& w : windows_) {
    if (w.spec->match.MayMatch(ItemKind::kMetric, name)) return true;
  }
  for (const CepEntry& c : ceps_) {
    if (c.rule->first.MayMatch(ItemKind::kMetric, name)) return true;
    // Only sequence and absence rules use `second` (elsewhere it is the match-all default).
    const bool two = c.rule->type == CepType::kSequence || c.rule->type == CepType::kAbsence;
    if (two && c.rule->second.MayMatch(ItemKind::kMetric, name)) return true;
  }
  return false;
}

namespace {
// The source of consecutive items that share a resource (the common case: one resource per
// batch or per ResourceSpans) is computed once. Valid for one Consume call: a resource lives
// in its batch's arena, whose memory a later batch may reuse.
class SourceCache {
 public:
  explicit SourceCache(const SourceKeys& keys) : keys_(keys) {}
  SourceId Of(const Item& item) noexcept {
    const event::Attribute* res = item.resource_attributes.data();
    if (res != last_ || item.resource_attributes.size() != last_size_) {
      last_ = res;
      last_size_ = item.resource_attributes.size();
      source_ = keys_.Of(item.resource_attributes);
    }
    return source_;
  }

 private:
  const SourceKeys& keys_;
  const event::Attribute* last_ = nullptr;
  std::size_t last_size_ = 0;
  SourceId source_ = kNoSource;
};
}  // namespace

void StreamEngine::Consume(const event::Batch& batch) {
  const uint64_t now = clock_.NowUnixNs();
  strobe::MutexLock lock(process_mu_);
  SourceCache sources(source_keys_);
  ForEachItem(
      batch,
      [&](const event::MetricPoint& m, Item& item) {
        return WantsMetric(m.name) && metric_deltas_.ToItem(m, now, item);
      },
      [&](const Item& item) { ProcessItem(item, now, sources.Of(item)); });
}

void StreamEngine::ConsumeItems(std::span<const Item> items) {
  const uint64_t now = clock_.NowUnixNs();
  strobe::MutexLock lock(process_mu_);
  SourceCache sources(source_keys_);
  for (const Item& item : items) ProcessItem(item, now, sources.Of(item));
}

void StreamEngine::Tick() {
  const uint64_t now = clock_.NowUnixNs();
  strobe::MutexLock lock(process_mu_);
  for (WindowEntry& w : windows_) w.op->Advance(now);
  for (CepEntry& c : ceps_) c.op->Advance(now);
  if (now >= next_series_gc_ns_) {
    next_series_gc_ns_ = now + 10'000'000'000;
    metric_deltas_.EvictIdle(now);
    strobe::MutexLock publish(publish_mu_);
    for (auto it = series_.begin(); it != series_.end();) {
      // CEP match counters stay (a counter that vanished would read as a reset); their
      // number is bounded by each rule's max_keys.
      const bool expired =
          it->second.name != kCepMatches && it->second.updated_ns + options_.series_ttl_ns < now;
      it = expired ? series_.erase(it) : std::next(it);
    }
  }
}

void StreamEngine::FlushAll() {
  strobe::MutexLock lock(process_mu_);
  for (WindowEntry& w : windows_) w.op->FlushAll();
}

Series* StreamEngine::FindOrAddSeriesLocked(std::string_view name, const std::string& source,
                                            const std::string& window,
                                            const std::vector<std::string>& label_names,
                                            std::span<const std::string> label_values) {
  std::string id = std::string(name) + '\x1f' + window;
  for (const std::string& v : label_values) id += '\x1f' + v;
  auto it = series_.find(id);
  if (it == series_.end()) {
    if (series_.size() >= options_.max_series) {
      ++series_dropped_;
      return nullptr;
    }
    Series s;
    s.name = std::string(name);
    s.source = source;
    s.window = window;
    for (std::size_t i = 0; i < label_names.size() && i < label_values.size(); ++i) {
      s.labels.emplace_back(label_names[i], label_values[i]);
    }
    it = series_.emplace(std::move(id), std::move(s)).first;
  }
  return &it->second;
}

void StreamEngine::SetSeriesLocked(std::string_view name, const std::string& source,
                                   const std::string& window,
                                   const std::vector<std::string>& label_names,
                                   std::span<const std::string> label_values, double value,
                                   uint64_t window_end_ns) {
  Series* s = FindOrAddSeriesLocked(name, source, window, label_names, label_values);
  if (s == nullptr) return;
  s->value = value;
  s->window_end_ns = window_end_ns;
  s->updated_ns = clock_.NowUnixNs();
}

void StreamEngine::AddEventLocked(bool notable, std::string json) {
  ++events_total_;
  std::deque<std::string>& ring = notable ? notable_events_ : window_events_;
  ring.push_back(std::move(json));
  while (ring.size() > options_.max_events) ring.pop_front();
}

void StreamEngine::OnWindow(const WindowResult& r) {
  const WindowSpec& spec = *r.spec;
  const std::string& source = spec.match.name().empty() ? spec.name : spec.match.name();
  std::vector<std::pair<std::string, std::string>> labels;
  for (std::size_t i = 0; i < spec.group_by.size() && i < r.labels.size(); ++i) {
    labels.emplace_back(spec.group_by[i], r.labels[i]);
  }
  std::string values = "{";
  {
    strobe::MutexLock lock(publish_mu_);
    for (const AggSpec& a : spec.aggregations.outputs) {
      const double v = r.Value(a);
      SetSeriesLocked(a.name, source, spec.name, spec.group_by, r.labels, v, r.end_ns);
      if (values.size() > 1) values += ",";
      values += JsonQuote(a.name) + ":" + JsonNumber(v);
    }
    values += "}";
    AddEventLocked(false, "{\"type\":\"window\",\"window\":" + JsonQuote(spec.name) +
                              ",\"start_ns\":" + std::to_string(r.start_ns) +
                              ",\"end_ns\":" + std::to_string(r.end_ns) +
                              ",\"labels\":" + LabelsJson(labels) + ",\"values\":" + values + "}");
  }
  // Anomaly detectors on this window's aggregates.
  for (const WindowEntry& w : windows_) {
    if (w.spec.get() != r.spec) continue;
    for (std::size_t idx : w.anomalies) {
      AnomalyEntry& a = anomalies_[idx];
      std::string key;
      for (const std::string& l : r.labels) key += l + '\x1f';
      auto it = a.detectors.find(key);
      if (it == a.detectors.end()) {
        if (a.detectors.size() >= options_.max_detectors) continue;
        it = a.detectors.emplace(key, Detector::Create(a.spec.detector)).first;
      }
      const double x = r.Value(a.spec.aggregation);
      const std::optional<double> score = it->second->Score(x);
      if (!score) continue;
      strobe::MutexLock lock(publish_mu_);
      SetSeriesLocked("anomaly_score", source, a.spec.name, spec.group_by, r.labels, *score,
                      r.end_ns);
      if (*score >= a.spec.detector.sensitivity) {
        ++a.anomalies;
        anomalies_total_.fetch_add(1, std::memory_order_relaxed);
        AddEventLocked(true, "{\"type\":\"anomaly\",\"detector\":" + JsonQuote(a.spec.name) +
                                 ",\"window\":" + JsonQuote(spec.name) +
                                 ",\"aggregation\":" + JsonQuote(a.spec.aggregation.name) +
                                 ",\"end_ns\":" + std::to_string(r.end_ns) + ",\"labels\":" +
                                 LabelsJson(labels) + ",\"value\":" + JsonNumber(x) +
                                 ",\"score\":" + JsonNumber(*score) + "}");
      }
    }
  }
}

void StreamEngine::OnMatch(const CepMatch& m) {
  std::vector<std::pair<std::string, std::string>> labels;
  for (std::size_t i = 0; i < m.rule->key_names.size() && i < m.labels.size(); ++i) {
    labels.emplace_back(m.rule->key_names[i], m.labels[i]);
  }
  strobe::MutexLock lock(publish_mu_);
  if (Series* s = FindOrAddSeriesLocked(kCepMatches, m.rule->name, m.rule->name, m.rule->key_names,
                                        m.labels)) {
    s->value += 1;
    s->window_end_ns = m.time_ns;
    s->updated_ns = clock_.NowUnixNs();
  }
  AddEventLocked(true, "{\"type\":\"cep\",\"rule\":" + JsonQuote(m.rule->name) +
                           ",\"pattern\":" + JsonQuote(CepTypeName(m.rule->type)) +
                           ",\"severity\":" + JsonQuote(m.rule->severity) + ",\"time_ns\":" +
                           std::to_string(m.time_ns) + ",\"labels\":" + LabelsJson(labels) +
                           ",\"value\":" + JsonNumber(m.value) + "}");
}

std::vector<Series> StreamEngine::SnapshotSeries() const {
  strobe::MutexLock lock(publish_mu_);
  std::vector<Series> out;
  out.reserve(series_.size());
  for (const auto& [id, s] : series_) out.push_back(s);
  return out;
}

uint64_t StreamEngine::series_dropped() const {
  strobe::MutexLock lock(publish_mu_);
  return series_dropped_;
}

std::string StreamEngine::SeriesJson() const {
  strobe::MutexLock lock(publish_mu_);
  std::string out = "{\"series\":[";
  bool first = true;
  for (const auto& [id, s] : series_) {
    if (!first) out += ",";
    first = false;
    out += "{\"name\":" + JsonQuote(s.name) + ",\"source\":" + JsonQuote(s.source) +
           ",\"window\":" + JsonQuote(s.window) + ",\"labels\":" + LabelsJson(s.labels) +
           ",\"value\":" + JsonNumber(s.value) +
           ",\"window_end_ns\":" + std::to_string(s.window_end_ns) + "}";
  }
  out += "],\"dropped\":" + std::to_string(series_dropped_) + "}";
  return out;
}

std::string StreamEngine::EventsJson(std::string_view type) const {
  strobe::MutexLock lock(publish_mu_);
  std::string out = "{\"total\":" + std::to_string(events_total_) + ",\"events\":[";
  bool first = true;
  auto append = [&](const std::deque<std::string>& ring) {
    for (const std::string& e : ring) {
      if (!type.empty() && e.find("\"type\":\"" + std::string(type) + "\"") == std::string::npos) {
        continue;
      }
      if (!first) out += ",";
      first = false;
      out += e;
    }
  };
  if (type.empty() || type == "window") append(window_events_);
  if (type != "window") append(notable_events_);
  return out + "]}";
}

}  // namespace strobed::stream
