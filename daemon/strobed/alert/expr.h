#pragma once

// alert::AlertExpr: the condition of an alert rule, in a form Prometheus users recognise.
//
//   p99(http.server.request.duration) > 250ms
//   p99(http.server.request.duration{service.name="checkout"}) > 0.25
//   error_rate > 0.05
//   error_rate{service.name!="batch"} >= 5%
//   anomaly_score > 4
//   rate(checkout_window) < 1
//   cep_matches(brute_force) > 0
//
// Grammar:  aggregate [ '(' source [ matchers ] ')' ] [ matchers ] op number[unit]
//   aggregate  a stream aggregate (count sum min max mean rate error_rate pNN distinct(attr),
//              a registered user aggregation), anomaly_score, or cep_matches (a CEP rule's
//              match count per key, stream::kCepMatches)
//   source     the window's match name or the window name (any characters but ( ) { } space);
//              for cep_matches the CEP rule name
//   matchers   '{' label ('=' | '!=') "value" [, ...] '}' on the series' group-by labels
//   op         > >= < <= == !=
//   number     with an optional unit: ns us ms s m h (seconds) or % (/100)
//
// The expression selects every stream::Series with that aggregate name (and source, and
// matching labels); each selected series is one alert instance.
//
// "On CEP match": `cep_matches(rule) > 0` holds for a key from its first match on, so the
// alert goes pending at the first evaluation after a match (firing then, with for: 0), and
// resolves once that key has not matched again for `alerts.staleness` (the series is stale);
// a later match fires it again. {{ $value }} is the key's match count.
//
// Thread class: immutable after Parse; Selects() is thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/stream/aggregation.h"
#include "strobed/stream/predicate.h"
#include "strobed/stream/series.h"

namespace strobed::alert {

struct LabelMatcher {
  std::string name;
  bool negate = false;
  std::string value;
};

struct AlertExpr {
  std::string text;
  std::string aggregate;
  std::string source;  // "" = any window
  std::vector<LabelMatcher> matchers;
  stream::CompareOp op = stream::CompareOp::kGt;
  double threshold = 0;

  // Parses `text`; INVALID_ARGUMENT naming the column and reason ("col 5: expected '('...").
  // Aggregate names are checked against the built-ins, anomaly_score and `registry`.
  static strobe::Result<AlertExpr> Parse(std::string_view text,
                                         const stream::AggregationRegistry* registry);

  bool Selects(const stream::Series& series) const;
  bool Holds(double value) const { return stream::Compare(value, op, threshold); }
};

}  // namespace strobed::alert
