#include "strobed/alert/rules.h"

#include <glob.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <set>

#include "strobe/metrics/labels.h"
#include "strobed/base/file_util.h"
#include "strobed/base/yaml_util.h"
#include "strobed/stream/predicate.h"

namespace strobed::alert {
namespace {

strobe::Status Err(std::string_view file, const YAML::Node& node, const std::string& msg) {
  return strobe::InvalidArgument(base::YamlWhere(file, node) + ": " + msg);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

strobe::Status CheckKeys(const YAML::Node& node, std::string_view file, const std::string& what,
                         std::initializer_list<std::string_view> known) {
  for (const auto& kv : node) {
    const std::string k = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      return Err(file, kv.first, what + ": unknown key '" + k + "'");
    }
  }
  return strobe::OkStatus();
}

strobe::Status StringMap(const YAML::Node& node, std::string_view file, const std::string& what,
                         std::map<std::string, std::string>& out) {
  if (!node) return strobe::OkStatus();
  if (!node.IsMap()) return Err(file, node, what + ": expected a map");
  for (const auto& kv : node) {
    if (!kv.second.IsScalar()) return Err(file, kv.second, what + ": expected string values");
    out[kv.first.as<std::string>()] = kv.second.Scalar();
  }
  return strobe::OkStatus();
}

strobe::Result<AlertRule> ParseRule(const YAML::Node& node, std::string_view file,
                                    const stream::AggregationRegistry* registry) {
  if (!node.IsMap()) return Err(file, node, "rule: expected a map");
  AlertRule r;
  r.file_line = base::YamlWhere(file, node);
  const YAML::Node name = node["alert"];
  if (!name || !name.IsScalar() || name.Scalar().empty()) {
    return Err(file, node, "rule: missing 'alert' (the alert name)");
  }
  r.name = name.Scalar();
  const std::string what = "rule '" + r.name + "'";
  STROBE_RETURN_IF_ERROR(CheckKeys(node, file, what,
                                   {"alert", "expr", "for", "severity", "labels", "annotations",
                                    "repeat_interval", "cooldown"}));
  const YAML::Node expr = node["expr"];
  if (!expr || !expr.IsScalar()) return Err(file, node, what + ": missing 'expr'");
  auto e = AlertExpr::Parse(expr.Scalar(), registry);
  if (!e.ok()) return Err(file, expr, what + ": expr " + e.status().message());
  r.expr = std::move(*e);
  if (const YAML::Node n = node["for"]) {
    auto d = base::ParseDurationNode(n, file, what + ": for");
    if (!d.ok()) return d.status();
    r.for_ns = *d;
  }
  if (const YAML::Node n = node["repeat_interval"]) {
    auto d = base::ParseDurationNode(n, file, what + ": repeat_interval");
    if (!d.ok()) return d.status();
    if (*d == 0) return Err(file, n, what + ": repeat_interval must be > 0");
    r.repeat_interval_ns = *d;
  }
  if (const YAML::Node n = node["cooldown"]) {
    auto d = base::ParseDurationNode(n, file, what + ": cooldown");
    if (!d.ok()) return d.status();
    r.cooldown_ns = *d;
  }
  if (const YAML::Node n = node["severity"]) {
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    if (s != "info" && s != "warning" && s != "critical") {
      return Err(file, n, what + ": severity must be info, warning or critical");
    }
    r.severity = s;
  }
  STROBE_RETURN_IF_ERROR(StringMap(node["labels"], file, what + ": labels", r.labels));
  STROBE_RETURN_IF_ERROR(
      StringMap(node["annotations"], file, what + ": annotations", r.annotations));
  for (const auto& [k, v] : r.annotations) {
    strobe::Status s = CheckTemplate(v);
    if (!s.ok()) {
      return Err(file, node["annotations"][k], what + ": annotation '" + k + "': " + s.message());
    }
  }
  return r;
}

strobe::Result<NotifierConfig> ParseNotifier(const YAML::Node& node, std::string_view file) {
  if (!node.IsMap()) return Err(file, node, "notifier: expected a map");
  NotifierConfig n;
  n.file_line = base::YamlWhere(file, node);
  const std::string type = node["type"] ? node["type"].as<std::string>() : "";
  if (type == "log") {
    n.type = NotifierType::kLog;
  } else if (type == "webhook") {
    n.type = NotifierType::kWebhook;
  } else if (type == "alertmanager") {
    n.type = NotifierType::kAlertmanager;
  } else {
    return Err(file, node["type"] ? node["type"] : node,
               "notifier: type must be log, webhook or alertmanager");
  }
  const std::string what = "notifier '" + type + "'";
  STROBE_RETURN_IF_ERROR(CheckKeys(node, file, what,
                                   {"type", "url", "timeout", "max_attempts", "initial_backoff",
                                    "max_backoff", "resend_interval", "queue_capacity"}));
  if (n.type != NotifierType::kLog) {
    const YAML::Node url = node["url"];
    if (!url || !url.IsScalar()) return Err(file, node, what + ": missing 'url'");
    n.url = url.Scalar();
    if (!n.url.starts_with("http://")) {
      return Err(file, url, what + ": url must start with http:// (https is not supported)");
    }
  }
  auto dur = [&](const char* key, uint64_t& out) -> strobe::Status {
    if (const YAML::Node v = node[key]) {
      auto d = base::ParseDurationNode(v, file, what + ": " + key);
      if (!d.ok()) return d.status();
      if (*d == 0) return Err(file, v, what + ": " + key + " must be > 0");
      out = *d;
    }
    return strobe::OkStatus();
  };
  STROBE_RETURN_IF_ERROR(dur("timeout", n.timeout_ns));
  STROBE_RETURN_IF_ERROR(dur("initial_backoff", n.initial_backoff_ns));
  STROBE_RETURN_IF_ERROR(dur("max_backoff", n.max_backoff_ns));
  STROBE_RETURN_IF_ERROR(dur("resend_interval", n.resend_interval_ns));
  if (const YAML::Node v = node["max_attempts"]) {
    int a = 0;
    if (!v.IsScalar() || !YAML::convert<int>::decode(v, a) || a < 1 || a > 100) {
      return Err(file, v, what + ": max_attempts must be 1..100");
    }
    n.max_attempts = a;
  }
  if (const YAML::Node v = node["queue_capacity"]) {
    int a = 0;
    if (!v.IsScalar() || !YAML::convert<int>::decode(v, a) || a < 1) {
      return Err(file, v, what + ": queue_capacity must be positive");
    }
    n.queue_capacity = static_cast<std::size_t>(a);
  }
  return n;
}

// Prometheus' model.ParseDuration: [Ny][Nw][Nd][Nh][Nm][Ns][Nms], units largest first, or "0".
strobe::Result<uint64_t> ParsePromDuration(std::string_view text) {
  if (text == "0") return uint64_t{0};
  struct Unit {
    std::string_view name;
    uint64_t ms;
  };
  static constexpr Unit kUnits[] = {{"y", 365ULL * 24 * 3600 * 1000},
                                    {"w", 7ULL * 24 * 3600 * 1000},
                                    {"d", 24ULL * 3600 * 1000},
                                    {"h", 3600ULL * 1000},
                                    {"m", 60ULL * 1000},
                                    {"s", 1000},
                                    {"ms", 1}};
  const auto bad = [&] {
    return strobe::InvalidArgument("'" + std::string(text) +
                                   "' is not a Prometheus duration (e.g. 30s, 5m, 1h30m, 1d)");
  };
  if (text.empty()) return bad();
  uint64_t total_ms = 0;
  std::size_t next_unit = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    uint64_t n = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (uint64_t{1} << 40)) return bad();
      n = n * 10 + static_cast<uint64_t>(text[i] - '0');
      ++i;
    }
    if (i == start) return bad();
    std::size_t end = i;
    while (end < text.size() && text[end] >= 'a' && text[end] <= 'z') ++end;
    const std::string_view unit = text.substr(i, end - i);
    std::size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].name != unit) ++u;
    if (u == std::size(kUnits)) return bad();
    next_unit = u + 1;
    if (n > (uint64_t{1} << 62) / kUnits[u].ms / 1'000'000) return bad();
    total_ms += n * kUnits[u].ms;
    i = end;
  }
  if (total_ms > (uint64_t{1} << 62) / 1'000'000) return bad();
  return total_ms * 1'000'000;
}

