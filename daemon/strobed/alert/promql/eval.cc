#include "strobed/alert/promql/eval.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "strobed/alert/promql/sample_accounting.h"

namespace strobed::alert::promql {
namespace {

using strobe::snapshot::Label;

constexpr std::string_view kNameLabel = "__name__";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A sample while evaluating: its labels are borrowed (from the History, valid under its read
// lock, or from the evaluator's arena) and the metric name is dropped lazily, so selectors,
// rate() and filters copy no label strings; labels are materialised only where an operation
// builds new ones (aggregation groups, ignoring/on results) and for the final result.
struct ISample {
  const Labels* labels = nullptr;
  bool drop_name = false;
  double value = 0;
  // The History series `labels` belongs to, for symbol lookups; kNoSeries for built labels.
  SeriesId series = kNoSeries;
  static constexpr SeriesId kNoSeries = UINT32_MAX;
  // A native histogram sample (borrowed from the History or the evaluator's arena); `value`
  // is then its count.
  const NativeHistogram* hist = nullptr;
};
using IVector = std::vector<ISample>;

struct IValue {
  bool is_scalar = false;
  double scalar = 0;
  IVector vec;
};

std::string_view Get(const ISample& s, std::string_view name) {
  if (s.drop_name && name == kNameLabel) return {};
  return LabelValue(*s.labels, name);
}

void AppendKey(std::string_view name, std::string_view value, std::string* key) {
  key->append(name);
  key->push_back('\0');
  key->append(value);
  key->push_back('\0');
}

bool Contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// Labels of `s` as a new set (name dropped when flagged).
Labels Materialize(const ISample& s) {
  Labels out;
  out.reserve(s.labels->size());
  for (const Label& l : *s.labels) {
    if (s.drop_name && l.name == kNameLabel) continue;
    out.push_back(l);
  }
  return out;
}

bool IsComparison(BinOp op) {
  return op == BinOp::kEq || op == BinOp::kNe || op == BinOp::kGt || op == BinOp::kLt ||
         op == BinOp::kGe || op == BinOp::kLe;
}
bool DropsName(BinOp op) {
  return op == BinOp::kAdd || op == BinOp::kSub || op == BinOp::kMul || op == BinOp::kDiv ||
         op == BinOp::kMod || op == BinOp::kPow;
}

// Prometheus' vectorElemBinop: the value and whether a filtering comparison keeps it.
std::pair<double, bool> ElemBinop(BinOp op, double l, double r) {
  switch (op) {
    case BinOp::kAdd:
      return {l + r, true};
    case BinOp::kSub:
      return {l - r, true};
    case BinOp::kMul:
      return {l * r, true};
    case BinOp::kDiv:
      return {l / r, true};
    case BinOp::kMod:
      return {std::fmod(l, r), true};
    case BinOp::kPow:
      return {std::pow(l, r), true};
    case BinOp::kEq:
      return {l, l == r};
    case BinOp::kNe:
      return {l, l != r};
    case BinOp::kGt:
      return {l, l > r};
    case BinOp::kLt:
      return {l, l < r};
    case BinOp::kGe:
      return {l, l >= r};
    case BinOp::kLe:
      return {l, l <= r};
    case BinOp::kAnd:
    case BinOp::kOr:
    case BinOp::kUnless:
      break;
  }
  return {kNaN, false};
}

// Group keys -> group index. Rules mostly aggregate into a few groups (by job, by le), where
// comparing a handful of short keys beats hashing each one (benchmarked: the hash map was
// ~10% of a round); past kLinear groups it switches to a hash map.
class GroupIndex {
 public:
  // The index of `key`, inserting `next` when new; *inserted tells which.
  size_t Find(const std::string& key, size_t next, bool* inserted) {
    if (map_.empty()) {
      for (const auto& [k, i] : small_) {
        if (k == key) {
          *inserted = false;
          return i;
        }
      }
      *inserted = true;
      small_.emplace_back(key, next);
      if (small_.size() > kLinear) {
        for (auto& [k, i] : small_) map_.emplace(std::move(k), i);
        small_.clear();
      }
      return next;
    }
    auto [it, ins] = map_.try_emplace(key, next);
    *inserted = ins;
    return it->second;
  }

 private:
  static constexpr size_t kLinear = 16;
  std::vector<std::pair<std::string, size_t>> small_;
  std::unordered_map<std::string, size_t> map_;
};

const Expr& Unparen(const Expr& e) {
  const Expr* p = &e;
  while (p->kind == ExprKind::kParen) p = p->args[0].get();
  return *p;
}

struct Bucket {
  double upper = 0;
  double count = 0;
};

// Removes native histogram samples: operations defined on floats only skip them.
void DropHistograms(IVector* v) {
  std::erase_if(*v, [](const ISample& s) { return s.hist != nullptr; });
}

// `h` at a coarser `scale` (<= h.scale): 2^(h.scale - scale) adjacent buckets merge into one.
// Bucket i holds (base^i, base^(i+1)], so its coarser index is floor(i / 2^d), an arithmetic
// shift (defined for negative values since C++20).
NativeHistogram AtScale(const NativeHistogram& h, int32_t scale) {
  if (scale >= h.scale) return h;
  const int shift = h.scale - scale;
  NativeHistogram out;
  out.count = h.count;
  out.sum = h.sum;
  out.zero_count = h.zero_count;
  out.unit_scale = h.unit_scale;
  out.scale = scale;
  const int64_t first = int64_t{h.offset} >> shift;
  out.offset = static_cast<int32_t>(first);
  if (h.counts.empty()) return out;
  const int64_t last = (int64_t{h.offset} + static_cast<int64_t>(h.counts.size()) - 1) >> shift;
  out.counts.assign(static_cast<size_t>(last - first + 1), 0);
  for (size_t k = 0; k < h.counts.size(); ++k) {
    out.counts[static_cast<size_t>(((int64_t{h.offset} + static_cast<int64_t>(k)) >> shift) -
                                   first)] += h.counts[k];
  }
  return out;
}

// *a += factor * b, bucket by bucket at the smaller of the two scales. False (and *a
// unchanged) when their units differ (histograms of different families).
bool Accumulate(NativeHistogram* a, const NativeHistogram& b, double factor) {
  if (a->unit_scale != b.unit_scale) return false;
  const int32_t scale = std::min(a->scale, b.scale);
  if (a->scale != scale) *a = AtScale(*a, scale);
  NativeHistogram coarse;
  const NativeHistogram* bp = &b;
  if (b.scale != scale) {
    coarse = AtScale(b, scale);
    bp = &coarse;
  }
  if (!bp->counts.empty()) {
    const int64_t b_lo = bp->offset;
    const int64_t b_hi = b_lo + static_cast<int64_t>(bp->counts.size()) - 1;
    if (a->counts.empty()) {
      a->offset = bp->offset;
      a->counts.assign(bp->counts.size(), 0);
    } else {
      const int64_t a_lo = a->offset;
      const int64_t a_hi = a_lo + static_cast<int64_t>(a->counts.size()) - 1;
      const int64_t lo = std::min(a_lo, b_lo);
      const int64_t hi = std::max(a_hi, b_hi);
      if (lo != a_lo || hi != a_hi) {
        std::vector<double> grown(static_cast<size_t>(hi - lo + 1), 0);
        std::copy(a->counts.begin(), a->counts.end(),
                  grown.begin() + static_cast<std::ptrdiff_t>(a_lo - lo));
        a->counts = std::move(grown);
        a->offset = static_cast<int32_t>(lo);
      }
    }
    const size_t at = static_cast<size_t>(b_lo - a->offset);
    for (size_t k = 0; k < bp->counts.size(); ++k) a->counts[at + k] += factor * bp->counts[k];
  }
  a->count += factor * bp->count;
  a->sum += factor * bp->sum;
  a->zero_count += factor * bp->zero_count;
  return true;
}

void ScaleHistogram(NativeHistogram* h, double factor) {
  h->count *= factor;
  h->sum *= factor;
  h->zero_count *= factor;
  for (double& c : h->counts) c *= factor;
}

// Prometheus' FloatHistogram.DetectReset: a count, the zero bucket or any bucket went down,
// or the resolution went up.
bool DetectReset(const NativeHistogram& cur, const NativeHistogram& prev) {
  if (cur.count < prev.count || cur.zero_count < prev.zero_count || cur.scale > prev.scale) {
    return true;
  }
  NativeHistogram coarse;
  const NativeHistogram* p = &prev;
  if (prev.scale != cur.scale) {
    coarse = AtScale(prev, cur.scale);
    p = &coarse;
  }
  for (size_t k = 0; k < p->counts.size(); ++k) {
    if (p->counts[k] == 0) continue;
    const int64_t index = int64_t{p->offset} + static_cast<int64_t>(k);
    const int64_t at = index - cur.offset;
    const double c = at >= 0 && at < static_cast<int64_t>(cur.counts.size())
                         ? cur.counts[static_cast<size_t>(at)]
                         : 0;
    if (c < p->counts[k]) return true;
  }
  return false;
}

// Calls fn(lower, upper, count) for the zero bucket ([0, 0]) and every non-empty positive
// bucket in ascending order, until fn returns false.
template <typename Fn>
void ForEachBucket(const NativeHistogram& h, Fn fn) {
  if (h.zero_count != 0 && !fn(0.0, 0.0, h.zero_count)) return;
  for (size_t k = 0; k < h.counts.size(); ++k) {
    if (h.counts[k] == 0) continue;
    const int64_t index = int64_t{h.offset} + static_cast<int64_t>(k);
    if (!fn(h.Lower(index), h.Upper(index), h.counts[k])) return;
  }
}

// Prometheus 2.42's histogramQuantile (native histograms): linear inside the bucket holding
// the rank.
double NativeQuantile(double q, const NativeHistogram& h) {
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  if (h.count == 0 || std::isnan(q)) return kNaN;
  double rank = q * h.count;
  double count = 0;
  double lower = 0;
  double upper = 0;
  double bucket = 0;
  bool any = false;
  ForEachBucket(h, [&](double lo, double up, double c) {
    lower = lo;
    upper = up;
    bucket = c;
    count += c;
    any = true;
    return count < rank;
  });
  if (!any) return kNaN;
  if (count > h.count) count = h.count;
  if (count < rank) return upper;
  rank -= count - bucket;
  return lower + (upper - lower) * (rank / bucket);
}

// Prometheus 2.42's histogramFraction: the fraction of observations in [lower, upper],
// linear inside the buckets holding the bounds.
double NativeFraction(double lower, double upper, const NativeHistogram& h) {
  if (h.count == 0 || std::isnan(lower) || std::isnan(upper)) return kNaN;
  if (lower >= upper) return 0;
  double rank = 0;
  double lower_rank = 0;
  double upper_rank = 0;
  bool lower_set = false;
  bool upper_set = false;
  ForEachBucket(h, [&](double lo, double up, double c) {
    if (!lower_set && lo >= lower) {
      lower_rank = rank;
      lower_set = true;
    }
    if (!upper_set && lo >= upper) {
      upper_rank = rank;
      upper_set = true;
    }
    if (lower_set && upper_set) return false;
    if (!lower_set && lo < lower && up > lower) {
      lower_rank = rank + c * (lower - lo) / (up - lo);
      lower_set = true;
    }
    if (!upper_set && lo < upper && up > upper) {
      upper_rank = rank + c * (upper - lo) / (up - lo);
      upper_set = true;
    }
    if (lower_set && upper_set) return false;
    rank += c;
    return true;
  });
  if (!lower_set || lower_rank > h.count) lower_rank = h.count;
  if (!upper_set || upper_rank > h.count) upper_rank = h.count;
  return (upper_rank - lower_rank) / h.count;
}

// Prometheus' bucketQuantile (classic buckets).
double BucketQuantile(double q, std::vector<Bucket>& buckets) {
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  std::sort(buckets.begin(), buckets.end(),
            [](const Bucket& a, const Bucket& b) { return a.upper < b.upper; });
  if (buckets.empty() || !std::isinf(buckets.back().upper) || buckets.back().upper < 0) {
    return kNaN;
  }
  // Coalesce buckets with the same bound (e.g. "1" and "1.0").
  size_t w = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (w > 0 && buckets[w - 1].upper == buckets[i].upper) {
      buckets[w - 1].count += buckets[i].count;
    } else {
      buckets[w++] = buckets[i];
    }
  }
  buckets.resize(w);
  // Make cumulative counts monotonic (scrapes are not atomic across bucket series).
  double max = -std::numeric_limits<double>::infinity();
  for (Bucket& b : buckets) {
    if (b.count > max) {
      max = b.count;
    } else if (b.count < max) {
      b.count = max;
    }
  }
  if (buckets.size() < 2) return kNaN;
  const double observations = buckets.back().count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  size_t b = 0;
  while (b < buckets.size() - 1 && !(buckets[b].count >= rank)) ++b;
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].upper;
  if (b == 0 && buckets[0].upper <= 0) return buckets[0].upper;
  double start = 0;
  const double end = buckets[b].upper;
  double count = buckets[b].count;
  if (b > 0) {
    start = buckets[b - 1].upper;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

class Evaluator {
 public:
  // `accounting`: the query's sample accounting (null without limits.max_samples).
  Evaluator(const History& history, int64_t t_ms, const Limits& limits,
            SampleAccounting* accounting)
      : h_(history), t_(t_ms), limits_(limits), acct_(accounting) {}

  // Checks the deadline now (once per range query step).
  strobe::Status CheckDeadline() const {
    if (limits_.deadline != std::chrono::steady_clock::time_point::max() &&
        std::chrono::steady_clock::now() > limits_.deadline) {
      return strobe::DeadlineExceeded(std::string(kTimeoutError));
    }
    return strobe::OkStatus();
  }

  // Evaluates `e`, counting its points as Prometheus does (sample_accounting.h).
  strobe::Result<IValue> Eval(const Expr& e) {
    if (acct_ == nullptr) return EvalNode(e);
    SampleAccounting::Node* node = acct_->Enter(e);
    node_ = node;  // for Selector/RangeFunction, which evaluate no subexpression
    auto v = EvalNode(e);
    if (!v.ok()) return v;
    if (auto st = acct_->Leave(node, v->is_scalar ? 1 : v->vec.size()); !st.ok()) return st;
    return v;
  }

  strobe::Result<IValue> EvalNode(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kNumber: {
        IValue v;
        v.is_scalar = true;
        v.scalar = e.number;
        return v;
      }
      case ExprKind::kParen:
        return Eval(*e.args[0]);
      case ExprKind::kVectorSelector:
        return Selector(e);
      case ExprKind::kMatrixSelector:
        return strobe::InvalidArgument(
            "range vector selector cannot be evaluated as an instant value; wrap it in a "
            "function such as rate() or avg_over_time()");
      case ExprKind::kUnary: {
        auto v = Eval(*e.args[0]);
        if (!v.ok()) return v;
        if (v->is_scalar) {
          v->scalar = -v->scalar;
        } else {
          DropHistograms(&v->vec);
          for (ISample& s : v->vec) {
            s.value = -s.value;
            s.drop_name = true;
          }
          if (auto s = CheckUniqueAfterDrop(v->vec); !s.ok()) return s;
        }
        return v;
      }
      case ExprKind::kCall:
        return Call(e);
      case ExprKind::kAggregate:
        return Aggregate(e);
      case ExprKind::kBinary:
        return Binary(e);
    }
    return strobe::Internal("unknown expression kind");
  }

  // The value of label `name` (resolved to `symbol` by History::Symbol) of `s`.
  std::string_view LabelOf(const ISample& s, std::string_view name, uint32_t symbol) const {
    if (s.drop_name && name == kNameLabel) return {};
    if (s.series != ISample::kNoSeries) return h_.LabelValue(s.series, symbol);
    return LabelValue(*s.labels, name);
  }

  const Labels* Own(Labels labels) {
    arena_.push_back(std::move(labels));
    return &arena_.back();
  }

 private:
  // Called per series read: every few hundred calls checks the deadline.
  strobe::Status Tick() {
    if ((++ticks_ & 255) == 0) return CheckDeadline();
    return strobe::OkStatus();
  }

  strobe::Result<IValue> Selector(const Expr& e) {
    IValue out;
    ids_.clear();
    h_.Select(e.matchers, &ids_);
    const int64_t maxt = t_ - e.offset_ms;
    const int64_t mint = maxt - kLookbackDeltaMs;
    out.vec.reserve(ids_.size());
    SampleAccounting::Node* node = node_;
    for (SeriesId id : ids_) {
      if (auto st = Tick(); !st.ok()) return st;
      if (h_.IsHistogram(id)) {
        const std::span<const SamplePoint> r = h_.Range(id, mint, maxt);
        if (r.empty() || History::IsStale(r.back().value)) continue;
        out.vec.push_back(
            {&h_.LabelsOf(id), false, r.back().value, id, &h_.HistogramsOf(id, r).back()});
      } else {
        SamplePoint p;
        if (!h_.Last(id, mint, maxt, &p) || History::IsStale(p.value)) continue;
        out.vec.push_back({&h_.LabelsOf(id), false, p.value, id});
      }
      // Prometheus counts a point per series with a sample in the lookback.
      if (acct_ != nullptr) {
        if (auto st = acct_->SelectorProgress(node, out.vec.size()); !st.ok()) return st;
      }
    }
    return out;
  }

  // Prometheus' extrapolatedRate for a range of histograms (histogramRate, then the float
  // extrapolation without the zero limit). False when fewer than two histograms.
  bool HistogramRate(SeriesId id, const Expr& sel, bool is_counter, bool is_rate,
                     NativeHistogram* out) {
    const int64_t maxt = t_ - sel.offset_ms;
    const std::span<const SamplePoint> r = h_.Range(id, maxt - sel.range_ms, maxt);
    const std::span<const NativeHistogram> hs = h_.HistogramsOf(id, r);
    hist_points_.clear();
    for (size_t i = 0; i < r.size(); ++i) {
      if (!History::IsStale(r[i].value)) hist_points_.emplace_back(r[i].t_ms, &hs[i]);
    }
    if (hist_points_.size() < 2) return false;
    const NativeHistogram& first = *hist_points_.front().second;
    const NativeHistogram& last = *hist_points_.back().second;
    int32_t min_scale = first.scale;
    for (const auto& [t, h] : hist_points_) min_scale = std::min(min_scale, h->scale);
    *out = AtScale(last, min_scale);
    if (!Accumulate(out, first, -1)) return false;
    if (is_counter) {
      for (size_t i = 1; i < hist_points_.size(); ++i) {
        const NativeHistogram& prev = *hist_points_[i - 1].second;
        if (DetectReset(*hist_points_[i].second, prev)) (void)Accumulate(out, prev, 1);
      }
    }
    const int64_t range_start = t_ - (sel.range_ms + sel.offset_ms);
    const int64_t range_end = t_ - sel.offset_ms;
    const double to_start = static_cast<double>(hist_points_.front().first - range_start) / 1000;
    const double to_end = static_cast<double>(range_end - hist_points_.back().first) / 1000;
    const double sampled =
        static_cast<double>(hist_points_.back().first - hist_points_.front().first) / 1000;
    const double avg_interval = sampled / static_cast<double>(hist_points_.size() - 1);
    const double threshold = avg_interval * 1.1;
    double interval = sampled;
    interval += to_start < threshold ? to_start : avg_interval / 2;
    interval += to_end < threshold ? to_end : avg_interval / 2;
    double factor = interval / sampled;
    if (is_rate) factor /= static_cast<double>(sel.range_ms) / 1000;
    ScaleHistogram(out, factor);
    return true;
  }

  // Samples of one series in the range of a matrix selector, stale markers removed (copied
  // only when the range holds one, which is rare).
  std::span<const SamplePoint> RangePoints(SeriesId id, const Expr& sel) {
    const int64_t maxt = t_ - sel.offset_ms;
    const std::span<const SamplePoint> r = h_.Range(id, maxt - sel.range_ms, maxt);
    bool stale = false;
    for (const SamplePoint& p : r) stale = stale || History::IsStale(p.value);
    if (!stale) return r;
    points_.clear();
    for (const SamplePoint& p : r) {
      if (!History::IsStale(p.value)) points_.push_back(p);
    }
    return points_;
  }

  // Prometheus' extrapolatedRate.
  static bool ExtrapolatedRate(std::span<const SamplePoint> pts, const Expr& sel, int64_t t_ms,
                               bool is_counter, bool is_rate, double* out) {
    if (pts.size() < 2) return false;
    const int64_t range_start = t_ms - (sel.range_ms + sel.offset_ms);
    const int64_t range_end = t_ms - sel.offset_ms;
    double result = pts.back().value - pts.front().value;
    if (is_counter) {
      double last = 0;
      for (const SamplePoint& p : pts) {
        if (p.value < last) result += last;
        last = p.value;
      }
    }
    double to_start = static_cast<double>(pts.front().t_ms - range_start) / 1000;
    const double to_end = static_cast<double>(range_end - pts.back().t_ms) / 1000;
    const double sampled = static_cast<double>(pts.back().t_ms - pts.front().t_ms) / 1000;
    const double avg_interval = sampled / static_cast<double>(pts.size() - 1);
    if (is_counter && result > 0 && pts.front().value >= 0) {
      const double to_zero = sampled * (pts.front().value / result);
      if (to_zero < to_start) to_start = to_zero;
    }
    const double threshold = avg_interval * 1.1;
    double interval = sampled;
    interval += to_start < threshold ? to_start : avg_interval / 2;
    interval += to_end < threshold ? to_end : avg_interval / 2;
    result = result * (interval / sampled);
    if (is_rate) result /= static_cast<double>(sel.range_ms) / 1000;
    *out = result;
    return true;
  }

  // Prometheus' instantValue (irate, idelta).
  static bool InstantValue(std::span<const SamplePoint> pts, bool is_rate, double* out) {
    if (pts.size() < 2) return false;
    const SamplePoint& last = pts[pts.size() - 1];
    const SamplePoint& prev = pts[pts.size() - 2];
    double result = (is_rate && last.value < prev.value) ? last.value : last.value - prev.value;
    const int64_t interval = last.t_ms - prev.t_ms;
    if (interval == 0) return false;
    if (is_rate) result /= static_cast<double>(interval) / 1000;
    *out = result;
    return true;
  }

  static double OverTime(Function f, std::span<const SamplePoint> pts) {
    switch (f) {
      case Function::kAvgOverTime: {
        // Prometheus 2.x: incremental mean (avoids overflow of a plain sum).
        double mean = 0;
        double count = 0;
        for (const SamplePoint& p : pts) {
          count++;
          if (std::isinf(mean)) {
            if (std::isinf(p.value) && (mean > 0) == (p.value > 0)) continue;
            if (!std::isinf(p.value) && !std::isnan(p.value)) continue;
          }
          mean += p.value / count - mean / count;
        }
        return mean;
      }
      case Function::kMinOverTime: {
        double v = pts[0].value;
        for (const SamplePoint& p : pts) {
          if (p.value < v || std::isnan(v)) v = p.value;
        }
        return v;
      }
      case Function::kMaxOverTime: {
        double v = pts[0].value;
        for (const SamplePoint& p : pts) {
          if (p.value > v || std::isnan(v)) v = p.value;
        }
        return v;
      }
      case Function::kSumOverTime: {
        double sum = 0;
        for (const SamplePoint& p : pts) sum += p.value;
        return sum;
      }
      case Function::kCountOverTime:
        return static_cast<double>(pts.size());
      case Function::kLastOverTime:
        return pts.back().value;
      default:
        return kNaN;
    }
  }

  strobe::Result<IValue> RangeFunction(const Expr& call) {
    const Expr& sel = Unparen(*call.args[0]);
    if (sel.kind != ExprKind::kMatrixSelector) {
      return strobe::InvalidArgument("expected a range vector selector");
    }
    IValue out;
    std::vector<SeriesId> ids;
    h_.Select(sel.matchers, &ids);
    out.vec.reserve(ids.size());
    const bool keep_name = call.func == Function::kLastOverTime;
    SampleAccounting::Node* node = node_;
    for (size_t k = 0; k < ids.size(); ++k) {
      // Two-stage prefetch (record, then samples) a few series ahead: the loop is otherwise
      // bound by memory latency, one series at a time.
      if (k + 8 < ids.size()) h_.Prefetch(ids[k + 8], 0);
      if (k + 4 < ids.size()) h_.Prefetch(ids[k + 4], 1);
      const SeriesId id = ids[k];
      const std::span<const SamplePoint> pts = RangePoints(id, sel);
      if (auto st = Tick(); !st.ok()) return st;
      const size_t before = out.vec.size();
      RangeValue(call, sel, id, pts, keep_name, &out.vec);
      // Prometheus holds one series' window at a time, plus the points yielded so far.
      if (acct_ != nullptr) {
        if (auto st =
                acct_->RangeSeries(node, id, pts.size(), out.vec.size() - before, out.vec.size());
            !st.ok()) {
          return st;
        }
      }
    }
    if (!keep_name) {
      if (auto s = CheckUniqueAfterDrop(out.vec); !s.ok()) return s;
    }
    return out;
  }

  // The value of range function `call` over series `id`'s window `pts`, appended to `out`
  // (nothing when the function has none there).
  void RangeValue(const Expr& call, const Expr& sel, SeriesId id, std::span<const SamplePoint> pts,
                  bool keep_name, IVector* out) {
    if (h_.IsHistogram(id)) {
      if (call.func == Function::kCountOverTime) {
        // Counts histogram samples as float ones (Prometheus, every version).
        if (!pts.empty())
          out->push_back({&h_.LabelsOf(id), true, static_cast<double>(pts.size()), id});
        return;
      }
      const bool counter = call.func != Function::kDelta;
      if (call.func != Function::kRate && call.func != Function::kIncrease &&
          call.func != Function::kDelta) {
        // Prometheus 2.42 answers 0 here (it reads a histogram sample's float value, which
        // it leaves 0); later versions skip histogram samples, as strobe does.
        return;
      }
      NativeHistogram h;
      if (!HistogramRate(id, sel, counter, call.func == Function::kRate, &h)) return;
      hist_arena_.push_back(std::move(h));
      ISample smp{&h_.LabelsOf(id), true, hist_arena_.back().count, id, &hist_arena_.back()};
      out->push_back(smp);
      return;
    }
    double v = 0;
    bool ok = false;
    switch (call.func) {
      case Function::kRate:
        ok = ExtrapolatedRate(pts, sel, t_, true, true, &v);
        break;
      case Function::kIncrease:
        ok = ExtrapolatedRate(pts, sel, t_, true, false, &v);
        break;
      case Function::kDelta:
        ok = ExtrapolatedRate(pts, sel, t_, false, false, &v);
        break;
      case Function::kIrate:
        ok = InstantValue(pts, true, &v);
        break;
      case Function::kIdelta:
        ok = InstantValue(pts, false, &v);
        break;
      default:
        ok = !pts.empty();
        if (ok) v = OverTime(call.func, pts);
        break;
    }
    if (ok) out->push_back({&h_.LabelsOf(id), !keep_name, v, id});
  }

  // Dropping the name of samples with different names may leave two with one label set;
  // Prometheus refuses that result.
  strobe::Status CheckUniqueAfterDrop(const IVector& vec) {
    if (vec.size() < 2) return strobe::OkStatus();
    const uint32_t name_symbol = h_.Symbol(std::string(kNameLabel));
    auto name_of = [&](const ISample& s) {
      ISample named = s;
      named.drop_name = false;
      return LabelOf(named, kNameLabel, name_symbol);
    };
    const std::string_view name0 = name_of(vec[0]);
    bool uniform = true;
    for (const ISample& s : vec) {
      if (name_of(s) != name0) {
        uniform = false;
        break;
      }
    }
    if (uniform) return strobe::OkStatus();
    std::unordered_set<std::string> seen;
    std::string key;
    for (const ISample& s : vec) {
      key.clear();
      for (const Label& l : *s.labels) {
        if (s.drop_name && l.name == kNameLabel) continue;
        AppendKey(l.name, l.value, &key);
      }
      if (!seen.insert(key).second) {
        return strobe::InvalidArgument("vector cannot contain metrics with the same labelset");
      }
    }
    return strobe::OkStatus();
  }

  strobe::Result<double> ScalarArg(const Expr& e) {
    auto v = Eval(e);
    if (!v.ok()) return v.status();
    if (!v->is_scalar) return strobe::InvalidArgument("expected a scalar argument");
    return v->scalar;
  }

  strobe::Result<IValue> Call(const Expr& e) {
    switch (e.func) {
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
        return RangeFunction(e);
      case Function::kTime: {
        IValue v;
        v.is_scalar = true;
        v.scalar = static_cast<double>(t_) / 1000;
        return v;
      }
      case Function::kVector: {
        auto s = ScalarArg(*e.args[0]);
        if (!s.ok()) return s.status();
        IValue v;
        v.vec.push_back({&empty_, false, *s});
        return v;
      }
      case Function::kScalar: {
        auto in = Eval(*e.args[0]);
        if (!in.ok()) return in;
        DropHistograms(&in->vec);
        IValue v;
        v.is_scalar = true;
        v.scalar = in->vec.size() == 1 ? in->vec[0].value : kNaN;
        return v;
      }
      case Function::kAbsent:
        return Absent(e);
      case Function::kHistogramQuantile:
        return HistogramQuantile(e);
      case Function::kHistogramCount:
      case Function::kHistogramSum:
      case Function::kHistogramFraction:
        return HistogramFunction(e);
      default:
        break;
    }
    // Element-wise functions of one instant vector (clamp_* take a scalar too).
    auto in = Eval(*e.args[0]);
    if (!in.ok()) return in;
    DropHistograms(&in->vec);
    double bound = 0;
    if (e.func == Function::kClampMin || e.func == Function::kClampMax) {
      auto s = ScalarArg(*e.args[1]);
      if (!s.ok()) return s.status();
      bound = *s;
    }
    for (ISample& s : in->vec) {
      s.drop_name = true;
      double& v = s.value;
      switch (e.func) {
        case Function::kAbs:
          v = std::fabs(v);
          break;
        case Function::kCeil:
          v = std::ceil(v);
          break;
        case Function::kFloor:
          v = std::floor(v);
          break;
        case Function::kExp:
          v = std::exp(v);
          break;
        case Function::kLn:
          v = std::log(v);
          break;
        case Function::kSqrt:
          v = std::sqrt(v);
          break;
        case Function::kClampMin:
          v = std::max(bound, v);  // Prometheus: math.Max(min, v)
          break;
        case Function::kClampMax:
          v = std::min(bound, v);
          break;
        default:
          break;
      }
    }
    if (auto s = CheckUniqueAfterDrop(in->vec); !s.ok()) return s;
    return in;
  }

  strobe::Result<IValue> Absent(const Expr& e) {
    auto in = Eval(*e.args[0]);
    if (!in.ok()) return in;
    IValue out;
    if (!in->vec.empty()) return out;
    Labels labels;
    const Expr& arg = *e.args[0];
    if (arg.kind == ExprKind::kVectorSelector) {
      // As Prometheus' createLabelsForAbsentFunction: labels of the equality matchers; a label
      // with a second or a non-equality matcher is left out.
      std::vector<std::string> removed;
      for (const Matcher& m : arg.matchers) {
        if (m.name == kNameLabel) continue;
        auto it = std::find_if(labels.begin(), labels.end(),
                               [&](const Label& l) { return l.name == m.name; });
        if (m.op == MatchOp::kEqual && it == labels.end() && !Contains(removed, m.name)) {
          labels.push_back({m.name, m.value});
        } else {
          if (it != labels.end()) labels.erase(it);
          removed.push_back(m.name);
        }
      }
      labels = SortedLabels(std::move(labels));
    }
    out.vec.push_back({Own(std::move(labels)), false, 1});
    return out;
  }

  strobe::Result<IValue> HistogramQuantile(const Expr& e) {
    auto q = ScalarArg(*e.args[0]);
    if (!q.ok()) return q.status();
    auto in = Eval(*e.args[1]);
    if (!in.ok()) return in;
    struct Group {
      const ISample* first = nullptr;
      std::vector<Bucket> buckets;
    };
    GroupIndex index;
    std::vector<Group> groups;
    std::string key;
    const uint32_t le_symbol = h_.Symbol(std::string("le"));
    IValue native;
    for (const ISample& s : in->vec) {
      if (s.hist != nullptr) {
        native.vec.push_back({s.labels, true, NativeQuantile(*q, *s.hist), s.series});
        continue;
      }
      const std::string_view le = LabelOf(s, "le", le_symbol);
      if (le.empty()) continue;
      const std::string le_str(le);
      char* end = nullptr;
      const double upper = std::strtod(le_str.c_str(), &end);
      // Not a number: skipped, as Prometheus does. A NaN bound is skipped too: it would break
      // the sort's ordering (Prometheus' result for one is unspecified).
      if (end == le_str.c_str() || *end != '\0' || std::isnan(upper)) continue;
      key.clear();
      for (const Label& l : *s.labels) {
        if (l.name == "le" || (s.drop_name && l.name == kNameLabel)) continue;
        AppendKey(l.name, l.value, &key);
      }
      bool inserted = false;
      const size_t gi = index.Find(key, groups.size(), &inserted);
      if (inserted) groups.push_back({&s, {}});
      groups[gi].buckets.push_back({upper, s.value});
    }
    IValue out;
    for (Group& g : groups) {
      Labels labels;
      for (const Label& l : *g.first->labels) {
        if (l.name == "le" || l.name == kNameLabel) continue;
        labels.push_back(l);
      }
      out.vec.push_back({Own(std::move(labels)), false, BucketQuantile(*q, g.buckets)});
    }
    out.vec.insert(out.vec.end(), native.vec.begin(), native.vec.end());
    // Groups differing only by name give one label set (Prometheus refuses it too).
    std::unordered_set<std::string> seen;
    for (const ISample& s : out.vec) {
      key.clear();
      for (const Label& l : *s.labels) {
        if (s.drop_name && l.name == kNameLabel) continue;
        AppendKey(l.name, l.value, &key);
      }
      if (!seen.insert(key).second) {
        return strobe::InvalidArgument("vector cannot contain metrics with the same labelset");
      }
    }
    return out;
  }

  // histogram_count / histogram_sum / histogram_fraction of native histogram samples.
  strobe::Result<IValue> HistogramFunction(const Expr& e) {
    double lower = 0;
    double upper = 0;
    size_t arg = 0;
    if (e.func == Function::kHistogramFraction) {
      auto lo = ScalarArg(*e.args[0]);
      if (!lo.ok()) return lo.status();
      auto up = ScalarArg(*e.args[1]);
      if (!up.ok()) return up.status();
      lower = *lo;
      upper = *up;
      arg = 2;
    }
    auto in = Eval(*e.args[arg]);
    if (!in.ok()) return in;
    IValue out;
    for (const ISample& s : in->vec) {
      if (s.hist == nullptr) continue;
      double v = 0;
      switch (e.func) {
        case Function::kHistogramCount:
          v = s.hist->count;
          break;
        case Function::kHistogramSum:
          v = s.hist->sum;
          break;
        default:
          v = NativeFraction(lower, upper, *s.hist);
          break;
      }
      out.vec.push_back({s.labels, true, v, s.series});
    }
    if (auto st = CheckUniqueAfterDrop(out.vec); !st.ok()) return st;
    return out;
  }

  strobe::Result<IValue> Aggregate(const Expr& e) {
    auto in = Eval(*e.args[0]);
    if (!in.ok()) return in;
    if (e.agg != AggOp::kSum && e.agg != AggOp::kCount) DropHistograms(&in->vec);
    struct Group {
      const Labels* labels = nullptr;
      double value = 0;
      double count = 0;
      NativeHistogram* hist = nullptr;  // sum: the histogram sum once one is seen
      bool hist_ok = true;              // false when histograms of different units met
    };
    GroupIndex index;
    std::vector<Group> groups;
    std::string& key = key_;
    std::vector<std::string> by = e.grouping;
    std::sort(by.begin(), by.end());
    by.erase(std::unique(by.begin(), by.end()), by.end());
    std::vector<uint32_t> by_symbols;
    for (const std::string& n : by) by_symbols.push_back(h_.Symbol(n));
    for (const ISample& s : in->vec) {
      key.clear();
      if (e.without) {
        for (const Label& l : *s.labels) {
          if (l.name == kNameLabel || Contains(by, l.name)) continue;
          AppendKey(l.name, l.value, &key);
        }
      } else {
        for (size_t i = 0; i < by.size(); ++i) {
          const std::string_view v = LabelOf(s, by[i], by_symbols[i]);
          if (!v.empty()) AppendKey(by[i], v, &key);
        }
      }
      bool inserted = false;
      const size_t gi = index.Find(key, groups.size(), &inserted);
      if (inserted) {
        Labels labels;
        if (e.without) {
          for (const Label& l : *s.labels) {
            if (l.name == kNameLabel || Contains(by, l.name)) continue;
            labels.push_back(l);
          }
        } else {
          for (const std::string& n : by) {
            const std::string_view v = Get(s, n);
            if (!v.empty()) labels.push_back({n, std::string(v)});
          }
        }
        groups.push_back({Own(std::move(labels)), s.hist != nullptr ? 0 : s.value, 1});
        if (s.hist != nullptr && e.agg == AggOp::kSum) {
          hist_arena_.push_back(*s.hist);
          groups.back().hist = &hist_arena_.back();
        }
        continue;
      }
      Group& g = groups[gi];
      g.count++;
      switch (e.agg) {
        case AggOp::kSum:
          if (s.hist != nullptr) {
            if (g.hist == nullptr) {
              hist_arena_.push_back(*s.hist);
              g.hist = &hist_arena_.back();
            } else if (!Accumulate(g.hist, *s.hist, 1)) {
              g.hist_ok = false;
            }
          } else {
            g.value += s.value;
          }
          break;
        case AggOp::kAvg:
          // Prometheus 2.x incremental mean.
          if (std::isinf(g.value)) {
            if (std::isinf(s.value) && (g.value > 0) == (s.value > 0)) break;
            if (!std::isinf(s.value) && !std::isnan(s.value)) break;
          }
          g.value += s.value / g.count - g.value / g.count;
          break;
        case AggOp::kMin:
          if (g.value > s.value || std::isnan(g.value)) g.value = s.value;
          break;
        case AggOp::kMax:
          if (g.value < s.value || std::isnan(g.value)) g.value = s.value;
          break;
        case AggOp::kCount:
          break;
      }
    }
    IValue out;
    out.vec.reserve(groups.size());
    for (const Group& g : groups) {
      if (g.hist != nullptr && e.agg == AggOp::kSum) {
        if (g.hist_ok) {
          out.vec.push_back({g.labels, false, g.hist->count, ISample::kNoSeries, g.hist});
        }
        continue;
      }
      out.vec.push_back({g.labels, false, e.agg == AggOp::kCount ? g.count : g.value});
    }
    return out;
  }

  // The matching signature of a sample (Prometheus' signatureFunc): with on(...) the listed
  // labels, otherwise every label but the ignored ones and the name.
  void Signature(const ISample& s, const VectorMatching& m, std::string* key) {
    key->clear();
    if (m.on) {
      for (size_t i = 0; i < sorted_on_.size(); ++i) {
        const std::string_view v = LabelOf(s, sorted_on_[i], on_symbols_[i]);
        if (!v.empty()) AppendKey(sorted_on_[i], v, key);
      }
      return;
    }
    for (const Label& l : *s.labels) {
      if (l.name == kNameLabel || Contains(m.labels, l.name)) continue;
      AppendKey(l.name, l.value, key);
    }
  }

  strobe::Result<IValue> Binary(const Expr& e) {
    auto lv = Eval(*e.args[0]);
    if (!lv.ok()) return lv;
    auto rv = Eval(*e.args[1]);
    if (!rv.ok()) return rv;
    const BinOp op = e.bin_op;
    if (op != BinOp::kAnd && op != BinOp::kOr && op != BinOp::kUnless) {
      DropHistograms(&lv->vec);
      DropHistograms(&rv->vec);
    }
    if (lv->is_scalar && rv->is_scalar) {
      IValue out;
      out.is_scalar = true;
      auto [v, keep] = ElemBinop(op, lv->scalar, rv->scalar);
      out.scalar = IsComparison(op) ? (keep ? 1 : 0) : v;
      return out;
    }
    if (lv->is_scalar || rv->is_scalar) {
      const bool swap = lv->is_scalar;
      IValue out = swap ? std::move(*rv) : std::move(*lv);
      const double scalar = swap ? lv->scalar : rv->scalar;
      IVector kept;
      kept.reserve(out.vec.size());
      for (ISample s : out.vec) {
        double l = s.value;
        double r = scalar;
        if (swap) std::swap(l, r);
        auto [v, keep] = ElemBinop(op, l, r);
        // A comparison keeps the vector's value even when the scalar is on the left.
        if (IsComparison(op) && swap) v = r;
        if (e.return_bool) {
          v = keep ? 1 : 0;
          keep = true;
        }
        if (!keep) continue;
        s.value = v;
        if (DropsName(op) || e.return_bool) s.drop_name = true;
        kept.push_back(s);
      }
      out.vec = std::move(kept);
      if (DropsName(op) || e.return_bool) {
        if (auto st = CheckUniqueAfterDrop(out.vec); !st.ok()) return st;
      }
      return out;
    }
    const VectorMatching& m = e.matching;
    sorted_on_ = m.labels;
    std::sort(sorted_on_.begin(), sorted_on_.end());
    on_symbols_.clear();
    for (const std::string& n : sorted_on_) on_symbols_.push_back(h_.Symbol(n));
    switch (op) {
      case BinOp::kAnd:
      case BinOp::kOr:
      case BinOp::kUnless:
        return SetOp(op, m, std::move(*lv), std::move(*rv));
      default:
        return VectorBinop(e, std::move(*lv), std::move(*rv));
    }
  }

  IValue SetOp(BinOp op, const VectorMatching& m, IValue lhs, IValue rhs) {
    std::unordered_set<std::string> sigs;
    std::string key;
    IValue out;
    if (op == BinOp::kOr) {
      for (const ISample& s : lhs.vec) {
        Signature(s, m, &key);
        sigs.insert(key);
      }
      out.vec = std::move(lhs.vec);
      for (const ISample& s : rhs.vec) {
        Signature(s, m, &key);
        if (!sigs.contains(key)) out.vec.push_back(s);
      }
      return out;
    }
    for (const ISample& s : rhs.vec) {
      Signature(s, m, &key);
      sigs.insert(key);
    }
    for (const ISample& s : lhs.vec) {
      Signature(s, m, &key);
      if (sigs.contains(key) == (op == BinOp::kAnd)) out.vec.push_back(s);
    }
    return out;
  }

  strobe::Result<IValue> VectorBinop(const Expr& e, IValue lhs_v, IValue rhs_v) {
    const VectorMatching& m = e.matching;
    const BinOp op = e.bin_op;
    IVector* lhs = &lhs_v.vec;
    IVector* rhs = &rhs_v.vec;
    const bool one_to_many = m.card == VectorMatching::Card::kOneToMany;
    if (one_to_many) std::swap(lhs, rhs);
    std::unordered_map<std::string, const ISample*> right;
    std::string key;
    for (const ISample& s : *rhs) {
      Signature(s, m, &key);
      auto [it, inserted] = right.try_emplace(key, &s);
      if (!inserted) {
        return strobe::InvalidArgument(
            "found duplicate series for the match group on the " +
            std::string(one_to_many ? "left" : "right") +
            " hand-side of the operation; many-to-many matching not allowed: matching labels "
            "must be unique on one side");
      }
    }
    const bool one_to_one = m.card == VectorMatching::Card::kOneToOne;
    // Results whose labels are the left sample's (possibly without the name) need no new set.
    const bool borrow = one_to_one && !m.on && m.labels.empty() && m.include.empty();
    std::unordered_map<std::string, std::unordered_set<std::string>> matched;
    IValue out;
    std::string result_key;
    for (const ISample& ls : *lhs) {
      Signature(ls, m, &key);
      auto it = right.find(key);
      if (it == right.end()) continue;
      const ISample& rs = *it->second;
      double vl = ls.value;
      double vr = rs.value;
      if (one_to_many) std::swap(vl, vr);
      auto [value, keep] = ElemBinop(op, vl, vr);
      if (e.return_bool) {
        value = keep ? 1 : 0;
      } else if (!keep) {
        continue;
      }
      ISample res;
      res.value = value;
      if (borrow) {
        res.labels = ls.labels;
        res.drop_name = ls.drop_name || DropsName(op) || e.return_bool;
      } else {
        Labels labels = Materialize(ls);
        auto erase = [&labels](std::string_view n) {
          labels.erase(std::remove_if(labels.begin(), labels.end(),
                                      [n](const Label& l) { return l.name == n; }),
                       labels.end());
        };
        if (DropsName(op) || e.return_bool) erase(kNameLabel);
        if (one_to_one) {
          if (m.on) {
            labels.erase(
                std::remove_if(labels.begin(), labels.end(),
                               [&m](const Label& l) { return !Contains(m.labels, l.name); }),
                labels.end());
          } else {
            for (const std::string& n : m.labels) erase(n);
          }
        }
        for (const std::string& n : m.include) {
          const std::string_view v = Get(rs, n);
          erase(n);
          if (!v.empty()) labels.push_back({n, std::string(v)});
        }
        res.labels = Own(SortedLabels(std::move(labels)));
      }
      auto [mit, first] = matched.try_emplace(key);
      if (one_to_one) {
        if (!first) {
          return strobe::InvalidArgument(
              "multiple matches for labels: many-to-one matching must be explicit "
              "(group_left/group_right)");
        }
      } else {
        result_key.clear();
        for (const Label& l : *res.labels) {
          if (res.drop_name && l.name == kNameLabel) continue;
          AppendKey(l.name, l.value, &result_key);
        }
        if (!mit->second.insert(result_key).second) {
          return strobe::InvalidArgument(
              "multiple matches for labels: grouping labels must ensure unique matches");
        }
      }
      out.vec.push_back(res);
    }
    if (borrow && (DropsName(op) || e.return_bool)) {
      if (auto s = CheckUniqueAfterDrop(out.vec); !s.ok()) return s;
    }
    return out;
  }

  const History& h_;
  const int64_t t_;
  const Limits& limits_;
  SampleAccounting* const acct_;
  SampleAccounting::Node* node_ = nullptr;  // the node Eval entered last
  uint32_t ticks_ = 0;
  const Labels empty_;
  std::deque<Labels> arena_;                // stable addresses for labels built during evaluation
  std::deque<NativeHistogram> hist_arena_;  // histograms computed during evaluation
  std::vector<std::pair<int64_t, const NativeHistogram*>> hist_points_;  // scratch
  std::vector<SeriesId> ids_;
  std::vector<SamplePoint> points_;
  std::vector<std::string> sorted_on_;
  std::vector<uint32_t> on_symbols_;
  std::string key_;  // scratch for Aggregate (not re-entrant: its input is evaluated first)
};

bool LabelsLess(const Labels& a, const Labels& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i].name != b[i].name) return a[i].name < b[i].name;
    if (a[i].value != b[i].value) return a[i].value < b[i].value;
  }
  return a.size() < b.size();
}

