#pragma once

// stream::Predicate: which items a window, CEP rule or anomaly detector looks at.
//
// YAML forms (a bare string is shorthand for {name: ...}):
//
//   match: http.server.request.duration            # exact name; "http.*" matches a prefix
//   match:
//     name: http.server.request
//     kind: span                           # span | metric | log
//     status: error                        # error | ok | unset
//     attributes: {service.name: checkout} # equality on item or resource attributes
//     where: ["http.response.status_code >= 500", "value > 250ms"]
//
// `where` clauses are `<field> <op> <literal>` with op one of == != < <= > >=; field is
// `value` (span duration in seconds, metric value) or an attribute key; a numeric literal may
// carry a duration unit (ns us ms s m h, converted to seconds) or a % sign (divided by 100).
// String literals (optionally quoted) allow only == and !=.
//
// Thread class: immutable after Parse; Matches() is thread-safe and allocation-free.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/event/attribute.h"
#include "strobed/stream/item.h"

namespace strobed::stream {

enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

// Parses "==", "!=", "<", "<=", ">", ">=". Returns nullopt otherwise.
std::optional<CompareOp> ParseCompareOp(std::string_view text);
std::string_view CompareOpText(CompareOp op);
bool Compare(double lhs, CompareOp op, double rhs) noexcept;

// Parses a number with an optional unit: "250ms" → 0.25, "5%" → 0.05, "1e3" → 1000,
// "2m" → 120. INVALID_ARGUMENT on anything else.
strobe::Result<double> ParseNumberWithUnit(std::string_view text);

class Predicate {
 public:
  // Matches everything.
  Predicate() = default;

  // Parses a `match:` node (see the header comment). Attribute keys are interned in `keys`.
  // Errors: INVALID_ARGUMENT "file:line: reason".
  static strobe::Result<Predicate> Parse(const YAML::Node& node, std::string_view file,
                                         event::KeyTable& keys);

  // True when `item` satisfies every condition. Allocation-free.
  bool Matches(const Item& item) const noexcept;

  // False when no item of `kind` named `name` can match, whatever its value and attributes
  // (lets the engine keep per-series metric state only for metrics some rule reads).
  bool MayMatch(ItemKind kind, std::string_view name) const noexcept;

  // The exact name this predicate requires, or "" (used to name series in alert rules).
  const std::string& name() const { return name_; }
  bool name_is_prefix() const { return name_prefix_; }

 private:
  struct Clause {
    bool on_value = true;  // else attribute `key`
    event::KeyId key;
    CompareOp op = CompareOp::kEq;
    bool numeric = true;
    double number = 0;
    std::string text;
  };
  static bool ClauseMatches(const Clause& c, const Item& item) noexcept;

  std::string name_;
  bool name_prefix_ = false;
  std::optional<ItemKind> kind_;
  std::optional<ItemStatus> status_;
  std::vector<std::pair<event::KeyId, std::string>> attributes_;
  std::vector<Clause> where_;
};

// Renders an attribute value as label text into `buf` (numbers via to_chars) and returns a
// view of it (or of the value's own string). Allocation-free; `buf` must hold 32 bytes.
std::string_view ValueText(const event::Value* value, char* buf) noexcept;

}  // namespace strobed::stream
