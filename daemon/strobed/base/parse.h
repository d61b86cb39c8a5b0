#pragma once

// Text → value parsing shared by every configuration surface of the daemon: the daemon's own
// keys (YAML, STROBE_* environment variables, --set flags), plugin option tables, and the
// stream/alert sections. One set of units and case rules, so "64MiB" or "1.5s" means the same
// everywhere:
//
//   duration  DECIMAL [spaces] [UNIT]   UNIT: ns, us (or µs), ms, s, m, h — case-insensitive.
//             No unit: milliseconds ("250" = 250ms). A decimal fraction is allowed ("1.5s")
//             and rounded to the nearest nanosecond. At most ~292 years (int64 nanoseconds).
//   size      DECIMAL [spaces] [UNIT]   decimal: B, KB, MB, GB, TB (10^3 steps);
//             binary: KiB, MiB, GiB, TiB (2^10 steps), and K, M, G, T as short forms of the
//             binary units (as GNU dd). Case-insensitive ("64mib" = 64MiB, "1kb" = 1000 B).
//             No unit: bytes. A fraction is allowed ("1.5GiB") and rounded to the nearest byte.
//   integer   optional '-', decimal digits (no '+', no hex, no exponent).
//   number    strtod syntax, finite ("0.5", "1e-3"); not NaN or infinity.
//   bool      true/false, yes/no, on/off, 1/0 — case-insensitive.
//
// Surrounding whitespace is ignored everywhere; signs are not accepted on durations and sizes.
// Errors are INVALID_ARGUMENT with a message that quotes the text and shows valid examples but
// names no location: callers prefix "file:line: key: " (see base/options.h).
//
// Thread class: pure functions, thread-safe.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "strobe/base/status.h"

namespace strobed::base {

strobe::Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);
strobe::Result<uint64_t> ParseBytes(std::string_view text);
strobe::Result<int64_t> ParseInt(std::string_view text);
strobe::Result<double> ParseDouble(std::string_view text);
strobe::Result<bool> ParseBool(std::string_view text);

// The shortest exact text of `d` that ParseDuration reads back: "2h", "90s", "1500ms", "250us",
// "7ns"; zero is "0ms".
std::string DurationText(std::chrono::nanoseconds d);

// `text` without leading and trailing whitespace.
std::string_view TrimSpace(std::string_view text);
// `text` in ASCII lower case.
std::string AsciiLower(std::string_view text);

}  // namespace strobed::base
