#pragma once

// Prometheus names for OpenTelemetry metrics, after the OpenTelemetry specification
// "Prometheus and OpenMetrics Compatibility" (and the Collector's prometheus translator):
//
//   metric names   characters outside [a-zA-Z0-9_:] become `_`, runs of `_` collapse to one,
//                  a leading digit gets a `_` prefix; an optional namespace is prepended
//                  (`<namespace>_<name>`).
//   units          OTel UCUM units become Prometheus words ("ms" → "milliseconds", "By" →
//                  "bytes", "By/s" → "bytes_per_second", "%" → "percent"); annotations in
//                  braces ("{requests}") are dropped; "1" is dropped, or becomes "ratio" on
//                  gauges. The unit is appended as `_<unit>` unless the name already ends with
//                  it, and is then the OpenMetrics UNIT of the family.
//   counters       monotonic sums: a trailing `_total` is removed from the base name; the
//                  exposition always writes samples as `<base>_total`.
//   label names    characters outside [a-zA-Z0-9_] become `_`; a leading digit gets a `key_`
//                  prefix and a leading `__` (reserved by Prometheus) a `key` prefix.
//
// Thread class: pure functions; thread-safe.

#include <string>
#include <string_view>

namespace strobed::exporters::prometheus {

std::string SanitizeMetricName(std::string_view name);
std::string SanitizeLabelName(std::string_view name);

// The Prometheus unit word for an OTel unit ("" when none). `gauge` turns "1" into "ratio".
std::string PrometheusUnit(std::string_view otel_unit, bool gauge);

struct MetricName {
  std::string name;  // base name (no `_total` for counters)
  std::string unit;  // OpenMetrics unit; empty, or `name` ends with `_<unit>`
};

enum class NameKind : uint8_t { kGauge, kCounter, kOther };

// The exposed family name of an OTLP metric. `add_suffixes` appends the unit (spec default);
// without it the unit is still reported when the name happens to end with it.
MetricName BuildMetricName(std::string_view otel_name, std::string_view otel_unit, NameKind kind,
                           std::string_view name_space, bool add_suffixes);

}  // namespace strobed::exporters::prometheus
