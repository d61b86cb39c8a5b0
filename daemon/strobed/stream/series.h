#pragma once

// stream::Series: the latest value of one window aggregate (or anomaly score) of one key —
// what alert rules evaluate, what /metrics and the JSON API show.
//
//   name     the aggregate: "count", "p99", "error_rate", "anomaly_score", ...
//   source   the window's match name ("http.server.duration"), or its window name when the
//            window matches by other means
//   window   the window (or anomaly detector) name
//   labels   group-by attributes of the key, in configuration order
//
// Thread class: value type.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace strobed::stream {

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
