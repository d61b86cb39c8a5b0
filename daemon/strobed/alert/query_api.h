#pragma once

// alert::InstantQuery: the logic of strobe's Prometheus-compatible instant query endpoint,
// `GET /api/v1/query?query=<PromQL>&time=<t>` (the route is mounted by the service layer, with
// the API's bearer token), answered from the alert engine's sample history exactly as
// Prometheus' HTTP API answers:
//
//   {"status":"success","data":{"resultType":"vector","result":[
//      {"metric":{"__name__":"up","job":"x"},"value":[1701970000.123,"1"]}]}}
//   {"status":"success","data":{"resultType":"scalar","result":[1701970000.123,"2"]}}
//   {"status":"error","errorType":"bad_data","error":"1:5: unexpected ..."}        (400)
//   {"status":"error","errorType":"execution","error":"many-to-many matching ..."} (422)
//
// `time` is Unix seconds (fractions allowed) or RFC 3339 ("2026-12-07T17:00:00.5Z"); absent:
// now. Values are strings in the shortest form that reads back exactly ("+Inf", "-Inf",
// "NaN"); times are seconds with millisecond precision. Input is untrusted: a query longer
// than kMaxQueryBytes, a time that is not finite or not within years 1970..9999, and any parse
// error are bad_data. Range-vector results (matrix) are refused as bad_data: the history
// serves instant queries only.
//
// Thread class: thread-safe (the engine's Query is).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "strobed/alert/alert_engine.h"

namespace strobed::alert {

inline constexpr std::size_t kMaxQueryBytes = 8 * 1024;  // under server.max_header_bytes (16 KiB)

struct QueryReply {
  int status = 200;  // 200, 400 (bad_data) or 422 (execution)
  std::string body;  // JSON, as above
};

// Answers one instant query. `query` and `time` are the decoded parameters (nullopt when
// absent); `now_ms` is the time used when `time` is absent.
QueryReply InstantQuery(const AlertEngine& engine, const std::optional<std::string>& query,
                        const std::optional<std::string>& time, int64_t now_ms);

// Parses a Prometheus API time parameter into Unix ms; INVALID_ARGUMENT when it is neither
// Unix seconds nor RFC 3339, or out of range.
strobe::Result<int64_t> ParseQueryTime(std::string_view text);

// A sample value as Prometheus' API writes it (Go's FormatFloat(v, 'f', -1, 64)).
std::string PromValueText(double v);

}  // namespace strobed::alert