strobe::Result<uint64_t> PromDurationNode(const YAML::Node& node, std::string_view file,
                                          const std::string& what) {
  if (!node.IsScalar()) return Err(file, node, what + ": expected a duration");
  auto d = ParsePromDuration(node.Scalar());
  if (!d.ok()) return Err(file, node, what + ": " + d.status().message());
  return *d;
}

strobe::Status CheckLabelNames(const std::map<std::string, std::string>& labels,
                               const YAML::Node& node, std::string_view file,
                               const std::string& what) {
  for (const auto& [k, v] : labels) {
    if (!strobe::metrics::IsValidLabelName(k) || k.starts_with("__")) {
      return Err(file, node, what + ": invalid label name '" + k + "'");
    }
    strobe::Status s = CheckTemplate(v);
    if (!s.ok()) return Err(file, node[k], what + ": label '" + k + "': " + s.message());
  }
  return strobe::OkStatus();
}

strobe::Result<AlertRule> ParsePromRule(const YAML::Node& node, std::string_view file,
                                        const std::string& group) {
  if (!node.IsMap()) return Err(file, node, "group '" + group + "': rule: expected a map");
  AlertRule r;
  r.file_line = base::YamlWhere(file, node);
  const YAML::Node alert = node["alert"];
  const YAML::Node record = node["record"];
  if (alert && record) {
    return Err(file, node,
               "group '" + group + "': a rule has either 'alert' or 'record', not both");
  }
  const YAML::Node name = alert ? alert : record;
  if (!name || !name.IsScalar() || name.Scalar().empty()) {
    return Err(file, node, "group '" + group + "': rule: missing 'alert' or 'record' name");
  }
  r.name = name.Scalar();
  r.recording = static_cast<bool>(record);
  const std::string what = "group '" + group + "': rule '" + r.name + "'";
  if (r.recording) {
    STROBE_RETURN_IF_ERROR(CheckKeys(node, file, what, {"record", "expr", "labels"}));
    if (!strobe::metrics::IsValidMetricName(r.name)) {
      return Err(file, record, what + ": invalid recorded metric name");
    }
  } else {
    STROBE_RETURN_IF_ERROR(CheckKeys(
        node, file, what, {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}));
    if (!strobe::metrics::IsValidUtf8(r.name)) return Err(file, alert, what + ": name not UTF-8");
  }
  const YAML::Node expr = node["expr"];
  if (!expr || !expr.IsScalar() || expr.Scalar().empty()) {
    return Err(file, node, what + ": missing 'expr'");
  }
  auto parsed = promql::Parse(expr.Scalar());
  if (!parsed.ok()) return Err(file, expr, what + ": expr " + parsed.status().message());
  if (promql::TypeOf(*parsed) == promql::ValueType::kMatrix) {
    return Err(file, expr,
               what +
                   ": expr is a range vector; a rule needs an instant vector or "
                   "scalar");
  }
  r.expr.text = expr.Scalar();
  r.promql = std::make_shared<const promql::Expr>(std::move(*parsed));
  if (const YAML::Node n = node["for"]) {
    auto d = PromDurationNode(n, file, what + ": for");
    if (!d.ok()) return d.status();
    r.for_ns = *d;
  }
  if (const YAML::Node n = node["keep_firing_for"]) {
    auto d = PromDurationNode(n, file, what + ": keep_firing_for");
    if (!d.ok()) return d.status();
    r.keep_firing_for_ns = *d;
  }
  STROBE_RETURN_IF_ERROR(StringMap(node["labels"], file, what + ": labels", r.labels));
  STROBE_RETURN_IF_ERROR(CheckLabelNames(r.labels, node["labels"], file, what + ": labels"));
  STROBE_RETURN_IF_ERROR(
      StringMap(node["annotations"], file, what + ": annotations", r.annotations));
  for (const auto& [k, v] : r.annotations) {
    strobe::Status s = CheckTemplate(v);
    if (!s.ok()) {
      return Err(file, node["annotations"][k], what + ": annotation '" + k + "': " + s.message());
    }
  }
  return r;
}

