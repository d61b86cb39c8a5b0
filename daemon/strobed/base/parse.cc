#include "strobed/base/parse.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <span>

namespace strobed::base {

namespace {

struct Unit {
  std::string_view name;  // lower case
  uint64_t scale;
};

// Nanoseconds per unit; "" (no unit) is milliseconds.
constexpr Unit kDurationUnits[] = {
    {"", 1'000'000},       {"ns", 1},
    {"us", 1'000},         {"\xC2\xB5s", 1'000},  // µs (U+00B5 MICRO SIGN)
    {"ms", 1'000'000},     {"s", 1'000'000'000},
    {"m", 60'000'000'000}, {"h", 3'600'000'000'000},
};

// Bytes per unit; "" (no unit) is bytes.
constexpr Unit kSizeUnits[] = {
    {"", 1},
    {"b", 1},
    {"kb", 1'000},
    {"mb", 1'000'000},
    {"gb", 1'000'000'000},
    {"tb", 1'000'000'000'000},
    {"kib", uint64_t{1} << 10},
    {"mib", uint64_t{1} << 20},
    {"gib", uint64_t{1} << 30},
    {"tib", uint64_t{1} << 40},
    {"k", uint64_t{1} << 10},
    {"m", uint64_t{1} << 20},
    {"g", uint64_t{1} << 30},
    {"t", uint64_t{1} << 40},
};

struct Decimal {
  uint64_t whole = 0;
  long double fraction = 0;  // in [0, 1)
  std::string_view unit;     // what follows the number and any spaces
};

// Reads "DIGITS[.DIGITS]" then optional spaces and the rest as the unit. False when there is
// no digit or the whole part overflows uint64.
bool ReadDecimal(std::string_view t, Decimal& out) {
  std::size_t i = 0;
  bool digits = false;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])) != 0) {
    const auto d = static_cast<uint64_t>(t[i] - '0');
    if (out.whole > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    out.whole = out.whole * 10 + d;
    digits = true;
    ++i;
  }
  if (i < t.size() && t[i] == '.') {
    ++i;
    long double place = 0.1L;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])) != 0) {
      out.fraction += place * static_cast<long double>(t[i] - '0');
      place /= 10;
      digits = true;
      ++i;
    }
  }
  if (!digits) return false;
  while (i < t.size() && t[i] == ' ') ++i;
  out.unit = t.substr(i);
  return true;
}

// whole * scale + round(fraction * scale), or false on overflow past `limit`.
bool Scale(const Decimal& d, uint64_t scale, uint64_t limit, uint64_t& out) {
  if (d.whole != 0 && d.whole > limit / scale) return false;
  const uint64_t base = d.whole * scale;
  const auto extra =
      static_cast<uint64_t>(std::llround(d.fraction * static_cast<long double>(scale)));
  if (extra > limit - base) return false;
  out = base + extra;
  return true;
}

const Unit* FindUnit(std::span<const Unit> units, std::string_view unit) {
  const std::string lower = AsciiLower(unit);
  for (const Unit& u : units) {
    if (u.name == lower) return &u;
  }
  return nullptr;
}

}  // namespace

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.remove_suffix(1);
  }
  return text;
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

strobe::Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  const std::string_view t = TrimSpace(text);
  Decimal d;
  if (!ReadDecimal(t, d)) {
    return strobe::InvalidArgument("'" + std::string(t) +
                                   "' is not a duration (e.g. 500ms, 2s, 1.5m, 1h)");
  }
  const Unit* unit = FindUnit(kDurationUnits, d.unit);
  if (unit == nullptr) {
    return strobe::InvalidArgument("'" + std::string(t) + "': unknown duration unit '" +
                                   std::string(d.unit) + "' (ns, us, ms, s, m, h)");
  }
  uint64_t ns = 0;
  if (!Scale(d, unit->scale, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), ns)) {
    return strobe::InvalidArgument("'" + std::string(t) + "' is too long (at most 292 years)");
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(ns));
}

strobe::Result<uint64_t> ParseBytes(std::string_view text) {
  const std::string_view t = TrimSpace(text);
  Decimal d;
  if (!ReadDecimal(t, d)) {
    if (!t.empty() && std::isdigit(static_cast<unsigned char>(t.front())) != 0) {
      return strobe::InvalidArgument("'" + std::string(t) + "' is too large");
    }
    return strobe::InvalidArgument("'" + std::string(t) +
                                   "' is not a size (e.g. 4096, 64KiB, 512MiB, 1GB)");
  }
  const Unit* unit = FindUnit(kSizeUnits, d.unit);
  if (unit == nullptr) {
    return strobe::InvalidArgument("'" + std::string(t) + "': unknown size unit '" +
                                   std::string(d.unit) +
                                   "' (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)");
  }
  uint64_t bytes = 0;
  if (!Scale(d, unit->scale, std::numeric_limits<uint64_t>::max(), bytes)) {
    return strobe::InvalidArgument("'" + std::string(t) + "' is too large");
  }
  return bytes;
}

strobe::Result<int64_t> ParseInt(std::string_view text) {
  const std::string_view t = TrimSpace(text);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) {
    if (ec == std::errc::result_out_of_range) {
      return strobe::InvalidArgument("'" + std::string(t) + "' is too large for an integer");
    }
    return strobe::InvalidArgument("'" + std::string(t) + "' is not an integer");
  }
  return v;
}

strobe::Result<double> ParseDouble(std::string_view text) {
  const std::string t(TrimSpace(text));
  char* end = nullptr;
  const double v = t.empty() ? 0 : std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v)) {
    return strobe::InvalidArgument("'" + t + "' is not a number");
  }
  return v;
}

strobe::Result<bool> ParseBool(std::string_view text) {
  const std::string t = AsciiLower(TrimSpace(text));
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  return strobe::InvalidArgument("'" + std::string(TrimSpace(text)) +
                                 "' is not a boolean (true/false)");
}

std::string DurationText(std::chrono::nanoseconds d) {
  const int64_t ns = d.count();
  if (ns == 0) return "0ms";
  struct Step {
    int64_t scale;
    const char* unit;
  };
  static constexpr Step kSteps[] = {
      {3'600'000'000'000, "h"}, {60'000'000'000, "m"}, {1'000'000'000, "s"},
      {1'000'000, "ms"},        {1'000, "us"},         {1, "ns"}};
  for (const Step& s : kSteps) {
    if (ns % s.scale == 0) return std::to_string(ns / s.scale) + s.unit;
  }
  return std::to_string(ns) + "ns";
}

}  // namespace strobed::base
