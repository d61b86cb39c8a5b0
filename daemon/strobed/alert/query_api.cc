#include "strobed/alert/query_api.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

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

QueryReply InstantQuery(const AlertEngine& engine, const std::optional<std::string>& query,
                        const std::optional<std::string>& time, int64_t now_ms) {
  if (!query.has_value() || query->empty()) {
    return Error(400, "bad_data", "invalid parameter \"query\": missing query");
  }
  if (query->size() > kMaxQueryBytes) {
    return Error(
        400, "bad_data",
        "invalid parameter \"query\": longer than " + std::to_string(kMaxQueryBytes) + " bytes");
  }
  int64_t t_ms = now_ms;
  if (time.has_value()) {
    auto t = ParseQueryTime(*time);
    if (!t.ok())
      return Error(400, "bad_data", "invalid parameter \"time\": " + t.status().message());
    t_ms = *t;
  }
  auto expr = promql::Parse(*query);
  if (!expr.ok()) {
    return Error(400, "bad_data", "invalid parameter \"query\": " + expr.status().message());
  }
  if (promql::TypeOf(*expr) == promql::ValueType::kMatrix) {
    return Error(400, "bad_data",
                 "invalid parameter \"query\": range vector results are not supported by "
                 "strobe's history (wrap the range in a function such as rate or "
                 "last_over_time)");
  }
  auto value = engine.Query(*expr, t_ms);
  if (!value.ok()) return Error(422, "execution", value.status().message());
  std::string out = "{\"status\":\"success\",\"data\":{\"resultType\":";
  if (value->kind == promql::Value::Kind::kScalar) {
    out += "\"scalar\",\"result\":" + SampleJson(t_ms, value->scalar);
  } else {
    out += "\"vector\",\"result\":[";
    bool first = true;
    for (const promql::Sample& s : value->vector) {
      if (!first) out += ",";
      first = false;
      out += "{\"metric\":{";
      bool first_label = true;
      for (const auto& l : s.labels) {
        if (!first_label) out += ",";
        first_label = false;
        out += JsonQuote(l.name) + ":" + JsonQuote(l.value);
      }
      out += "},\"value\":" + SampleJson(t_ms, s.value) + "}";
    }
    out += "]";
  }
  out += "}}";
  return {200, std::move(out)};
}

}  // namespace strobed::alert