void ParseGroups(const YAML::Node& root, std::string_view file, RuleFiles& out) {
  if (!root.IsDefined() || root.IsNull()) return;  // an empty file holds no groups
  if (!root.IsMap()) {
    out.errors.push_back(Err(file, root, "a rule file is a map with 'groups'"));
    ++out.file_errors;
    return;
  }
  strobe::Status keys =
      base::GuardYaml(root, file, [&] { return CheckKeys(root, file, "rule file", {"groups"}); });
  if (!keys.ok()) out.errors.push_back(keys);
  const YAML::Node groups = root["groups"];
  if (!groups) return;
  if (!groups.IsSequence()) {
    out.errors.push_back(Err(file, groups, "groups: expected a list"));
    ++out.file_errors;
    return;
  }
  std::set<std::string> names;
  for (const YAML::Node& g : groups) {
    strobe::Status s = base::GuardYaml(g, file, [&]() -> strobe::Status {
      if (!g.IsMap()) return Err(file, g, "group: expected a map");
      const YAML::Node name = g["name"];
      if (!name || !name.IsScalar() || name.Scalar().empty()) {
        return Err(file, g, "group: missing 'name'");
      }
      RuleGroup group;
      group.name = name.Scalar();
      group.file = std::string(file);
      const std::string what = "group '" + group.name + "'";
      if (!names.insert(group.name).second) {
        return Err(file, name, what + ": defined twice in the file");
      }
      STROBE_RETURN_IF_ERROR(CheckKeys(g, file, what, {"name", "interval", "rules"}));
      if (const YAML::Node n = g["interval"]) {
        auto d = PromDurationNode(n, file, what + ": interval");
        if (!d.ok()) return d.status();
        if (*d == 0) return Err(file, n, what + ": interval must be > 0");
        group.interval_ns = *d;
      }
      const YAML::Node rules = g["rules"];
      if (rules && !rules.IsSequence()) return Err(file, rules, what + ": rules: expected a list");
      if (rules) {
        for (const YAML::Node& r : rules) {
          auto rule = base::GuardYaml(r, file, [&] { return ParsePromRule(r, file, group.name); });
          if (rule.ok()) {
            group.rules.push_back(std::move(*rule));
          } else {
            out.errors.push_back(rule.status());
          }
        }
      }
      out.groups.push_back(std::move(group));
      return strobe::OkStatus();
    });
    if (!s.ok()) out.errors.push_back(s);
  }
}

