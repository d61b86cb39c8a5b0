#include "strobed/stream/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "strobed/base/json.h"

namespace strobed::stream {
namespace {

using base::JsonNumber;
using base::JsonQuote;

strobe::Status Err(std::string_view file, const YAML::Node& node, const std::string& msg) {
  return strobe::InvalidArgument(YamlWhere(file, node) + ": " + msg);
}

strobe::Result<uint64_t> PositiveInt(const YAML::Node& n, std::string_view file,
                                     std::string_view what) {
  int64_t v = 0;
  if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v) || v < 1) {
    return Err(file, n, std::string(what) + ": expected a positive integer");
  }
  return static_cast<uint64_t>(v);
}

strobe::Result<double> PositiveNumber(const YAML::Node& n, std::string_view file,
                                      std::string_view what) {
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !(v > 0) || !std::isfinite(v)) {
    return Err(file, n, std::string(what) + ": expected a positive number");
  }
  return v;
}

strobe::Status CheckKeys(const YAML::Node& node, std::string_view file, std::string_view what,
                         std::initializer_list<std::string_view> known) {
  for (const auto& kv : node) {
    const std::string k = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      std::string list;
      for (auto x : known) list += (list.empty() ? "" : ", ") + std::string(x);
      return Err(file, kv.first,
                 std::string(what) + ": unknown key '" + k + "' (known: " + list + ")");
    }
  }
  return strobe::OkStatus();
}

strobe::Result<std::unique_ptr<WindowSpec>> ParseWindow(const YAML::Node& node,
                                                        std::string_view file,
                                                        event::KeyTable& keys,
                                                        const AggregationRegistry* registry) {
  if (!node.IsMap()) return Err(file, node, "window: expected a map");
  auto spec = std::make_unique<WindowSpec>();
  if (!node["name"] || !node["name"].IsScalar()) return Err(file, node, "window: missing name");
  spec->name = node["name"].Scalar();
  const std::string what = "window '" + spec->name + "'";
  STROBE_RETURN_IF_ERROR(
      CheckKeys(node, file, what,
                {"name", "match", "type", "size", "slide", "gap", "group_by", "aggregations",
                 "allowed_lateness", "idle_timeout", "max_keys", "key_ttl", "max_future"}));
  const std::string type = node["type"] ? node["type"].as<std::string>() : "tumbling";
  if (type == "tumbling") {
    spec->type = WindowType::kTumbling;
  } else if (type == "sliding") {
    spec->type = WindowType::kSliding;
  } else if (type == "session") {
    spec->type = WindowType::kSession;
  } else {
    return Err(file, node["type"], what + ": type must be tumbling, sliding or session");
  }
  auto dur = [&](const char* key, uint64_t& out, bool required) -> strobe::Status {
    const YAML::Node n = node[key];
    if (!n) {
      return required ? Err(file, node, what + ": missing '" + key + "'") : strobe::OkStatus();
    }
    auto d = ParseDurationNode(n, file, key);
    if (!d.ok()) return d.status();
    out = *d;
    return strobe::OkStatus();
  };
  if (spec->type == WindowType::kSession) {
    STROBE_RETURN_IF_ERROR(dur("gap", spec->gap_ns, true));
    if (spec->gap_ns == 0) return Err(file, node["gap"], what + ": gap must be > 0");
    spec->size_ns = spec->gap_ns;
    spec->slide_ns = spec->gap_ns;
  } else {
    STROBE_RETURN_IF_ERROR(dur("size", spec->size_ns, true));
    if (spec->size_ns == 0) return Err(file, node["size"], what + ": size must be > 0");
    spec->slide_ns = spec->size_ns;
    if (spec->type == WindowType::kSliding) {
      STROBE_RETURN_IF_ERROR(dur("slide", spec->slide_ns, true));
      if (spec->slide_ns == 0 || spec->size_ns % spec->slide_ns != 0 ||
          spec->size_ns / spec->slide_ns > 1000) {
        return Err(file, node["slide"],
                   what + ": slide must divide size, with at most 1000 slides per window");
      }
    }
  }
  spec->idle_timeout_ns = std::max(spec->size_ns, spec->gap_ns);
  STROBE_RETURN_IF_ERROR(dur("allowed_lateness", spec->allowed_lateness_ns, false));
  STROBE_RETURN_IF_ERROR(dur("idle_timeout", spec->idle_timeout_ns, false));
  STROBE_RETURN_IF_ERROR(dur("key_ttl", spec->key_ttl_ns, false));
  STROBE_RETURN_IF_ERROR(dur("max_future", spec->max_future_ns, false));
  if (const YAML::Node n = node["max_keys"]) {
    auto v = PositiveInt(n, file, "max_keys");
    if (!v.ok()) return v.status();
    spec->max_keys = *v;
  }
  if (const YAML::Node g = node["group_by"]) {
    if (!g.IsSequence()) return Err(file, g, what + ": group_by: expected a list");
    if (g.size() > kMaxGroupBy) return Err(file, g, what + ": group_by: at most 8 attributes");
    for (const auto& a : g) {
      if (!a.IsScalar()) return Err(file, a, what + ": group_by: expected attribute names");
      auto id = keys.Intern(a.Scalar());
      if (!id) return Err(file, a, what + ": attribute key table is full");
      spec->group_by.push_back(a.Scalar());
      spec->group_keys.push_back(*id);
    }
  }
  auto match = Predicate::Parse(node["match"], file, keys);
  if (!match.ok()) return match.status();
  spec->match = std::move(*match);
  auto plan = AggregationPlan::Parse(node["aggregations"], file, registry, keys);
  if (!plan.ok()) return plan.status();
  spec->aggregations = std::move(*plan);
  return spec;
}

