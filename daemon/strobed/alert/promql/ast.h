#pragma once

// promql::Expr and Parse(): the syntax tree of the subset of PromQL that alert rules use, and
// its parser.
//
//   auto expr = strobed::alert::promql::Parse(
//       "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m])) > 0.1");
//   if (!expr.ok()) return expr.status();          // "1:42: unexpected ..."
//   int64_t range_ms = MaxRangeMs(*expr);          // 300000: what the history must keep
//
// The subset (semantics as Prometheus 2.x, https://prometheus.io/docs/prometheus/latest/querying/):
//   literals      numbers (1, 1.5e3, 0x1f, Inf, NaN), durations in ranges/offset
//                 (ms s m h d w y, combined largest first: 1h30m, 90s)
//   selectors     metric{label="v", label!="v", label=~"re", label!~"re"}, {__name__=~"..."};
//                 regexes fully anchored (std::regex ECMAScript: RE2's common syntax — classes,
//                 alternation, repetition, (?:...) — works; RE2-only syntax such as (?i) or
//                 \pL is a parse error, never a silent mismatch)
//   ranges        selector[5m], optionally `offset 1m` after the selector or range
//   functions     rate irate increase delta idelta (range vector)
//                 avg_ over_time min_ max_ sum_ count_ last_over_time (range vector)
//                 histogram_quantile(φ, v)  histogram_count(v)  histogram_sum(v)
//                 histogram_fraction(lower, upper, v)  absent(v)  abs ceil floor exp ln sqrt
//                 clamp_min(v, s) clamp_max(v, s)  scalar(v)  vector(s)  time()
//   aggregation   sum avg min max count, `by (l, ...)` / `without (l, ...)` before or after
//                 the parenthesised argument
//   binary        ^ (right-assoc), * / % , + -, == != > < >= <= [bool], and, or, unless,
//                 with Prometheus precedence (^ > unary -,+ > * / % > + - > comparisons >
//                 and unless > or), vector matching on(...) / ignoring(...) and
//                 group_left(...) / group_right(...)
//   unary         - and +, parentheses
// Not supported (parse error naming the construct): strings outside matchers, subqueries,
// @ modifiers, topk/bottomk/quantile/stddev/stdvar/count_values aggregations.
// histogram_quantile works on classic `<name>_bucket{le=...}` series (the bounded set of `le`
// boundaries /metrics shows) and on native histogram samples (`<name>`: strobe's exact
// exponential buckets, see history.h and eval.h), as in Prometheus 2.42 with native
// histograms enabled; histogram_count/sum/fraction work on native histogram samples.
//
// Errors: Parse returns INVALID_ARGUMENT whose message starts with "line:col: " (1-based,
// columns in bytes), e.g. "1:17: unexpected ')' , expected an expression".
//
// Thread class: an Expr is immutable after Parse and may be evaluated by several threads at
// once (compiled regexes are shared, read-only).

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"

namespace strobed::alert::promql {

enum class MatchOp : uint8_t { kEqual, kNotEqual, kRegex, kNotRegex };

// One label matcher of a selector. A missing label matches as the empty string.
struct Matcher {
  MatchOp op = MatchOp::kEqual;
  std::string name;
  std::string value;                     // the literal, or the regex source as written
  std::shared_ptr<const std::regex> re;  // anchored ^(?:value)$; set for kRegex / kNotRegex