constexpr std::size_t kMaxRuleFileBytes = std::size_t{16} << 20;

bool HasGlobChars(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

}  // namespace

void ParseRuleFileText(std::string_view text, std::string_view file, RuleFiles& out) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    const std::string where = e.mark.is_null()
                                  ? std::string(file)
                                  : std::string(file) + ":" + std::to_string(e.mark.line + 1);
    out.errors.push_back(strobe::InvalidArgument(where + ": not YAML: " + e.msg));
    ++out.file_errors;
    return;
  }
  ParseGroups(root, file, out);
}

RuleFiles LoadRuleFiles(const std::vector<std::string>& patterns, std::string_view base_dir) {
  RuleFiles out;
  std::set<std::string> seen;
  for (const std::string& pattern : patterns) {
    std::string full = pattern;
    if (!full.starts_with("/") && !base_dir.empty()) full = std::string(base_dir) + "/" + full;
    std::vector<std::string> paths;
    if (HasGlobChars(pattern)) {
      glob_t g{};
      const int rc = ::glob(full.c_str(), 0, nullptr, &g);  // unreadable dirs: no match
      if (rc == 0) {
        for (std::size_t i = 0; i < g.gl_pathc; ++i) paths.emplace_back(g.gl_pathv[i]);
      } else if (rc != GLOB_NOMATCH) {
        out.errors.push_back(strobe::InvalidArgument(full + ": cannot expand rule file glob"));
        ++out.file_errors;
      }
      ::globfree(&g);
    } else {
      paths.push_back(full);
    }
    for (const std::string& path : paths) {
      if (!seen.insert(path).second) continue;
      auto text = base::ReadRegularFile(path, kMaxRuleFileBytes);
      if (!text.ok()) {
        out.errors.push_back(text.status());
        ++out.file_errors;
        continue;
      }
      ++out.files;
      ParseRuleFileText(*text, path, out);
    }
  }
  return out;
}

int64_t MaxRangeMs(const std::vector<RuleGroup>& groups) {
  int64_t m = 0;
  for (const RuleGroup& g : groups) {
    for (const AlertRule& r : g.rules) {
      if (r.promql) m = std::max(m, promql::MaxRangeMs(*r.promql));
    }
  }
  return m;
}

std::size_t RuleFiles::RuleCount() const {
  std::size_t n = 0;
  for (const RuleGroup& g : groups) n += g.rules.size();
  return n;
}

