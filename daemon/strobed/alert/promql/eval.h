#pragma once

// promql::Evaluate: the instant value of a PromQL expression (ast.h) at one time over a
// History (history.h), with Prometheus 2.x semantics:
//   - instant selectors take each series' newest sample in [t - 5 m, t] (kLookbackDeltaMs),
//     none when that sample is a stale marker; `offset` shifts the window back;
//   - range selectors take the samples in [t - range, t] (stale markers skipped); both ends
//     are inclusive as in Prometheus 2.x (3.x made the start exclusive);
//   - rate/increase/delta extrapolate as Prometheus' extrapolatedRate (counter resets
//     handled for rate/increase, extrapolation to the window edges limited to 1.1 average
//     intervals or half an interval, and for counters not below zero); irate/idelta use the
//     last two samples; *_over_time aggregate the samples in the window;
//   - histogram_quantile(φ, b) groups `le` buckets by their other labels (name dropped),
//     sorts by `le`, makes counts monotonic, interpolates linearly inside the bucket, returns
//     +Inf when φ > 1, -Inf when φ < 0, NaN without a +Inf bucket or with a zero count, the
//     upper bound of the second-highest bucket when the rank falls in +Inf, and treats the
//     lowest bucket as starting at 0 when its bound is positive;
//   - functions and arithmetic drop __name__; comparisons without `bool` filter and keep the
//     left-hand labels (name included), with `bool` yield 0/1 and drop the name;
//   - vector matching one-to-one by default, `on`/`ignoring`, `group_left`/`group_right`;
//     "many-to-many matching not allowed" and "multiple matches for labels" are errors as in
//     Prometheus; and/or/unless are many-to-many set operations;
//   - aggregations sum/avg/min/max/count by/without (name dropped; `without` also drops it);
//   - absent(v) is {labels from equality matchers} 1 when v is empty, else empty.
// Results are deterministic: vector samples are sorted by labels.
//
// Thread class: thread-safe; takes the History's ReadLock for the whole evaluation, so it
// may run concurrently with other evaluations (and waits for an Append in progress).

#include <cstdint>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/alert/promql/ast.h"
#include "strobed/alert/promql/history.h"

namespace strobed::alert::promql {

struct Sample {
  Labels labels;  // sorted by name; __name__ present unless dropped
  double value = 0;
};

struct Value {
  enum class Kind : uint8_t { kScalar, kVector };
  Kind kind = Kind::kVector;
  double scalar = 0;           // kScalar
  std::vector<Sample> vector;  // kVector, sorted by labels
};

// Evaluates `expr` at `t_ms` (Unix milliseconds). INVALID_ARGUMENT for an expression whose
// result is a range vector, for many-to-many matching, for duplicate output series ("vector
// cannot contain metrics with the same labelset") and for other evaluation errors Prometheus
// reports; the message names the operator.
strobe::Result<Value> Evaluate(const Expr& expr, const History& history, int64_t t_ms);

}  // namespace strobed::alert::promql
