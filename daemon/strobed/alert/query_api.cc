#include "strobed/alert/query_api.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <set>

#include "strobed/base/json.h"

namespace strobed::alert {
namespace {

using base::JsonQuote;

// Unix seconds of year 10000: later times (and negative ones) are refused.
constexpr double kMaxUnixSeconds = 253402300800.0;

QueryReply Error(int status, std::string_view type, std::string_view message) {
  return {status, "{\"status\":\"error\",\"errorType\":" + JsonQuote(type) +
                      ",\"error\":" + JsonQuote(message) + "}"};
}

QueryReply BadData(std::string_view message) { return Error(400, "bad_data", message); }

// An evaluation error as Prometheus' API reports it: a timeout is 503 "timeout", everything
// else (too many samples included) 422 "execution".
QueryReply EvalError(const strobe::Status& status) {
  if (status.code() == strobe::StatusCode::kDeadlineExceeded) {
    return Error(503, "timeout", status.message());
  }
  return Error(422, "execution", status.message());
}

// The first value of parameter `name`, nullopt when absent.
std::optional<std::string> Param(const QueryParams& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return std::nullopt;
}

// "[1701970000.123,\"1.5\"]"
std::string SampleJson(int64_t t_ms, double v) {
  char t[48];
  const int64_t secs = t_ms / 1000;
  const int64_t frac = t_ms % 1000;
  if (frac == 0) {
    std::snprintf(t, sizeof(t), "%lld", static_cast<long long>(secs));
  } else {
    // As Prometheus' marshalTimestamp: always three fraction digits when there is a fraction.
    std::snprintf(t, sizeof(t), "%lld.%03lld", static_cast<long long>(secs),
                  static_cast<long long>(frac));
  }
  return std::string("[") + t + "," + JsonQuote(PromValueText(v)) + "]";
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int ToInt(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

std::string PromValueText(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];  // the longest fixed form of a double is 1 + 309 + 1 + 17 digits
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

strobe::Result<int64_t> ParseQueryTime(std::string_view text) {
  const auto bad = [&] {
    return strobe::InvalidArgument("cannot parse \"" + std::string(text.substr(0, 64)) +
                                   "\" to a valid timestamp");
  };
  if (text.empty() || text.size() > 64) return bad();
  double secs = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
  if (ec == std::errc() && ptr == text.data() + text.size()) {
    if (!std::isfinite(secs) || secs < 0 || secs >= kMaxUnixSeconds) return bad();
    return static_cast<int64_t>(std::llround(secs * 1000.0));
  }
  // RFC 3339: YYYY-MM-DDTHH:MM:SS[.fff...](Z|±HH:MM)
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
    return bad();
  }
  for (std::size_t i : {0u, 5u, 8u, 11u, 14u, 17u}) {
    if (!AllDigits(text.substr(i, i == 0 ? 4 : 2))) return bad();
  }
  std::tm tm{};
  tm.tm_year = ToInt(text.substr(0, 4)) - 1900;
  tm.tm_mon = ToInt(text.substr(5, 2)) - 1;
  tm.tm_mday = ToInt(text.substr(8, 2));
  tm.tm_hour = ToInt(text.substr(11, 2));
  tm.tm_min = ToInt(text.substr(14, 2));
  tm.tm_sec = ToInt(text.substr(17, 2));
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60 || tm.tm_year < 70) {
    return bad();
  }
  std::size_t i = 19;
  int64_t ms = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    const std::size_t start = i;
    int64_t scale = 100;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ms += (text[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return bad();
  }
  int64_t offset_s = 0;
  const std::string_view zone = text.substr(i);
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' &&
             AllDigits(zone.substr(1, 2)) && AllDigits(zone.substr(4, 2))) {
    offset_s = (ToInt(zone.substr(1, 2)) * 3600 + ToInt(zone.substr(4, 2)) * 60) *
               (zone[0] == '+' ? 1 : -1);
  } else {
    return bad();
  }
  const int64_t secs_utc = static_cast<int64_t>(timegm(&tm)) - offset_s;
  if (secs_utc < 0 || static_cast<double>(secs_utc) >= kMaxUnixSeconds) return bad();
  return secs_utc * 1000 + ms;
}

namespace {

// Unix ms of "time"-like parameter `name`, `fallback` when absent.
strobe::Result<int64_t> TimeParam(const QueryParams& params, std::string_view name,
                                  int64_t fallback) {
  const std::optional<std::string> v = Param(params, name);
  if (!v.has_value()) return fallback;
  auto t = ParseQueryTime(*v);
  if (!t.ok()) {
    return strobe::InvalidArgument("invalid parameter \"" + std::string(name) +
                                   "\": " + t.status().message());
  }
  return *t;
}

// The `timeout` parameter in ms (0 when absent).
strobe::Result<int64_t> TimeoutParam(const QueryParams& params) {
  const std::optional<std::string> v = Param(params, "timeout");
  if (!v.has_value()) return int64_t{0};
  auto d = ParseQueryDuration(*v);
  if (!d.ok()) {
    return strobe::InvalidArgument("invalid parameter \"timeout\": " + d.status().message());
  }
  return *d;
}

// The parsed `query` parameter.
strobe::Result<promql::Expr> QueryParam(const QueryParams& params) {
  const std::optional<std::string> query = Param(params, "query");
  if (!query.has_value() || query->empty()) {
    return strobe::InvalidArgument("invalid parameter \"query\": missing query");
  }
  if (query->size() > kMaxQueryBytes) {
    return strobe::InvalidArgument("invalid parameter \"query\": longer than " +
                                   std::to_string(kMaxQueryBytes) + " bytes");
  }
  auto expr = promql::Parse(*query);
  if (!expr.ok()) {
    return strobe::InvalidArgument("invalid parameter \"query\": " + expr.status().message());
  }
  return expr;
}

// The match[] selectors (Prometheus' parser.ParseMetricSelector: a vector selector).
strobe::Result<std::vector<std::vector<promql::Matcher>>> MatchParams(const QueryParams& params) {
  std::vector<std::vector<promql::Matcher>> out;
  for (const auto& [k, v] : params) {
    if (k != "match[]") continue;
    if (v.size() > kMaxQueryBytes) {
      return strobe::InvalidArgument("invalid parameter \"match[]\": longer than " +
                                     std::to_string(kMaxQueryBytes) + " bytes");
    }
    auto expr = promql::Parse(v);
    if (!expr.ok()) {
      return strobe::InvalidArgument("invalid parameter \"match[]\": " + expr.status().message());
    }
    if (expr->kind != promql::ExprKind::kVectorSelector || expr->offset_ms != 0) {
      return strobe::InvalidArgument(
          "invalid parameter \"match[]\": expected a series selector "
          "such as up{job=\"x\"}, got \"" +
          v.substr(0, 64) + "\"");
    }
    out.push_back(std::move(expr->matchers));
  }
  return out;
}

// The "metric" object of a label set.
void AppendMetric(const promql::Labels& labels, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const auto& l : labels) {
    if (!first) out->push_back(',');
    first = false;
    *out += JsonQuote(l.name) + ":" + JsonQuote(l.value);
  }
  out->push_back('}');
}

// [t, {"count":..,"sum":..,"buckets":[[rule,"lower","upper","count"],...]}] as Prometheus'
// marshalHistogram writes it (empty buckets left out).
std::string HistogramJson(int64_t t_ms, const promql::NativeHistogram& h) {
  std::string sample = SampleJson(t_ms, 0);
  std::string out = sample.substr(0, sample.find(',') + 1);  // "[t,"
  out += "{\"count\":" + JsonQuote(PromValueText(h.count)) +
         ",\"sum\":" + JsonQuote(PromValueText(h.sum)) + ",\"buckets\":[";
  bool first = true;
  const auto bucket = [&](int rule, double lower, double upper, double count) {
    if (count == 0) return;
    if (!first) out += ",";
    first = false;
    out += "[" + std::to_string(rule) + "," + JsonQuote(PromValueText(lower)) + "," +
           JsonQuote(PromValueText(upper)) + "," + JsonQuote(PromValueText(count)) + "]";
  };
  bucket(3, -0.0, 0.0, h.zero_count);
  for (size_t k = 0; k < h.counts.size(); ++k) {
    const int64_t index = int64_t{h.offset} + static_cast<int64_t>(k);
    bucket(0, h.Lower(index), h.Upper(index), h.counts[k]);
  }
  out += "]}]";
  return out;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// start/end of the metadata endpoints: all time by default.
constexpr int64_t kMinTimeMs = std::numeric_limits<int64_t>::min() / 2;
constexpr int64_t kMaxTimeMs = std::numeric_limits<int64_t>::max() / 2;

// The series the metadata endpoints answer from; an error reply in *error otherwise.
std::optional<std::vector<promql::Labels>> MetadataSeries(const AlertEngine& engine,
                                                          const QueryParams& params,
                                                          bool need_match, QueryReply* error) {
  auto start = TimeParam(params, "start", kMinTimeMs);
  auto end = start.ok() ? TimeParam(params, "end", kMaxTimeMs) : start;
  if (!start.ok() || !end.ok()) {
    *error = BadData((start.ok() ? end : start).status().message());
    return std::nullopt;
  }
  auto matches = MatchParams(params);
  if (!matches.ok()) {
    *error = BadData(matches.status().message());
    return std::nullopt;
  }
  if (need_match && matches->empty()) {
    *error = BadData("no match[] parameter provided");
    return std::nullopt;
  }
  return engine.MatchSeries(*matches, *start, *end);
}

std::string StringList(const std::vector<std::string>& values) {
  std::string out = "{\"status\":\"success\",\"data\":[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ",";
    out += JsonQuote(values[i]);
  }
  return out + "]}";
}

}  // namespace

strobe::Result<int64_t> ParseQueryDuration(std::string_view text) {
  const auto bad = [&] {
    return strobe::InvalidArgument("cannot parse \"" + std::string(text.substr(0, 64)) +
                                   "\" to a valid duration");
  };
  if (text.empty() || text.size() > 64) return bad();
  double secs = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
  if (ec == std::errc() && ptr == text.data() + text.size()) {
    if (!std::isfinite(secs) || std::fabs(secs) > 9.2e15) return bad();
    return static_cast<int64_t>(std::llround(secs * 1000.0));
  }
  auto d = promql::ParseDurationMs(text);
  if (!d.ok()) return bad();
  return *d;
}

QueryReply InstantQuery(const AlertEngine& engine, const std::optional<std::string>& query,
                        const std::optional<std::string>& time, int64_t now_ms) {
  QueryParams params;
  if (query.has_value()) params.emplace_back("query", *query);
  if (time.has_value()) params.emplace_back("time", *time);
  return InstantQuery(engine, params, now_ms);
}

QueryReply InstantQuery(const AlertEngine& engine, const QueryParams& params, int64_t now_ms) {
  auto expr = QueryParam(params);
  if (!expr.ok()) return BadData(expr.status().message());
  auto t = TimeParam(params, "time", now_ms);
  if (!t.ok()) return BadData(t.status().message());
  auto timeout = TimeoutParam(params);
  if (!timeout.ok()) return BadData(timeout.status().message());
  const int64_t t_ms = *t;
  if (promql::TypeOf(*expr) == promql::ValueType::kMatrix) {
    return BadData(
        "invalid parameter \"query\": range vector results are not supported by strobe's "
        "history (wrap the range in a function such as rate or last_over_time)");
  }
  auto value = engine.Query(*expr, t_ms, *timeout);
  if (!value.ok()) return EvalError(value.status());
  std::string out = "{\"status\":\"success\",\"data\":{\"resultType\":";
  if (value->kind == promql::Value::Kind::kScalar) {
    out += "\"scalar\",\"result\":" + SampleJson(t_ms, value->scalar);
  } else {
    out += "\"vector\",\"result\":[";
    bool first = true;
    for (const promql::Sample& s : value->vector) {
      if (!first) out += ",";
      first = false;
      out += "{\"metric\":";
      AppendMetric(s.labels, &out);
      if (s.histogram != nullptr) {
        out += ",\"histogram\":" + HistogramJson(t_ms, *s.histogram) + "}";
      } else {
        out += ",\"value\":" + SampleJson(t_ms, s.value) + "}";
      }
    }
    out += "]";
  }
  out += "}}";
  return {200, std::move(out)};
}

QueryReply RangeQuery(const AlertEngine& engine, const QueryParams& params) {
  auto start = TimeParam(params, "start", -1);
  if (!start.ok()) return BadData(start.status().message());
  auto end = TimeParam(params, "end", -1);
  if (!end.ok()) return BadData(end.status().message());
  if (*start < 0)
    return BadData("invalid parameter \"start\": cannot parse \"\" to a valid timestamp");
  if (*end < 0) return BadData("invalid parameter \"end\": cannot parse \"\" to a valid timestamp");
  if (*end < *start) {
    return BadData("invalid parameter \"end\": end timestamp must not be before start time");
  }
  const std::optional<std::string> step_text = Param(params, "step");
  auto step = ParseQueryDuration(step_text.value_or(""));
  if (!step.ok()) return BadData("invalid parameter \"step\": " + step.status().message());
  if (*step <= 0) {
    return BadData(
        "invalid parameter \"step\": zero or negative query resolution step widths are not "
        "accepted. Try a positive integer");
  }
  if ((*end - *start) / *step > kMaxRangePoints) {
    return BadData(
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
        "resolution (?step=XX)");
  }
  auto timeout = TimeoutParam(params);
  if (!timeout.ok()) return BadData(timeout.status().message());
  auto expr = QueryParam(params);
  if (!expr.ok()) return BadData(expr.status().message());
  if (promql::TypeOf(*expr) == promql::ValueType::kMatrix) {
    return BadData(
        "invalid parameter \"query\": invalid expression type \"range vector\" for range query, "
        "must be Scalar or instant Vector");
  }
  auto result = engine.QueryRange(*expr, *start, *end, *step, *timeout);
  if (!result.ok()) return EvalError(result.status());
  std::string out = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[";
  bool first = true;
  for (const promql::RangeSeries& s : *result) {
    if (!first) out += ",";
    first = false;
    out += "{\"metric\":";
    AppendMetric(s.labels, &out);
    if (!s.points.empty()) {
      out += ",\"values\":[";
      for (size_t i = 0; i < s.points.size(); ++i) {
        if (i > 0) out += ",";
        out += SampleJson(s.points[i].t_ms, s.points[i].value);
      }
      out += "]";
    }
    if (!s.histograms.empty()) {
      out += ",\"histograms\":[";
      for (size_t i = 0; i < s.histograms.size(); ++i) {
        if (i > 0) out += ",";
        out += HistogramJson(s.histograms[i].first, *s.histograms[i].second);
      }
      out += "]";
    }
    out += "}";
  }
  out += "]}}";
  return {200, std::move(out)};
}

QueryReply SeriesQuery(const AlertEngine& engine, const QueryParams& params) {
  QueryReply error;
  auto series = MetadataSeries(engine, params, /*need_match=*/true, &error);
  if (!series.has_value()) return error;
  std::string out = "{\"status\":\"success\",\"data\":[";
  for (size_t i = 0; i < series->size(); ++i) {
    if (i > 0) out += ",";
    AppendMetric((*series)[i], &out);
  }
  out += "]}";
  return {200, std::move(out)};
}

QueryReply LabelNamesQuery(const AlertEngine& engine, const QueryParams& params) {
  QueryReply error;
  auto series = MetadataSeries(engine, params, /*need_match=*/false, &error);
  if (!series.has_value()) return error;
  std::set<std::string> names;
  for (const promql::Labels& labels : *series) {
    for (const auto& l : labels) names.insert(l.name);
  }
  return {200, StringList({names.begin(), names.end()})};
}

QueryReply LabelValuesQuery(const AlertEngine& engine, std::string_view name,
                            const QueryParams& params) {
  if (!ValidLabelName(name)) {
    return BadData("invalid label name: \"" + std::string(name.substr(0, 64)) + "\"");
  }
  QueryReply error;
  auto series = MetadataSeries(engine, params, /*need_match=*/false, &error);
  if (!series.has_value()) return error;
  std::set<std::string> values;
  for (const promql::Labels& labels : *series) {
    const std::string_view v = promql::LabelValue(labels, name);
    if (!v.empty()) values.emplace(v);
  }
  return {200, StringList({values.begin(), values.end()})};
}

}  // namespace strobed::alert