std::string KeyOfLabels(const Labels& labels) {
  std::string key;
  for (const Label& l : labels) AppendKey(l.name, l.value, &key);
  return key;
}

}  // namespace

strobe::Result<Value> Evaluate(const Expr& expr, const History& history, int64_t t_ms,
                               const Limits& limits) {
  auto lock = history.ReadLock();
  std::optional<SampleAccounting> accounting;
  if (limits.max_samples != 0) accounting.emplace(expr, 1, limits.max_samples);
  Evaluator ev(history, t_ms, limits, accounting ? &*accounting : nullptr);
  auto v = ev.Eval(expr);
  if (!v.ok()) return v.status();
  if (accounting) {
    if (auto st = accounting->CheckQuery(true); !st.ok()) return st;
  }
  Value out;
  if (v->is_scalar) {
    out.kind = Value::Kind::kScalar;
    out.scalar = v->scalar;
    return out;
  }
  out.kind = Value::Kind::kVector;
  out.vector.reserve(v->vec.size());
  for (const ISample& s : v->vec) {
    out.vector.push_back(
        {Materialize(s), s.value,
         s.hist != nullptr ? std::make_shared<const NativeHistogram>(*s.hist) : nullptr});
  }
  std::sort(out.vector.begin(), out.vector.end(),
            [](const Sample& a, const Sample& b) { return LabelsLess(a.labels, b.labels); });
  return out;
}