  // Whether a label value satisfies this matcher. Thread-safe.
  bool Matches(std::string_view label_value) const;
};

enum class ExprKind : uint8_t {
  kNumber,          // number
  kVectorSelector,  // instant vector selector
  kMatrixSelector,  // range vector selector: selector + range_ms
  kCall,            // function call: func, args
  kAggregate,       // aggregation: agg, grouping, without, args[0]
  kUnary,           // unary minus: args[0] (unary + is dropped by the parser)
  kBinary,          // binary operator: bin_op, lhs = args[0], rhs = args[1]
  kParen,           // (args[0]); kept so ToString reproduces the grouping
};

enum class Function : uint8_t {
  kRate,
  kIrate,
  kIncrease,
  kDelta,
  kIdelta,
  kAvgOverTime,
  kMinOverTime,
  kMaxOverTime,
  kSumOverTime,
  kCountOverTime,
  kLastOverTime,
  kHistogramQuantile,
  kHistogramCount,
  kHistogramSum,
  kHistogramFraction,
  kAbsent,
  kAbs,
  kCeil,
  kFloor,
  kExp,
  kLn,
  kSqrt,
  kClampMin,
  kClampMax,
  kScalar,
  kVector,
  kTime,
};

enum class AggOp : uint8_t { kSum, kAvg, kMin, kMax, kCount };

enum class BinOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEq,
  kNe,
  kGt,
  kLt,
  kGe,
  kLe,
  kAnd,
  kOr,
  kUnless,
};

// How the two sides of a binary operation between vectors are matched.
struct VectorMatching {
  enum class Card : uint8_t { kOneToOne, kManyToOne, kOneToMany, kManyToMany };
  Card card = Card::kOneToOne;       // kManyToOne = group_left, kOneToMany = group_right;
                                     // kManyToMany for and/or/unless
  bool on = false;                   // on(...) given (else ignoring(...) or none)
  std::vector<std::string> labels;   // the on/ignoring list
  std::vector<std::string> include;  // group_left/group_right extra labels
};

struct Expr {
  ExprKind kind = ExprKind::kNumber;
  uint32_t line = 1;  // position of the expression's first token (1-based)
  uint32_t col = 1;

  double number = 0;  // kNumber

  // kVectorSelector / kMatrixSelector. `metric_name` is the name before `{` (also present
  // as an kEqual matcher on __name__ in `matchers`, which holds every matcher).
  std::string metric_name;
  std::vector<Matcher> matchers;
  int64_t range_ms = 0;   // kMatrixSelector only, > 0
  int64_t offset_ms = 0;  // >= 0 (negative offsets are not supported)

  Function func = Function::kRate;  // kCall
  AggOp agg = AggOp::kSum;          // kAggregate
  bool without = false;             // kAggregate: grouping is a `without` list
  std::vector<std::string> grouping;

  BinOp bin_op = BinOp::kAdd;  // kBinary
  bool return_bool = false;    // comparison with `bool`
  VectorMatching matching;     // kBinary between two vectors

  std::vector<std::unique_ptr<Expr>> args;  // call arguments / operands / child
};

// Parses one expression. INVALID_ARGUMENT "line:col: reason" on any syntax error, unknown
// function or aggregation, wrong argument count or type (e.g. rate of an instant vector),
// bad duration, invalid regex, a selector without any matcher that could fail to match the
// empty string (`{}` / `{a=""}`), or grouping modifiers on a non-vector operation. Input is
// untrusted: bounded recursion (nesting deeper than 128 is an error), any byte sequence is
// safe. Thread-safe.
strobe::Result<Expr> Parse(std::string_view text);

// Parses a Prometheus duration ("1m30s", "250ms", "1d"; units y w d h m s ms, largest first,
// each once) into milliseconds. INVALID_ARGUMENT "1:col: reason" otherwise. Thread-safe.
strobe::Result<int64_t> ParseDurationMs(std::string_view text);

// The largest time window the expression reads back from evaluation time: for each selector
// its range (or, for an instant selector, 0) plus its offset; the maximum over the tree.
// The caller adds the 5 m lookback delta to size the history (History::Options::retention_ms).
int64_t MaxRangeMs(const Expr& expr);

// PromQL text of `expr` (normalised spacing; parses back to an equal tree). Thread-safe.
std::string ToString(const Expr& expr);

// The value type an expression yields: scalar, instant vector or range vector.
enum class ValueType : uint8_t { kScalar, kVector, kMatrix };
ValueType TypeOf(const Expr& expr);

}  // namespace strobed::alert::promql
