#include "strobed/alert/promql/sample_accounting.h"

#include <algorithm>
#include <string>

#include "strobed/alert/promql/eval.h"

namespace strobed::alert::promql {
namespace {

bool IsRangeFunction(Function f) {
  switch (f) {
    case Function::kRate:
    case Function::kIrate:
    case Function::kIncrease:
    case Function::kDelta:
    case Function::kIdelta:
    case Function::kAvgOverTime:
    case Function::kMinOverTime:
    case Function::kMaxOverTime:
    case Function::kSumOverTime:
    case Function::kCountOverTime:
    case Function::kLastOverTime:
      return true;
    default:
      return false;
  }
}

// Prometheus 2.42's preprocessExprHelper: whether `e` is step invariant (no selector, no
// time()); the invariant operands of a variant binary operator or call are wrapped (listed in
// `wraps`). Aggregations look at their expression only, as Prometheus does.
bool Invariant(const Expr& e, std::vector<const Expr*>* wraps) {
  switch (e.kind) {
    case ExprKind::kNumber:
      return true;
    case ExprKind::kVectorSelector:
    case ExprKind::kMatrixSelector:
      return false;
    case ExprKind::kParen:
    case ExprKind::kUnary:
    case ExprKind::kAggregate:
      return Invariant(*e.args[0], wraps);
    case ExprKind::kBinary:
    case ExprKind::kCall: {
      // Operators take two operands, functions at most three.
      constexpr size_t kMaxArgs = 4;
      bool each[kMaxArgs] = {};
      bool all = !(e.kind == ExprKind::kCall && e.func == Function::kTime);
      for (size_t i = 0; i < e.args.size(); ++i) {
        const bool inv = Invariant(*e.args[i], wraps);
        if (i < kMaxArgs) each[i] = inv;
        all = all && inv;
      }
      if (all) return true;
      for (size_t i = 0; i < e.args.size() && i < kMaxArgs; ++i) {
        if (each[i]) wraps->push_back(e.args[i].get());
      }
      return false;
    }
  }
  return false;
}

}  // namespace

SampleAccounting::SampleAccounting(const Expr& root, size_t steps, size_t max_samples)
    : steps_(std::max<size_t>(steps, 1)), max_samples_(max_samples) {
  std::vector<const Expr*> wraps;
  if (Invariant(root, &wraps)) wraps.push_back(&root);
  Build(root, wraps);
}

uint32_t SampleAccounting::Build(const Expr& e, const std::vector<const Expr*>& wraps) {
  const auto at = static_cast<uint32_t>(nodes_.size());
  nodes_.emplace_back();
  nodes_[at].expr = &e;
  nodes_[at].invariant = std::find(wraps.begin(), wraps.end(), &e) != wraps.end();
  Node::Kind kind = Node::Kind::kRangeEval;
  switch (e.kind) {
    case ExprKind::kNumber:
    case ExprKind::kVectorSelector:
    case ExprKind::kMatrixSelector:
      kind = Node::Kind::kLeaf;
      break;
    case ExprKind::kParen:
    case ExprKind::kUnary:
      kind = Node::Kind::kPass;
      break;
    case ExprKind::kCall:
      if (IsRangeFunction(e.func)) kind = Node::Kind::kRangeFunction;
      break;
    default:
      break;
  }
  nodes_[at].kind = kind;
  if (kind == Node::Kind::kLeaf || kind == Node::Kind::kRangeFunction) return at;
  // The children first (their indices), then this node's argument list.
  std::vector<uint32_t> children;
  for (const auto& a : e.args) children.push_back(Build(*a, wraps));
  nodes_[at].args_begin = static_cast<uint32_t>(args_.size());
  nodes_[at].args_count = static_cast<uint32_t>(children.size());
  args_.insert(args_.end(), children.begin(), children.end());
  return at;
}

SampleAccounting::Node* SampleAccounting::Find(const Expr& e) {
  // Evaluation enters nodes in pre-order, so the next node is almost always the one.
  for (size_t k = 0; k < nodes_.size(); ++k) {
    const size_t i = (cursor_ + k) % nodes_.size();
    if (nodes_[i].expr == &e) {
      cursor_ = i + 1;
      return &nodes_[i];
    }
  }
  return nullptr;
}

SampleAccounting::Node* SampleAccounting::Enter(const Expr& e) {
  Node* n = Find(e);
  if (n != nullptr && n->invariant && step_ > 0) ++frozen_;
  return n;
}

strobe::Status SampleAccounting::Exceeded() const {
  return strobe::ResourceExhausted(std::string(kTooManySamplesError));
}

strobe::Status SampleAccounting::SelectorProgress(Node* n, size_t points) const {
  if (n == nullptr || frozen_ > 0) return strobe::OkStatus();
  if (n->held + points > max_samples_) return Exceeded();
  return strobe::OkStatus();
}

strobe::Status SampleAccounting::RangeSeries(Node* n, SeriesId id, size_t window, size_t result,
                                             size_t produced) {
  if (n == nullptr || frozen_ > 0) return strobe::OkStatus();
  n->max_window = std::max(n->max_window, window);
  if (steps_ == 1) {
    if (window != 0) n->series.push_back({id, result, window, window});
  } else {
    auto it = n->index.find(id);
    if (it != n->index.end()) {
      Node::Series& s = n->series[it->second];
      s.results += result;
      s.max_window = std::max(s.max_window, window);
      s.last_window = window;
    } else if (window != 0) {
      n->index.emplace(id, static_cast<uint32_t>(n->series.size()));
      n->series.push_back({id, result, window, window});
    }
  }
  // Lower bounds of its peak: any one window; every point it has yielded.
  if (window > max_samples_ || n->held + produced > max_samples_) return Exceeded();
  return strobe::OkStatus();
}

size_t SampleAccounting::RangeExact(Node& n) {
  std::sort(n.series.begin(), n.series.end(),
            [](const Node::Series& a, const Node::Series& b) { return a.id < b.id; });
  n.index.clear();  // positions changed; the query is over when this runs
  size_t before = 0;
  size_t best = n.held;
  for (const Node::Series& s : n.series) {
    best = std::max(best, before + s.max_window);
    before += s.results;
    best = std::max(best, before + s.last_window);
  }
  return best;
}

void SampleAccounting::Refresh(Node& n) {
  switch (n.kind) {
    case Node::Kind::kLeaf:
      n.own = {n.held, n.held};
      break;
    case Node::Kind::kPass: {
      const Node& child = nodes_[args_[n.args_begin]];
      n.held = child.out_held;
      n.own = child.out;
      break;
    }
    case Node::Kind::kRangeFunction:
      if (!n.exact) n.own = {std::max(n.held, n.max_window), n.held + n.max_window};
      break;
    case Node::Kind::kRangeEval: {
      Peak p;
      size_t held_before = 0;
      for (uint32_t k = 0; k < n.args_count; ++k) {
        const Node& a = nodes_[args_[n.args_begin + k]];
        p.lo = std::max(p.lo, held_before + a.out.lo);
        p.hi = std::max(p.hi, held_before + a.out.hi);
        held_before += a.out_held;
      }
      p.lo = std::max(p.lo, held_before + n.gather_max);
      p.hi = std::max(p.hi, held_before + n.gather_max);
      n.own = p;
      break;
    }
  }
  if (n.invariant) {
    // Evaluated once, then its points copied to every later step.
    n.out_held = n.first_points * (std::min(step_, steps_ - 1) + 1);
    n.out = {std::max(n.own.lo, n.out_held), std::max(n.own.hi, n.out_held)};
  } else {
    n.out_held = n.held;
    n.out = n.own;
  }
}

strobe::Status SampleAccounting::Leave(Node* n, size_t points) {
  if (n == nullptr) return strobe::OkStatus();
  const bool copy = n->invariant && step_ > 0;
  if (copy) --frozen_;
  n->points = points;
  if (frozen_ > 0) return strobe::OkStatus();  // inside a subexpression Prometheus copies
  if (!copy) {
    if (n->invariant) n->first_points = points;
    switch (n->kind) {
      case Node::Kind::kLeaf:
      case Node::Kind::kRangeFunction:
        n->held += points;
        break;
      case Node::Kind::kRangeEval: {
        n->held += points;
        size_t gathered = 0;
        for (uint32_t k = 0; k < n->args_count; ++k) {
          gathered += nodes_[args_[n->args_begin + k]].points;
        }
        n->gather_max = std::max(n->gather_max, gathered + n->held);
        break;
      }
      case Node::Kind::kPass:
        break;
    }
  }
  Refresh(*n);
  if (n->out.lo > max_samples_) return Exceeded();
  return strobe::OkStatus();
}

strobe::Status SampleAccounting::CheckQuery(bool final) {
  Node& root = nodes_[0];
  if (root.out.lo > max_samples_) return Exceeded();
  if (!final) return strobe::OkStatus();
  if (root.out.hi > max_samples_) {
    // Undecided: the exact peaks of the range functions, then every node again (children
    // after parents in pre-order, so from the back).
    for (Node& n : nodes_) {
      if (n.kind != Node::Kind::kRangeFunction) continue;
      const size_t exact = RangeExact(n);
      n.own = {exact, exact};
      n.exact = true;
    }
    for (size_t i = nodes_.size(); i-- > 0;) Refresh(nodes_[i]);
  }
  if (root.out.lo > max_samples_) return Exceeded();
  return strobe::OkStatus();
}

}  // namespace strobed::alert::promql