AlertConfig AlertConfig::Parse(const YAML::Node& node, std::string_view file,
                               const stream::AggregationRegistry* registry) {
  AlertConfig c;
  if (!node.IsDefined() || node.IsNull()) return c;
  if (!node.IsMap()) {
    c.errors.push_back(Err(file, node, "alerts: expected a map"));
    return c;
  }
  strobe::Status keys = base::GuardYaml(node, file, [&] {
    return CheckKeys(node, file, "alerts",
                     {"evaluation_interval", "generator_url", "history", "staleness", "notifiers",
                      "rules", "rule_files", "history_max_series", "history_max_samples",
                      "query_max_samples", "query_timeout"});
  });
  if (!keys.ok()) c.errors.push_back(keys);
  if (const YAML::Node n = node["evaluation_interval"]) {
    auto d = base::ParseDurationNode(n, file, "alerts.evaluation_interval");
    if (!d.ok() || *d == 0) {
      c.errors.push_back(d.ok() ? Err(file, n, "alerts.evaluation_interval must be > 0")
                                : d.status());
    } else {
      c.evaluation_interval_ns = *d;
    }
  }
  if (const YAML::Node n = node["staleness"]) {
    auto d = base::ParseDurationNode(n, file, "alerts.staleness");
    if (!d.ok() || *d == 0) {
      c.errors.push_back(d.ok() ? Err(file, n, "alerts.staleness must be > 0") : d.status());
    } else {
      c.staleness_ns = *d;
    }
  }
  if (const YAML::Node n = node["generator_url"]) {
    if (n.IsScalar()) {
      c.generator_url = n.Scalar();
    } else {
      c.errors.push_back(Err(file, n, "alerts.generator_url: expected a string"));
    }
  }
  if (const YAML::Node n = node["history"]) {
    int h = 0;
    if (!n.IsScalar() || !YAML::convert<int>::decode(n, h) || h < 1) {
      c.errors.push_back(Err(file, n, "alerts.history must be a positive integer"));
    } else {
      c.history = static_cast<std::size_t>(h);
    }
  }
  const auto positive = [&](const char* key, std::size_t& out) {
    if (const YAML::Node n = node[key]) {
      int64_t v = 0;
      if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v) || v < 1) {
        c.errors.push_back(
            Err(file, n, std::string("alerts.") + key + " must be a positive integer"));
      } else {
        out = static_cast<std::size_t>(v);
      }
    }
  };
  positive("history_max_series", c.history_max_series);
  positive("history_max_samples", c.history_max_samples);
  positive("query_max_samples", c.query_max_samples);
  if (const YAML::Node n = node["query_timeout"]) {
    auto d = base::ParseDurationNode(n, file, "alerts.query_timeout");
    if (!d.ok() || *d == 0) {
      c.errors.push_back(d.ok() ? Err(file, n, "alerts.query_timeout must be > 0") : d.status());
    } else {
      c.query_timeout_ns = *d;
    }
  }
  if (const YAML::Node list = node["rule_files"]) {
    if (!list.IsSequence()) {
      c.errors.push_back(Err(file, list, "alerts.rule_files: expected a list of paths or globs"));
    } else {
      for (const auto& n : list) {
        if (!n.IsScalar() || n.Scalar().empty()) {
          c.errors.push_back(Err(file, n, "alerts.rule_files: expected a path or glob"));
        } else {
          c.rule_files.push_back(n.Scalar());
        }
      }
      const std::size_t slash = file.rfind('/');
      c.rule_files_dir = slash == std::string_view::npos ? "." : std::string(file.substr(0, slash));
      RuleFiles loaded = LoadRuleFiles(c.rule_files, c.rule_files_dir);
      c.groups = std::move(loaded.groups);
      c.rule_file_errors = loaded.errors.size();
      for (auto& e : loaded.errors) c.errors.push_back(std::move(e));
    }
  }
  if (const YAML::Node list = node["notifiers"]) {
    if (!list.IsSequence()) {
      c.errors.push_back(Err(file, list, "alerts.notifiers: expected a list"));
    } else {
      for (const auto& n : list) {
        auto parsed = base::GuardYaml(n, file, [&] { return ParseNotifier(n, file); });
        if (parsed.ok()) {
          c.notifiers.push_back(std::move(*parsed));
        } else {
          c.errors.push_back(parsed.status());
        }
      }
    }
  }
  if (const YAML::Node list = node["rules"]) {
    if (!list.IsSequence()) {
      c.errors.push_back(Err(file, list, "alerts.rules: expected a list"));
    } else {
      for (const auto& n : list) {
        auto parsed = base::GuardYaml(n, file, [&] { return ParseRule(n, file, registry); });
        if (!parsed.ok()) {
          c.errors.push_back(parsed.status());
          continue;
        }
        const bool dup = std::any_of(c.rules.begin(), c.rules.end(), [&](const AlertRule& r) {
          return r.name == parsed->name && r.expr.text == parsed->expr.text;
        });
        if (dup) {
          c.errors.push_back(Err(file, n, "rule '" + parsed->name + "' defined twice"));
          continue;
        }
        c.rules.push_back(std::move(*parsed));
      }
    }
  }
  return c;
}

