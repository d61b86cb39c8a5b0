#pragma once

// stream::Series: the latest value of one window aggregate (or anomaly score) of one key —
// what alert rules evaluate, what /metrics and the JSON API show.
//
//   name     the aggregate: "count", "p99", "error_rate", "anomaly_score", ..., or
//            kCepMatches for a complex-event rule's match counter
//   source   the window's match name ("http.server.request.duration"), or its window name when the
//            window matches by other means; the rule name for kCepMatches
//   window   the window (or anomaly detector, or CEP rule) name
//   labels   group-by attributes of the key, in configuration order
//
// Thread class: value type.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strobed::stream {

// The series of a CEP rule's matches per key (the rule's group_by / same_key values): value =
// matches since the key first matched (a counter; never forgotten by series_ttl), updated_ns
// = wall time of the latest match, window_end_ns = its event time. Alert rules select it as
// `cep_matches(<rule>) > 0`; /metrics shows it as strobe_stream_cep_matches_total.
inline constexpr std::string_view kCepMatches = "cep_matches";

struct Series {
  std::string name;
  std::string source;
  std::string window;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
  uint64_t window_end_ns = 0;  // event time of the window end that produced the value
  uint64_t updated_ns = 0;     // wall time of the update
};

// A label name in Prometheus form: characters outside [a-zA-Z0-9_] become '_'.
std::string PrometheusName(std::string_view name);

}  // namespace strobed::stream
