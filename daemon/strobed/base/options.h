#pragma once

// Typed option tables with bounds: the one place where a configuration value is parsed and
// range-checked, shared by the daemon's own keys (config/keys.h) and every plugin's option
// table (pipeline::ComponentContext::options).
//
//   const OptionSpec kThreads{"threads", OptionType::kInt, "1", "I/O threads",
//                             {.min = "1", .max = "64"}};
//   Result<OptionValue> v = ParseOptionValue(kThreads, "0");
//   // → INVALID_ARGUMENT "0 is out of range [1, 64]"; callers prefix "file:line: key: "
//
// A spec declares key, type, default (text in the type's syntax, base/parse.h), description,
// and bounds: min/max for integers, numbers, durations and sizes (in the type's syntax:
// "1", "0.5", "10ms", "4KiB"; empty = unbounded; either may be exclusive), and the allowed values
// of a string or list of strings (matched case-insensitively and returned as declared).
// BoundsText() renders them for `--help-plugins` and the docs. ValidateSpec() checks a table
// when it is registered, so a bound or default that does not parse is a start-up error,
// never a surprise at configuration time.
//
// Options (the YAML-facing view a plugin reads) validates a component's YAML map against its
// table once; getters then return typed values.
//
// Thread class: value types, thread-compatible; free functions thread-safe.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "strobe/base/status.h"

namespace strobed::base {

enum class OptionType : uint8_t {
  kString,
  kInt,
  kDouble,
  kBool,
  kDuration,    // base::ParseDuration: "100ms", "2s", "1m", "500us", or integer milliseconds
  kBytes,       // base::ParseBytes: "64MiB", "1GB", "4096", ...
  kStringList,  // [a, b] or a single string
  kNode,        // free-form YAML; the plugin reads it from Options::Node()
};
// "string", "integer", "number", "bool", "duration", "bytes", "list of strings", "yaml".
std::string_view OptionTypeName(OptionType type);

struct OptionBounds {
  // kInt, kDouble, kDuration, kBytes: inclusive limits in the type's syntax; "" = none.
  // (Every member has a default member initializer so tables may name only the bounds they
  // set, {.min = "1"}, without -Wmissing-field-initializers.)
  std::string min{};
  std::string max{};
  bool min_exclusive = false;  // min is a strict lower bound ("> 0")
  bool max_exclusive = false;  // max is a strict upper bound ("< 1")
  // kString, kStringList: the allowed values (empty = any).
  std::vector<std::string> choices{};
};

struct OptionSpec {
  std::string key;
  OptionType type;
  std::string default_value{};  // text in the type's syntax; "" = no default (optional, unset)
  std::string description{};
  OptionBounds bounds{};
};

// A parsed scalar: std::string (kString), int64_t (kInt), double (kDouble), bool (kBool),
// std::chrono::nanoseconds (kDuration), uint64_t (kBytes).
using OptionValue =
    std::variant<std::string, int64_t, double, bool, std::chrono::nanoseconds, uint64_t>;

// Parses `text` as a value of `spec.type` (a scalar type) and checks `spec.bounds`. A string
// with choices comes back spelled as declared. Errors (INVALID_ARGUMENT) name the value and
// the rule, not the key or location: "'soon' is not a duration (...)", "0 is out of range
// [1, 64]", "'loud' is not one of trace, debug, info". kStringList and kNode are not scalars:
// INVALID_ARGUMENT.
strobe::Result<OptionValue> ParseOptionValue(const OptionSpec& spec, std::string_view text);

// The bounds as shown to users: "[1, 64]", "(0, 1]", "[0, 1)", ">= 1", "> 0ms", "<= 10", or
// "one of: a, b, c"; "" when unbounded.
std::string BoundsText(const OptionSpec& spec);

// Checks a spec itself: its bounds suit its type and parse, min <= max, and the default (if
// any) parses and is within the bounds. INVALID_ARGUMENT naming the key otherwise.
strobe::Status ValidateSpec(const OptionSpec& spec);

// A component's option values, validated against its spec. Getters of a key that is not in
// the spec, or with the wrong type, are a programming error (STROBE_CHECK). A declared option
// without a default that the user did not set reads as empty: "", 0, false, {} (Has() tells).
class Options {
 public:
  // Validates `node` (a map or null) against `spec` (types and bounds). Errors name
  // file:line of the offending key or value, the component and the key, e.g.
  // "strobe.yaml:12: processors.batch: unknown option 'sendbatch_size' (known:
  // send_batch_size, timeout)" or "strobe.yaml:13: processors.batch.timeout: 0 is out of
  // range (must be > 0ms)". Each spec must pass ValidateSpec (STROBE_CHECK on its default).
  static strobe::Result<Options> Parse(const YAML::Node& node, std::span<const OptionSpec> spec,
                                       std::string_view file, std::string_view component);

  bool Has(const std::string& key) const;  // set explicitly or has a default
  std::string GetString(const std::string& key) const;
  int64_t GetInt(const std::string& key) const;
  double GetDouble(const std::string& key) const;
  bool GetBool(const std::string& key) const;
  std::chrono::nanoseconds GetDuration(const std::string& key) const;
  uint64_t GetBytes(const std::string& key) const;
  std::vector<std::string> GetStringList(const std::string& key) const;
  // The raw node of a kNode option (a null node when unset).
  YAML::Node Node(const std::string& key) const;
  // "file:line" of the key's value, or the file alone when it came from a default.
  std::string Where(const std::string& key) const;

 private:
  struct Entry {
    OptionValue value;              // scalars
    std::vector<std::string> list;  // kStringList
    YAML::Node node;                // kNode
    int line = 0;                   // 1-based; 0 for defaults
  };
  const Entry* Get(const std::string& key, OptionType type) const;
  std::map<std::string, Entry> values_;
  std::map<std::string, OptionType> declared_;
  std::string file_;
};

}  // namespace strobed::base
