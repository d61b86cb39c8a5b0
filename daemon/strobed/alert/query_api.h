#pragma once

// alert::InstantQuery and friends: the logic of strobe's Prometheus-compatible HTTP query API
// (the routes are mounted by the service layer, behind the API's bearer token), answered from
// the alert engine's sample history exactly as Prometheus 2.42's HTTP API answers — what
// Grafana's Prometheus data source needs:
//
//   GET|POST /api/v1/query        query, time, timeout      instant query
//   GET|POST /api/v1/query_range  query, start, end, step, timeout
//   GET|POST /api/v1/series       match[] (one or more), start, end
//   GET|POST /api/v1/labels       match[] (optional), start, end
//   GET      /api/v1/label/<name>/values   match[] (optional), start, end
//
//   {"status":"success","data":{"resultType":"vector","result":[
//      {"metric":{"__name__":"up","job":"x"},"value":[1701970000.123,"1"]}]}}
//   {"status":"success","data":{"resultType":"scalar","result":[1701970000.123,"2"]}}
//   {"status":"success","data":{"resultType":"matrix","result":[
//      {"metric":{...},"values":[[1701970000,"1"],[1701970015,"2"]]}]}}
//   {"status":"success","data":[{"__name__":"up","job":"x"}]}              (series)
//   {"status":"success","data":["__name__","job"]}                         (labels, values)
//   {"status":"error","errorType":"bad_data","error":"1:5: unexpected ..."}        (400)
//   {"status":"error","errorType":"execution","error":"many-to-many matching ..."} (422)
//   {"status":"error","errorType":"execution","error":"query processing would load too many
//      samples into memory in query execution"}                                   (422)
//   {"status":"error","errorType":"timeout","error":"query timed out in query execution"}
//                                                                                  (503)
// Native histogram samples are written as Prometheus writes them: "histogram":[t,{"count":
// "9","sum":"30","buckets":[[0,"1","2","2"],...]}] (boundary rule 0: (lower, upper]; 3: the
// zero bucket [-0, 0]), "histograms":[[t,{...}],...] in a matrix.
//
// Times (`time`, `start`, `end`) are Unix seconds (fractions allowed) or RFC 3339
// ("2026-12-07T17:00:00.5Z"); `time` absent: now; `start`/`end` of series and labels absent:
// all time. `step` and `timeout` are seconds (fractions allowed) or Prometheus durations
// ("15s", "1m30s"). Values are strings in the shortest form that reads back exactly ("+Inf",
// "-Inf", "NaN"); times are seconds with millisecond precision. Input is untrusted: a query
// longer than kMaxQueryBytes, a time that is not finite or not within years 1970..9999, a
// step that is not positive or gives more than kMaxRangePoints points per series (Prometheus'
// 11,000), a matcher that is not a series selector, an invalid label name, and any parse error
// are bad_data. A range-vector result is bad_data for a range query (as Prometheus) and for an
// instant query (the history serves no raw samples; wrap the range in a function such as
// last_over_time). Evaluation is bounded by alerts.query_max_samples and alerts.query_timeout
// (a shorter `timeout` parameter applies): execution (422) and timeout (503) as above, each
// counted in strobe_promql_queries_refused_total.
//
// Thread class: thread-safe (the engine's queries are).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strobed/alert/alert_engine.h"

namespace strobed::alert {

inline constexpr std::size_t kMaxQueryBytes = 8 * 1024;  // under server.max_header_bytes (16 KiB)
inline constexpr int64_t kMaxRangePoints = 11'000;       // per series of a range query

struct QueryReply {
  int status = 200;  // 200, 400 (bad_data), 422 (execution) or 503 (timeout)
  std::string body;  // JSON, as above
};

// Decoded request parameters in order, names repeated as sent (match[]).
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// GET /api/v1/query. `now_ms` is the time used when `time` is absent.
QueryReply InstantQuery(const AlertEngine& engine, const QueryParams& params, int64_t now_ms);
// The same with the two parameters decoded (nullopt when absent).
QueryReply InstantQuery(const AlertEngine& engine, const std::optional<std::string>& query,
                        const std::optional<std::string>& time, int64_t now_ms);
// GET /api/v1/query_range.
QueryReply RangeQuery(const AlertEngine& engine, const QueryParams& params);
// GET /api/v1/series.
QueryReply SeriesQuery(const AlertEngine& engine, const QueryParams& params);
// GET /api/v1/labels.
QueryReply LabelNamesQuery(const AlertEngine& engine, const QueryParams& params);
// GET /api/v1/label/<name>/values; `name` is the decoded path segment.
QueryReply LabelValuesQuery(const AlertEngine& engine, std::string_view name,
                            const QueryParams& params);

// Parses a Prometheus API duration parameter (seconds, fractions allowed, or "1m30s") into
// ms; INVALID_ARGUMENT "cannot parse ... to a valid duration".
strobe::Result<int64_t> ParseQueryDuration(std::string_view text);

// Parses a Prometheus API time parameter into Unix ms; INVALID_ARGUMENT when it is neither
// Unix seconds nor RFC 3339, or out of range.
strobe::Result<int64_t> ParseQueryTime(std::string_view text);

// A sample value as Prometheus' API writes it (Go's FormatFloat(v, 'f', -1, 64)).
std::string PromValueText(double v);

}  // namespace strobed::alert
