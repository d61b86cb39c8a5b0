#include "strobed/alert/rules.h"

#include <algorithm>
#include <cstdio>

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

}  // namespace

AlertConfig AlertConfig::Parse(const YAML::Node& node, std::string_view file,
                               const stream::AggregationRegistry* registry) {
  AlertConfig c;
  if (!node.IsDefined() || node.IsNull()) return c;
  if (!node.IsMap()) {
    c.errors.push_back(Err(file, node, "alerts: expected a map"));
    return c;
  }
  strobe::Status keys = base::GuardYaml(node, file, [&] {
    return CheckKeys(
        node, file, "alerts",
        {"evaluation_interval", "generator_url", "history", "staleness", "notifiers", "rules"});
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
  return v == "$value" || v == "$threshold" || v == "$expr" || v == "$alert" || v == "$severity" ||
         (v.starts_with("$labels.") && v.size() > 8);
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
                                   "' (use $value, $threshold, $expr, $alert, $severity, "
                                   "$labels.NAME)");
  }
  if (!ok) return strobe::InvalidArgument("unterminated '{{' in template");
  return strobe::OkStatus();
}

std::string ExpandTemplate(std::string_view text, const TemplateContext& ctx) {
  std::string out;
  ForEachVar(text, &out, [&](std::string_view v) {
    if (v == "$value") {
      out += FormatValue(ctx.value);
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
