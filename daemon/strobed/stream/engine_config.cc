#include "strobed/stream/engine.h"

// The YAML half of StreamEngine: parses the `stream:` section (windows, anomaly detectors,
// CEP rules) into specs and builds the engine's operators from them. Errors are per entry,
// "file:line: reason"; one bad entry never stops the others (base::GuardYaml).

#include <algorithm>
#include <cmath>

#include "strobed/base/parse.h"
#include "strobed/base/yaml_util.h"

namespace strobed::stream {
namespace {

strobe::Status Err(std::string_view file, const YAML::Node& node, const std::string& msg) {
  return strobe::InvalidArgument(base::YamlWhere(file, node) + ": " + msg);
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
                 "allowed_lateness", "idle_timeout", "max_keys", "key_ttl", "max_future",
                 "source_idle_timeout", "max_source_lag", "max_sources"}));
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
    auto d = base::ParseDurationNode(n, file, key);
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
  STROBE_RETURN_IF_ERROR(dur("source_idle_timeout", spec->source_idle_timeout_ns, false));
  if (spec->source_idle_timeout_ns == 0) {
    return Err(file, node["source_idle_timeout"], what + ": source_idle_timeout must be > 0");
  }
  STROBE_RETURN_IF_ERROR(dur("max_source_lag", spec->max_source_lag_ns, false));
  if (const YAML::Node n = node["max_sources"]) {
    auto v = PositiveInt(n, file, "max_sources");
    if (!v.ok()) return v.status();
    spec->max_sources = *v;
  }
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
  a.file_line = base::YamlWhere(file, node);
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

// `metric_state: {max_series: N, max_bytes: 64MiB, idle_ttl: 10m}`: the bounds of the
// per-series state that turns cumulative metric points into deltas (metric_deltas.h).
strobe::Result<MetricDeltaOptions> ParseMetricState(const YAML::Node& node, std::string_view file,
                                                    MetricDeltaOptions options) {
  if (!node.IsMap()) return Err(file, node, "stream.metric_state: expected a map");
  STROBE_RETURN_IF_ERROR(
      CheckKeys(node, file, "stream.metric_state", {"max_series", "max_bytes", "idle_ttl"}));
  if (const YAML::Node n = node["max_series"]) {
    auto v = PositiveInt(n, file, "stream.metric_state.max_series");
    if (!v.ok()) return v.status();
    options.max_series = *v;
  }
  if (const YAML::Node n = node["max_bytes"]) {
    auto v = n.IsScalar() ? base::ParseBytes(n.Scalar())
                          : strobe::Result<uint64_t>(strobe::InvalidArgument("expected a size"));
    if (!v.ok() || *v == 0) {
      return Err(file, n, "stream.metric_state.max_bytes: expected a positive size (e.g. 64MiB)");
    }
    options.max_bytes = *v;
  }
  if (const YAML::Node n = node["idle_ttl"]) {
    auto d = base::ParseDurationNode(n, file, "idle_ttl");
    if (!d.ok()) return d.status();
    if (*d == 0) return Err(file, n, "stream.metric_state.idle_ttl: must be > 0");
    options.idle_ttl_ns = *d;
  }
  return options;
}

}  // namespace

std::unique_ptr<StreamEngine> StreamEngine::Create(const YAML::Node& node, std::string_view file,
                                                   event::KeyTable& keys, base::WallClock& clock,
                                                   const AggregationRegistry* registry,
                                                   StreamEngineOptions options) {
  std::unique_ptr<StreamEngine> e(new StreamEngine(clock, options));
  e->source_keys_ = SourceKeys::Intern(keys);
  if (!node.IsDefined() || node.IsNull()) return e;
  if (!node.IsMap()) {
    e->errors_.push_back(Err(file, node, "stream: expected a map"));
    return e;
  }
  for (const auto& kv : node) {
    const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (k != "windows" && k != "cep" && k != "anomaly" && k != "metric_state") {
      e->errors_.push_back(
          Err(file, kv.first,
              "stream: unknown key '" + k + "' (known: windows, cep, anomaly, metric_state)"));
    }
  }
  MetricDeltaOptions metric_state = e->metric_deltas_.options();
  if (const YAML::Node m = node["metric_state"]) {
    auto parsed = base::GuardYaml(m, file, [&] { return ParseMetricState(m, file, metric_state); });
    if (parsed.ok()) {
      metric_state = *parsed;
    } else {
      e->errors_.push_back(parsed.status());
    }
  }
  std::vector<std::unique_ptr<WindowSpec>> specs;
  if (const YAML::Node w = node["windows"]) {
    if (!w.IsSequence()) {
      e->errors_.push_back(Err(file, w, "stream.windows: expected a list"));
    } else {
      for (const auto& n : w) {
        auto spec = base::GuardYaml(n, file, [&] { return ParseWindow(n, file, keys, registry); });
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
        auto spec =
            base::GuardYaml(n, file, [&] { return ParseAnomaly(n, file, specs, registry); });
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
  // A first cumulative point counts from zero when its series started within the longest
  // window (metric_deltas.h).
  uint64_t longest = 0;
  for (const auto& s : specs) {
    longest = std::max(longest, s->type == WindowType::kSession ? s->gap_ns : s->size_ns);
  }
  if (metric_state.first_point_max_age_ns == 0) metric_state.first_point_max_age_ns = longest;
  e->metric_deltas_.set_options(metric_state);
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
        auto rule = base::GuardYaml(n, file, [&] { return CepRule::Parse(n, file, keys); });
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

}  // namespace strobed::stream
