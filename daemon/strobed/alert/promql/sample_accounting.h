#pragma once

// SampleAccounting: alerts.query_max_samples counted as Prometheus 2.42 counts query.max-samples
// (its evaluator's currentSamples), over strobe's step-by-step evaluation (eval.cc).
//
// Prometheus evaluates a range query node by node, each node over every step at once, and
// counts the points it holds in memory; the query fails with "query processing would load too
// many samples into memory" when that count exceeds the bound. Its peak for an expression e,
// over the steps of the query (one step for an instant query), is, with P(x) = the points x
// yields over all steps (one per series and step where it has a value; a scalar one per step):
//   - number literal, time():                  P(e)
//   - instant selector:                        P(e) — a series counts at each step where it
//                                              has a sample in the lookback, not per step
//   - (x), -x:                                 those of x
//   - rate(v[r]) and every range function:     series by series (Prometheus' head order; here
//                                              ascending series id), the points of the series
//                                              before it plus its own plus its window at the
//                                              last step — or, while it is read, the largest
//                                              window it had at any step: max over series i
//                                              of max(R<i + maxwin_i, R<=i + lastwin_i)
//   - every other function, aggregation and binary operator (Prometheus' rangeEval), with
//     arguments a1..ak evaluated in order: max over j of (P(a1..a(j-1)) + peak(aj)), and
//     P(a1..ak) + max over steps of (the arguments' points at that step + e's points up to
//     and including it)
//   - a step-invariant subexpression (Prometheus' preprocessExpr: numbers and expressions of
//     them, except time()) is evaluated once and copied to every step: max(its peak at the
//     first step, its points at the first step x the number of steps), P = the latter.
// A native histogram point counts as one sample (Prometheus 2.42). The peak was checked
// against a real Prometheus 2.42 (`stats=all`'s peakSamples) on 37 expressions, instant and
// range (eval_test.cc, PromqlEvalTest.SampleLimitCountsAsPrometheus).
//
// Refusal is decided as early as it is certain: during a step each node's running lower bound
// of its peak is checked (a selector as it adds points, a range function per series); after
// each step the whole expression's lower bound; after the last step the exact peak. A range
// function's exact peak needs its series in id order: it is computed only when the bounds
// (max(P, largest window) .. P + largest window) straddle the limit.
//
// Thread class: one evaluation (one thread); not thread-safe.

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/alert/promql/ast.h"
#include "strobed/alert/promql/history.h"

namespace strobed::alert::promql {

class SampleAccounting {
 public:
  // `root` must outlive this object; `steps` >= 1 is the number of evaluation steps and
  // `max_samples` > 0 the bound.
  SampleAccounting(const Expr& root, size_t steps, size_t max_samples);

  // Per-node state (opaque to the evaluator).
  struct Node;

  // Called once before each step (0-based, increasing).
  void BeginStep(size_t step) { step_ = step; }

  // The evaluator's hooks around evaluating `e` at the current step. Enter returns the node to
  // pass to the other calls; Leave records the `points` e yielded (1 for a scalar) and fails
  // with RESOURCE_EXHAUSTED once e's peak certainly exceeds the bound.
  Node* Enter(const Expr& e);
  strobe::Status Leave(Node* node, size_t points);

  // A selector has produced `points` points so far in this step: fails as soon as its own
  // count exceeds the bound.
  strobe::Status SelectorProgress(Node* node, size_t points) const;

  // A range function read series `id`'s window of `window` samples and yielded `result` (0 or
  // 1) points for it; `produced` = its points so far in this step (result included).
  strobe::Status RangeSeries(Node* node, SeriesId id, size_t window, size_t result,
                             size_t produced);

  // After the last step (or after each step of a range query: `final` false): fails when the
  // whole expression's peak exceeds the bound — its lower bound after a step, the exact peak
  // at the end.
  strobe::Status CheckQuery(bool final);

 private:
  struct Peak {
    size_t lo = 0;  // Prometheus' peak is at least this ...
    size_t hi = 0;  // ... and at most this (equal unless a range function is undecided)
  };
  Node* Find(const Expr& e);
  // Appends the node of `e` and its descendants (pre-order); `wraps` lists the nodes
  // Prometheus wraps in a StepInvariantExpr.
  uint32_t Build(const Expr& e, const std::vector<const Expr*>& wraps);
  // Recomputes `n`'s peak from its own counters and its children's.
  void Refresh(Node& n);
  // The exact peak of a range function node from its series.
  static size_t RangeExact(Node& n);
  strobe::Status Exceeded() const;

  std::vector<Node> nodes_;     // pre-order: a parent before its children
  std::vector<uint32_t> args_;  // Node::args_begin .. + args_count index this
  size_t cursor_ = 0;           // where Find starts (evaluation visits nodes in pre-order)
  size_t steps_;
  size_t max_samples_;
  size_t step_ = 0;
  size_t frozen_ = 0;  // > 0 inside a step-invariant subexpression after the first step
};

struct SampleAccounting::Node {
  const Expr* expr = nullptr;
  // Child nodes whose points Prometheus holds, in evaluation order: args_[args_begin ..].
  uint32_t args_begin = 0;
  uint32_t args_count = 0;
  enum class Kind : uint8_t { kLeaf, kPass, kRangeFunction, kRangeEval } kind = Kind::kLeaf;
  bool invariant = false;   // wrapped in Prometheus' StepInvariantExpr
  size_t points = 0;        // yielded at the current step
  size_t first_points = 0;  // invariant: yielded at the first step (copied to every step)
  size_t held = 0;          // P so far (its own, before any invariant copy)
  size_t gather_max = 0;    // kRangeEval: max over steps of args' points + held
  Peak own;                 // its own peak (before any invariant copy)
  size_t out_held = 0;      // what its parent sees
  Peak out;
  // kRangeFunction: the largest window, and the series (single step: in evaluation order; a
  // range query: one entry per series, found through `index`).
  size_t max_window = 0;
  bool exact = false;  // `own` holds the exact peak (computed by CheckQuery)
  struct Series {
    SeriesId id = 0;
    size_t results = 0;
    size_t max_window = 0;
    size_t last_window = 0;
  };
  std::vector<Series> series;
  std::unordered_map<SeriesId, uint32_t> index;  // range queries: series -> its entry
};

}  // namespace strobed::alert::promql
