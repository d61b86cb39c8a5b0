#include "strobed/exporters/prometheus/naming.h"

#include <array>
#include <utility>

namespace strobed::exporters::prometheus {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The Collector's translator tables (pkg/translator/prometheus).
constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kUnits = {{
    {"d", "days"},          {"h", "hours"},         {"min", "minutes"},    {"s", "seconds"},
    {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}, {"By", "bytes"},
    {"KiBy", "kibibytes"},  {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"}, {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"},   {"MBy", "megabytes"},   {"GBy", "gigabytes"},  {"TBy", "terabytes"},
    {"m", "meters"},        {"V", "volts"},         {"A", "amperes"},      {"J", "joules"},
    {"W", "watts"},         {"g", "grams"},         {"Cel", "celsius"},    {"Hz", "hertz"},
}};
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kPerUnits = {{
    {"s", "second"},
    {"m", "minute"},
    {"h", "hour"},
    {"d", "day"},
    {"w", "week"},
    {"mo", "month"},
    {"y", "year"},
}};

std::string_view Lookup(std::string_view unit, bool per) {
  if (per) {
    for (const auto& [k, v] : kPerUnits) {
      if (k == unit) return v;
    }
  } else {
    if (unit == "%") return "percent";
    for (const auto& [k, v] : kUnits) {
      if (k == unit) return v;
    }
  }
  return unit;
}

// Characters outside [a-zA-Z0-9_] (and ':' when allowed) become '_', runs of '_' collapse.
std::string Clean(std::string_view in, bool allow_colon) {
  std::string out;
  out.reserve(in.size());
  for (const char c : in) {
    const bool ok = IsAlpha(c) || IsDigit(c) || c == '_' || (allow_colon && c == ':');
    const char r = ok ? c : '_';
    if (r == '_' && !out.empty() && out.back() == '_') continue;
    out.push_back(r);
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

std::string SanitizeMetricName(std::string_view name) {
  std::string out = Clean(name, true);
  if (out.empty() || IsDigit(out.front())) out.insert(out.begin(), '_');
  return out;
}

std::string SanitizeLabelName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 4);
  for (const char c : name) out.push_back(IsAlpha(c) || IsDigit(c) ? c : '_');
  if (out.empty()) return "key_";
  if (IsDigit(out.front())) return "key_" + out;
  if (out.starts_with("__")) return "key" + out;
  return out;
}

std::string PrometheusUnit(std::string_view otel_unit, bool gauge) {
  // Drop {annotations}.
  std::string u;
  for (size_t i = 0; i < otel_unit.size(); ++i) {
    if (otel_unit[i] == '{') {
      const size_t end = otel_unit.find('}', i);
      if (end == std::string_view::npos) break;
      i = end;
      continue;
    }
    u.push_back(otel_unit[i]);
  }
  std::string_view unit = Trim(u);
  if (unit.empty()) return {};
  if (unit == "1") return gauge ? "ratio" : "";
  std::string out;
  const size_t slash = unit.find('/');
  if (slash == std::string_view::npos) {
    out = std::string(Lookup(unit, false));
  } else {
    const std::string_view main = Trim(unit.substr(0, slash));
    const std::string_view per = Trim(unit.substr(slash + 1));
    if (!main.empty()) out = std::string(Lookup(main, false));
    if (!per.empty()) {
      if (!out.empty()) out += "_";
      out += "per_";
      out += Lookup(per, true);
    }
  }
  out = Clean(out, false);
  while (!out.empty() && out.front() == '_') out.erase(out.begin());
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

MetricName BuildMetricName(std::string_view otel_name, std::string_view otel_unit, NameKind kind,
                           std::string_view name_space, bool add_suffixes) {
  std::string raw;
  if (!name_space.empty()) {
    raw.append(name_space);
    raw.push_back('_');
  }
  raw.append(otel_name);
  MetricName out;
  out.name = SanitizeMetricName(raw);
  const bool counter = kind == NameKind::kCounter;
  if (counter) {
    while (out.name.size() > 6 && out.name.ends_with("_total"))
      out.name.resize(out.name.size() - 6);
  }
  const std::string unit = PrometheusUnit(otel_unit, kind == NameKind::kGauge);
  if (!unit.empty()) {
    const std::string suffix = "_" + unit;
    if (out.name.ends_with(suffix) && out.name.size() > suffix.size()) {
      out.unit = unit;
    } else if (add_suffixes) {
      if (out.name.back() == '_') out.name.pop_back();
      out.name += suffix;
      out.unit = unit;
    }
  }
  return out;
}

}  // namespace strobed::exporters::prometheus