strobe::Result<AnomalySpec> ParseAnomaly(const YAML::Node& node, std::string_view file,
                                         const std::vector<std::unique_ptr<WindowSpec>>& windows,
                                         const AggregationRegistry* registry) {
  if (!node.IsMap()) return Err(file, node, "anomaly: expected a map");
  AnomalySpec a;
  a.file_line = YamlWhere(file, node);
  if (!node["name"] || !node["name"].IsScalar()) return Err(file, node, "anomaly: missing name");
  a.name = node["name"].Scalar();
  const std::string what = "anomaly '" + a.name + "'";
  STROBE_RETURN_IF_ERROR(CheckKeys(
      node, file, what,
      {"name", "window", "aggregation", "detector", "alpha", "warmup", "sensitivity", "points"}));
  const YAML::Node w = node["window"];
  if (!w || !w.IsScalar()) return Err(file, node, what + ": missing 'window'");
  a.window = w.Scalar();
  const WindowSpec* spec = nullptr;
  for (const auto& s : windows) {
    if (s->name == a.window) spec = s.get();
  }
  if (spec == nullptr) return Err(file, w, what + ": unknown window '" + a.window + "'");
  const YAML::Node agg = node["aggregation"];
  if (!agg || !agg.IsScalar()) return Err(file, node, what + ": missing 'aggregation'");
  bool found = false;
  for (const AggSpec& o : spec->aggregations.outputs) {
    if (o.name == agg.Scalar()) {
      a.aggregation = o;
      found = true;
    }
  }
  if (!found) {
    std::vector<const UserAggregation*> scratch;
    auto parsed = ParseAggSpec(agg.Scalar(), registry, scratch);
    if (!parsed.ok()) return Err(file, agg, what + ": " + parsed.status().message());
    return Err(file, agg,
               what + ": window '" + a.window + "' does not compute '" + agg.Scalar() + "'");
  }
  if (const YAML::Node d = node["detector"]) {
    const std::string t = d.IsScalar() ? d.Scalar() : "";
    if (t == "ewma") {
      a.detector.type = DetectorType::kEwma;
    } else if (t == "mad" || t == "median_mad") {
      a.detector.type = DetectorType::kMad;
    } else {
      return Err(file, d, what + ": detector must be ewma or mad");
    }
  }
  if (const YAML::Node n = node["alpha"]) {
    auto v = PositiveNumber(n, file, "alpha");
    if (!v.ok()) return v.status();
    if (*v >= 1) return Err(file, n, "alpha: must be in (0, 1)");
    a.detector.alpha = *v;
  }
  if (const YAML::Node n = node["sensitivity"]) {
    auto v = PositiveNumber(n, file, "sensitivity");
    if (!v.ok()) return v.status();
    a.detector.sensitivity = *v;
  }
  if (const YAML::Node n = node["warmup"]) {
    auto v = PositiveInt(n, file, "warmup");
    if (!v.ok()) return v.status();
    a.detector.warmup = *v;
  }
  if (const YAML::Node n = node["points"]) {
    auto v = PositiveInt(n, file, "points");
    if (!v.ok()) return v.status();
    if (*v < 3 || *v > 10000) return Err(file, n, "points: expected 3..10000");
    a.detector.window = *v;
  }
  return a;
}

// Runs one entry's parser; yaml-cpp conversion exceptions (a map where a string belongs)
// become that entry's error, so one malformed entry never takes the others down.
template <typename Fn>
auto Guard(const YAML::Node& node, std::string_view file, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const YAML::Exception& e) {
    return Err(file, node, std::string("malformed entry: ") + e.what());
  }
}