std::string FormatValue(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

std::string Humanize(double v) {
  if (v == 0 || !std::isfinite(v)) return FormatValue(v);
  static constexpr const char* kBig[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
  static constexpr const char* kSmall[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
  char buf[48];
  if (std::fabs(v) >= 1) {
    const char* prefix = "";
    for (const char* p : kBig) {
      if (std::fabs(v) < 1000) break;
      v /= 1000;
      prefix = p;
    }
    std::snprintf(buf, sizeof(buf), "%.4g%s", v, prefix);
    return buf;
  }
  const char* prefix = "";
  for (const char* p : kSmall) {
    if (std::fabs(v) >= 1) break;
    v *= 1000;
    prefix = p;
  }
  std::snprintf(buf, sizeof(buf), "%.4g%s", v, prefix);
  return buf;
}

namespace {

// Calls fn(variable) for each {{ ... }}; returns false on a syntax error.
template <typename Fn>
bool ForEachVar(std::string_view text, std::string* out, Fn&& fn) {
  std::size_t pos = 0;
  while (true) {
    const std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      if (out != nullptr) out->append(text.substr(pos));
      return true;
    }
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return false;
    if (out != nullptr) out->append(text.substr(pos, open - pos));
    std::string_view var = Trim(text.substr(open + 2, close - open - 2));
    if (!fn(var)) return false;
    pos = close + 2;
  }
}

bool KnownVar(std::string_view v) {
  return v == "$value" || v == "humanize $value" || v == "$threshold" || v == "$expr" ||
         v == "$alert" || v == "$severity" || (v.starts_with("$labels.") && v.size() > 8);
}

}  // namespace

strobe::Status CheckTemplate(std::string_view text) {
  std::string bad;
  const bool ok = ForEachVar(text, nullptr, [&](std::string_view v) {
    if (!KnownVar(v)) {
      bad = std::string(v);
      return false;
    }
    return true;
  });
  if (!bad.empty()) {
    return strobe::InvalidArgument("unknown template variable '" + bad +
                                   "' (use $value, humanize $value, $threshold, $expr, $alert, "
                                   "$severity, $labels.NAME)");
  }
  if (!ok) return strobe::InvalidArgument("unterminated '{{' in template");
  return strobe::OkStatus();
}

std::string ExpandTemplate(std::string_view text, const TemplateContext& ctx) {
  std::string out;
  ForEachVar(text, &out, [&](std::string_view v) {
    if (v == "$value") {
      out += FormatValue(ctx.value);
    } else if (v == "humanize $value") {
      out += Humanize(ctx.value);
    } else if (v == "$threshold") {
      out += ctx.rule != nullptr ? FormatValue(ctx.rule->expr.threshold) : "";
    } else if (v == "$expr") {
      out += ctx.rule != nullptr ? ctx.rule->expr.text : "";
    } else if (v == "$alert") {
      out += ctx.rule != nullptr ? ctx.rule->name : "";
    } else if (v == "$severity") {
      out += ctx.rule != nullptr ? ctx.rule->severity : "";
    } else if (v.starts_with("$labels.")) {
      const std::string_view name = v.substr(8);
      if (ctx.series_labels != nullptr) {
        for (const auto& [k, val] : *ctx.series_labels) {
          if (k == name || stream::PrometheusName(k) == name) out += val;
        }
      }
      if (ctx.rule != nullptr) {
        auto it = ctx.rule->labels.find(std::string(name));
        if (it != ctx.rule->labels.end()) out += it->second;
      }
    } else {
      out += "<unknown " + std::string(v) + ">";
    }
    return true;
  });
  return out;
}

}  // namespace strobed::alert
