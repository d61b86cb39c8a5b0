#pragma once

// Names and labels: validation by the Prometheus rules and text escaping.
//
//   metric names  [a-zA-Z_:][a-zA-Z0-9_:]*
//   label names   [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved), and not "le" on
//                 histograms nor "quantile" on summaries
//   label values  any valid UTF-8
//
// Validation happens once, at registration (names) or series creation (values); the hot
// path never sees strings.
//
// Thread class: pure functions; thread-safe.

#include <string>
#include <string_view>

#include "strobe/base/status.h"

namespace strobe::metrics {

// One label as given to Family::With() and exemplar writes: {"method", "GET"}.
struct LabelPair {
  std::string_view name;
  std::string_view value;
};

bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);
bool IsValidUtf8(std::string_view text);

// OK, or INVALID_ARGUMENT naming the offending metric and why.
Status ValidateMetricName(std::string_view name);
Status ValidateLabelName(std::string_view metric, std::string_view label);

// Appends `value` escaped for a label value in both text formats: \ → \\, " → \", LF → \n.
void AppendEscapedLabelValue(std::string* out, std::string_view value);
// Appends HELP text escaped: \ → \\, LF → \n, and " → \" when `escape_quotes` (OpenMetrics).
void AppendEscapedHelp(std::string* out, std::string_view help, bool escape_quotes);

}  // namespace strobe::metrics