std::string LabelsJson(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i != 0) out += ",";
    out += JsonQuote(labels[i].first) + ":" + JsonQuote(labels[i].second);
  }
  return out + "}";
}

}  // namespace

uint64_t SystemClock::NowNs() const noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

SystemClock& SystemClock::Get() {
  static SystemClock* clock = new SystemClock();
  return *clock;
}

std::string PrometheusName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) c = '_';
  }
  if (!out.empty() && out[0] >= '0' && out[0] <= '9') out.insert(out.begin(), '_');
  return out;
}

StreamEngine::StreamEngine(pipeline::Clock& clock, StreamEngineOptions options)
    : clock_(clock), options_(options) {}

StreamEngine::~StreamEngine() = default;

std::unique_ptr<StreamEngine> StreamEngine::Create(const YAML::Node& node, std::string_view file,
                                                   event::KeyTable& keys, pipeline::Clock& clock,
                                                   const AggregationRegistry* registry,
                                                   StreamEngineOptions options) {
  std::unique_ptr<StreamEngine> e(new StreamEngine(clock, options));
  if (!node.IsDefined() || node.IsNull()) return e;
  if (!node.IsMap()) {
    e->errors_.push_back(Err(file, node, "stream: expected a map"));
    return e;
  }
  for (const auto& kv : node) {
    const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (k != "windows" && k != "cep" && k != "anomaly") {
      e->errors_.push_back(
          Err(file, kv.first, "stream: unknown key '" + k + "' (known: windows, cep, anomaly)"));
    }
  }
  std::vector<std::unique_ptr<WindowSpec>> specs;
  if (const YAML::Node w = node["windows"]) {
    if (!w.IsSequence()) {
      e->errors_.push_back(Err(file, w, "stream.windows: expected a list"));
    } else {
      for (const auto& n : w) {
        auto spec = Guard(n, file, [&] { return ParseWindow(n, file, keys, registry); });
        if (!spec.ok()) {
          e->errors_.push_back(spec.status());
          continue;
        }
        bool dup = false;
        for (const auto& s : specs) dup = dup || s->name == (*spec)->name;
        if (dup) {
          e->errors_.push_back(Err(file, n, "window '" + (*spec)->name + "' defined twice"));
          continue;
        }
        specs.push_back(std::move(*spec));
      }
    }
  }
  if (const YAML::Node a = node["anomaly"]) {
    if (!a.IsSequence()) {
      e->errors_.push_back(Err(file, a, "stream.anomaly: expected a list"));
    } else {
      for (const auto& n : a) {
        auto spec = Guard(n, file, [&] { return ParseAnomaly(n, file, specs, registry); });
        if (!spec.ok()) {
          e->errors_.push_back(spec.status());
          continue;
        }
        AnomalyEntry entry;
        entry.spec = std::move(*spec);
        e->anomalies_.push_back(std::move(entry));
      }
    }
  }
  for (auto& s : specs) {
    WindowEntry entry;
    for (std::size_t i = 0; i < e->anomalies_.size(); ++i) {
      if (e->anomalies_[i].spec.window == s->name) entry.anomalies.push_back(i);
    }
    entry.op = std::make_unique<WindowOperator>(*s, static_cast<ResultSink&>(*e));
    entry.spec = std::move(s);
    e->windows_.push_back(std::move(entry));
  }
  if (const YAML::Node c = node["cep"]) {
    if (!c.IsSequence()) {
      e->errors_.push_back(Err(file, c, "stream.cep: expected a list"));
    } else {
      for (const auto& n : c) {
        auto rule = Guard(n, file, [&] { return CepRule::Parse(n, file, keys); });
        if (!rule.ok()) {
          e->errors_.push_back(rule.status());
          continue;
        }
        CepEntry entry;
        entry.rule = std::make_unique<CepRule>(std::move(*rule));
        entry.op = std::make_unique<CepOperator>(*entry.rule, static_cast<CepSink&>(*e));
        e->ceps_.push_back(std::move(entry));
      }
    }
  }
  return e;
}

void StreamEngine::ProcessItem(const Item& item, uint64_t now) noexcept {
  for (WindowEntry& w : windows_) w.op->Add(item, now);
  for (CepEntry& c : ceps_) c.op->Add(item, now);
}

void StreamEngine::Consume(const event::Batch& batch) {
  const uint64_t now = clock_.NowNs();
  strobe::MutexLock lock(process_mu_);
  ForEachItem(batch, [&](const Item& item) { ProcessItem(item, now); });
}

void StreamEngine::ConsumeItems(std::span<const Item> items) {
  const uint64_t now = clock_.NowNs();
  strobe::MutexLock lock(process_mu_);
  for (const Item& item : items) ProcessItem(item, now);
}