strobe::Result<std::vector<RangeSeries>> EvaluateRange(const Expr& expr, const History& history,
                                                       int64_t start_ms, int64_t end_ms,
                                                       int64_t step_ms, const Limits& limits) {
  if (step_ms <= 0 || end_ms < start_ms) {
    return strobe::InvalidArgument("range query needs step > 0 and end >= start");
  }
  if (TypeOf(expr) == ValueType::kMatrix) {
    return strobe::InvalidArgument(
        "invalid expression type \"range vector\" for range query, must be Scalar or instant "
        "Vector");
  }
  std::vector<RangeSeries> out;
  std::unordered_map<std::string, size_t> index;
  std::optional<SampleAccounting> accounting;
  if (limits.max_samples != 0) {
    const auto steps = static_cast<size_t>((end_ms - start_ms) / step_ms) + 1;
    accounting.emplace(expr, steps, limits.max_samples);
  }
  size_t step = 0;
  for (int64_t t = start_ms; t <= end_ms; t += step_ms, ++step) {
    // The read lock is taken per step: a long query lets the history's writer in between.
    auto lock = history.ReadLock();
    if (accounting) accounting->BeginStep(step);
    Evaluator ev(history, t, limits, accounting ? &*accounting : nullptr);
    if (auto st = ev.CheckDeadline(); !st.ok()) return st;
    auto v = ev.Eval(expr);
    if (!v.ok()) return v.status();
    if (accounting) {
      if (auto st = accounting->CheckQuery(false); !st.ok()) return st;
    }
    if (v->is_scalar) {
      if (out.empty()) out.emplace_back();
      out[0].points.push_back({t, v->scalar});
    } else {
      for (const ISample& s : v->vec) {
        Labels labels = Materialize(s);
        auto [it, inserted] = index.try_emplace(KeyOfLabels(labels), out.size());
        if (inserted) {
          out.emplace_back();
          out.back().labels = std::move(labels);
        }
        RangeSeries& series = out[it->second];
        if (s.hist != nullptr) {
          series.histograms.emplace_back(t, std::make_shared<const NativeHistogram>(*s.hist));
        } else {
          series.points.push_back({t, s.value});
        }
      }
    }
    if (end_ms - t < step_ms) break;  // no overflow past end_ms
  }
  if (accounting) {
    if (auto st = accounting->CheckQuery(true); !st.ok()) return st;
  }
  std::sort(out.begin(), out.end(), [](const RangeSeries& a, const RangeSeries& b) {
    return LabelsLess(a.labels, b.labels);
  });
  return out;
}

}  // namespace strobed::alert::promql
