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
// Native histograms (history.h), as Prometheus 2.42 with native histograms enabled:
//   - an instant selector returns a histogram series' newest histogram;
//   - rate/increase/delta of a range of histograms are histograms (bucket-wise last - first,
//     counter resets added back for rate/increase, the same extrapolation factor as floats,
//     without the "not below zero" limit, Prometheus' histogramRate); count_over_time counts
//     histogram samples; the other range functions skip histogram series (Prometheus 2.42
//     answers 0 for them, a float value it never set; later versions skip them too);
//   - sum aggregates histograms bucket by bucket (a group holding a histogram yields the
//     histogram sum, its floats ignored), count counts them; avg/min/max skip them;
//   - histogram_quantile(φ, h) walks the zero bucket then the positive buckets to the one
//     holding rank φ x count and interpolates linearly inside it (Prometheus 2.42). The result
//     lies in that bucket, so its relative error against the observation of that rank is
//     below the bucket's relative width 2^(2^-scale) - 1: 1.09% for strobe's scale-6
//     histograms (OTLP producers choose their scale). When the rank is exactly a bucket's
//     cumulative count, rounding in scaled (rate) counts may move it to the next non-empty
//     bucket's lower bound: still between that observation and the next (Prometheus alike);
//   - histogram_count, histogram_sum, histogram_fraction(lower, upper, h) (linear inside the
//     buckets holding the bounds, as Prometheus) take histograms and skip floats;
//   - every other function and arithmetic/comparison operator skips histogram samples;
//     and/or/unless keep them (set operations on labels).
// Results are deterministic: vector samples are sorted by labels.
//
// Limits (Limits): the samples the query holds, counted as Prometheus 2.42 counts its
// query.max-samples (sample_accounting.h: a range query holds each subexpression's points over
// every step, a range function one series' window at a time), may not exceed max_samples
// (RESOURCE_EXHAUSTED "query processing would load too many samples into memory in query
// execution"); past `deadline` the evaluation stops with DEADLINE_EXCEEDED "query timed out in
// query execution" (query.timeout). The deadline is checked every few hundred series.
//
// Thread class: thread-safe; takes the History's ReadLock for the whole evaluation (a range
// query: for each step), so it may run concurrently with other evaluations (and waits for an
// Append in progress).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/alert/promql/ast.h"
#include "strobed/alert/promql/history.h"

namespace strobed::alert::promql {

struct Sample {
  Labels labels;  // sorted by name; __name__ present unless dropped
  double value = 0;
  // Set for a native histogram sample (value is then its count).
  std::shared_ptr<const NativeHistogram> histogram;
};

struct Value {
  enum class Kind : uint8_t { kScalar, kVector };
  Kind kind = Kind::kVector;
  double scalar = 0;           // kScalar
  std::vector<Sample> vector;  // kVector, sorted by labels
};

// Bounds of one evaluation (see the overview). The defaults bound nothing.
struct Limits {
  size_t max_samples = 0;  // 0: unlimited
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

inline constexpr std::string_view kTooManySamplesError =
    "query processing would load too many samples into memory in query execution";
inline constexpr std::string_view kTimeoutError = "query timed out in query execution";

// Evaluates `expr` at `t_ms` (Unix milliseconds). INVALID_ARGUMENT for an expression whose
// result is a range vector, for many-to-many matching, for duplicate output series ("vector
// cannot contain metrics with the same labelset") and for other evaluation errors Prometheus
// reports; the message names the operator. RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED past
// `limits`.
strobe::Result<Value> Evaluate(const Expr& expr, const History& history, int64_t t_ms,
                               const Limits& limits = {});

// One series of a range query's result: its float points and its histogram points, each in
// time order (a series may hold both when a histogram series turned into floats).
struct RangeSeries {
  Labels labels;
  std::vector<SamplePoint> points;
  std::vector<std::pair<int64_t, std::shared_ptr<const NativeHistogram>>> histograms;
};

// Evaluates `expr` at start_ms, start_ms + step_ms, ... up to end_ms (Prometheus' range
// query): the series of every step's result, sorted by labels; a scalar expression gives one
// series without labels. Requires step_ms > 0, end_ms >= start_ms and an expression of scalar
// or instant vector type (the caller checks, INVALID_ARGUMENT otherwise). Errors as Evaluate;
// the limits apply to the whole query.
strobe::Result<std::vector<RangeSeries>> EvaluateRange(const Expr& expr, const History& history,
                                                       int64_t start_ms, int64_t end_ms,
                                                       int64_t step_ms, const Limits& limits = {});

}  // namespace strobed::alert::promql