void StreamEngine::Tick() {
  const uint64_t now = clock_.NowNs();
  strobe::MutexLock lock(process_mu_);
  for (WindowEntry& w : windows_) w.op->Advance(now);
  for (CepEntry& c : ceps_) c.op->Advance(now);
  if (now >= next_series_gc_ns_) {
    next_series_gc_ns_ = now + 10'000'000'000;
    strobe::MutexLock publish(publish_mu_);
    for (auto it = series_.begin(); it != series_.end();) {
      it = it->second.updated_ns + options_.series_ttl_ns < now ? series_.erase(it) : std::next(it);
    }
  }
}

void StreamEngine::FlushAll() {
  strobe::MutexLock lock(process_mu_);
  for (WindowEntry& w : windows_) w.op->FlushAll();
}

void StreamEngine::SetSeriesLocked(std::string_view name, const std::string& source,
                                   const std::string& window,
                                   const std::vector<std::string>& label_names,
                                   std::span<const std::string> label_values, double value,
                                   uint64_t window_end_ns) {
  std::string id = std::string(name) + '\x1f' + window;
  for (const std::string& v : label_values) id += '\x1f' + v;
  auto it = series_.find(id);
  if (it == series_.end()) {
    if (series_.size() >= options_.max_series) {
      ++series_dropped_;
      return;
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
  it->second.value = value;
  it->second.window_end_ns = window_end_ns;
  it->second.updated_ns = clock_.NowNs();
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

void StreamEngine::AppendPrometheus(std::string& out) const {
  {
    strobe::MutexLock lock(publish_mu_);
    std::map<std::string, std::vector<const Series*>> by_name;
    for (const auto& [id, s] : series_)
      by_name["strobe_stream_" + PrometheusName(s.name)].push_back(&s);
    for (const auto& [name, list] : by_name) {
      out += "# TYPE " + name + " gauge\n";
      for (const Series* s : list) {
        out += name + "{window=\"" + s->window + "\"";
        for (const auto& [k, v] : s->labels) {
          std::string escaped;
          for (char c : v) {
            if (c == '\\' || c == '"') escaped += '\\';
            if (c == '\n') {
              escaped += "\\n";
              continue;
            }
            escaped += c;
          }
          out += "," + PrometheusName(k) + "=\"" + escaped + "\"";
        }
        out += "} " + JsonNumber(s->value) + "\n";
      }
    }
    out += "# TYPE strobe_stream_series_dropped_total counter\n";
    out += "strobe_stream_series_dropped_total " + std::to_string(series_dropped_) + "\n";
  }
  auto counter = [&out](const std::string& name, const std::string& help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n";
  };
  counter("strobe_stream_events_total", "Items accepted into windows.");
  for (const WindowEntry& w : windows_) {
    out += "strobe_stream_events_total{window=\"" + w.spec->name + "\"} " +
           std::to_string(w.op->stats().accepted.load(std::memory_order_relaxed)) + "\n";
  }
  counter("strobe_stream_dropped_events_total",
          "Items not aggregated: late (after allowed lateness), key_limit, future timestamps.");
  for (const WindowEntry& w : windows_) {
    const WindowStats& st = w.op->stats();
    const std::string l = "{window=\"" + w.spec->name + "\",reason=\"";
    out += "strobe_stream_dropped_events_total" + l + "late\"} " +
           std::to_string(st.late.load(std::memory_order_relaxed)) + "\n";
    out += "strobe_stream_dropped_events_total" + l + "key_limit\"} " +
           std::to_string(st.dropped_key_limit.load(std::memory_order_relaxed)) + "\n";
    out += "strobe_stream_dropped_events_total" + l + "future\"} " +
           std::to_string(st.dropped_future.load(std::memory_order_relaxed)) + "\n";
  }
  counter("strobe_stream_cep_matches_total", "Complex-event rule matches.");
  for (const CepEntry& c : ceps_) {
    out += "strobe_stream_cep_matches_total{rule=\"" + c.rule->name + "\"} " +
           std::to_string(c.op->stats().matches.load(std::memory_order_relaxed)) + "\n";
  }
  counter("strobe_stream_cep_dropped_total", "CEP keys or pending items dropped at limits.");
  for (const CepEntry& c : ceps_) {
    out += "strobe_stream_cep_dropped_total{rule=\"" + c.rule->name + "\"} " +
           std::to_string(c.op->stats().dropped_key_limit.load(std::memory_order_relaxed) +
                          c.op->stats().dropped_pending.load(std::memory_order_relaxed)) +
           "\n";
  }
}

}  // namespace strobed::stream
