#include "strobed/alert/promql/history.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <utility>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"

namespace strobed::alert::promql {
namespace {

// Prometheus' value.StaleNaN: a NaN no arithmetic produces.
double StaleNaN() { return std::bit_cast<double>(History::kStaleNaNBits); }

// Appends the canonical key of a label set (sorted by name): name \0 value \0 ...
void AppendKey(std::string_view name, std::string_view value, std::string* key) {
  key->append(name);
  key->push_back('\0');
  key->append(value);
  key->push_back('\0');
}

// What a histogram sample costs against max_samples, in 16-byte sample units: the struct
// (~64 bytes) plus 8 bytes per bucket.
size_t HistogramCost(const NativeHistogram& h) { return 2 + h.counts.size() / 2; }

// Whether `h`'s exponential buckets hold every observation exactly: not derived from coarser
// buckets, and adding up to the count (a producer that filled only classic buckets has none).
bool ExactExponential(const strobe::snapshot::HistogramValue& h) {
  if (h.approximate_exponential) return false;
  uint64_t total = h.zero_count;
  for (uint64_t c : h.positive_counts) total += c;
  return total == h.count;
}

}  // namespace

double NativeHistogram::Lower(int64_t index) const {
  return std::exp2(std::ldexp(static_cast<double>(index), -scale)) * unit_scale;
}
double NativeHistogram::Upper(int64_t index) const { return Lower(index + 1); }

std::string_view LabelValue(const Labels& labels, std::string_view name) {
  // A linear scan comparing lengths first: label sets are short and names mostly differ in
  // length, so this beats a binary search of string comparisons (benchmarked).
  for (const strobe::snapshot::Label& l : labels) {
    if (l.name.size() == name.size() && l.name == name) return l.value;
  }
  return {};
}

Labels SortedLabels(Labels labels) {
  std::sort(labels.begin(), labels.end(),
            [](const strobe::snapshot::Label& a, const strobe::snapshot::Label& b) {
              return a.name < b.name;
            });
  return labels;
}

// One series: its labels and its samples in time order, contiguous so a range is a span.
// Expired samples are dropped by advancing `head`; the buffer is compacted when the dropped
// prefix outgrows the live part (amortised O(1) per sample, at most 2x the live samples).
struct History::Series {
  Labels labels;
  // The labels as interned (name, value) symbol pairs, same order: what Select compares, in
  // one cache line instead of a string per label (benchmarked: ~1/4 of a round went to label
  // string comparisons).
  std::vector<std::pair<uint32_t, uint32_t>> symbols;
  std::vector<SamplePoint> buf;
  // Histogram series: the histogram of each sample in buf, index for index (empty for
  // stale markers); empty for float series.
  std::vector<NativeHistogram> hists;
  bool histogram = false;
  size_t cost = 0;               // the live samples' cost against max_samples
  size_t head = 0;               // index of the oldest live sample in buf
  uint64_t seen_generation = 0;  // the Append that last gave this series a sample
  bool live = false;
  bool computed = false;  // written by AppendSample: Append's staleness pass leaves it alone

  size_t size() const { return buf.size() - head; }
  std::span<const SamplePoint> All() const {
    return std::span<const SamplePoint>(buf).subspan(head);
  }
  const SamplePoint* Newest() const { return size() == 0 ? nullptr : &buf.back(); }
  void Push(SamplePoint p, NativeHistogram* h) {
    if (head > 0 && head >= buf.size() - head) {
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(head));
      if (histogram) hists.erase(hists.begin(), hists.begin() + static_cast<std::ptrdiff_t>(head));
      head = 0;
    }
    buf.push_back(p);
    if (histogram) hists.push_back(h != nullptr ? std::move(*h) : NativeHistogram());
  }
  const SamplePoint& Oldest() const { return buf[head]; }
  // The cost of the sample at buf[i].
  size_t CostAt(size_t i) const { return histogram ? HistogramCost(hists[i]) : 1; }
  void PopOldest() {
    if (histogram) hists[head] = NativeHistogram();  // free its buckets now
    ++head;
  }
  // The samples with mint <= t <= maxt.
  std::span<const SamplePoint> Range(int64_t mint, int64_t maxt) const {
    // Scans back from the newest sample instead of a binary search: rules read recent
    // suffixes, and a sequential walk over the lines the caller reads next anyway costs fewer
    // cache misses than a binary search's jumps across the whole buffer (benchmarked).
    const std::span<const SamplePoint> all = All();
    size_t hi = all.size();
    while (hi > 0 && all[hi - 1].t_ms > maxt) --hi;  // usually maxt is now: no step
    size_t lo = hi;
    while (lo > 0 && all[lo - 1].t_ms >= mint) --lo;
    return all.subspan(lo, hi - lo);
  }
};

// Interned label names and values, reference-counted by the series holding them so series
// churn does not grow the table.
class SymbolTable {
 public:
  static constexpr uint32_t kNone = History::kNoSymbol;

  uint32_t Ref(const std::string& s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) {
      ++refs_[it->second];
      return it->second;
    }
    uint32_t id;
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
    } else {
      id = static_cast<uint32_t>(refs_.size());
      refs_.push_back(0);
      strings_.push_back(nullptr);
    }
    auto [node, unused] = ids_.emplace(s, id);
    refs_[id] = 1;
    strings_[id] = &node->first;  // unordered_map nodes do not move
    return id;
  }
  void Unref(uint32_t id) {
    if (--refs_[id] != 0) return;
    ids_.erase(*strings_[id]);
    strings_[id] = nullptr;
    free_.push_back(id);
  }
  uint32_t Find(const std::string& s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? kNone : it->second;
  }
  std::string_view String(uint32_t id) const {
    return id == kNone ? std::string_view() : std::string_view(*strings_[id]);
  }

 private:
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<uint32_t> refs_;
  std::vector<const std::string*> strings_;
  std::vector<uint32_t> free_;
};

struct History::State {
  explicit State(Options o) : options(o) {}

  SymbolTable symbols;

  Options options;
  std::vector<Series> series;  // by SeriesId; !live slots are free
  std::vector<SeriesId> free_ids;
  std::unordered_map<std::string, SeriesId> by_key;
  // Postings: label name -> label value -> sorted series ids (including __name__).
  std::unordered_map<std::string, std::unordered_map<std::string, std::vector<SeriesId>>> postings;
  uint64_t generation = 0;
  size_t live_series = 0;
  size_t samples = 0;
  Stats counters;
  std::string key;                                                   // scratch
  std::vector<std::pair<std::string_view, std::string_view>> pairs;  // scratch

  static std::string KeyOf(const Labels& sorted) {
    std::string key;
    for (const auto& l : sorted) AppendKey(l.name, l.value, &key);
    return key;
  }

  // The series for `sorted` labels (canonical `key`), created when new; nullptr when refused.
  Series* Get(const std::string& k, const Labels& sorted, SeriesId* id_out) {
    auto it = by_key.find(k);
    if (it != by_key.end()) {
      *id_out = it->second;
      return &series[it->second];
    }
    if (live_series >= options.max_series) {
      ++counters.series_refused;
      return nullptr;
    }
    SeriesId id;
    if (!free_ids.empty()) {
      id = free_ids.back();
      free_ids.pop_back();
    } else {
      id = static_cast<SeriesId>(series.size());
      series.emplace_back();
    }
    Series& s = series[id];
    s = Series();
    s.labels = sorted;
    s.symbols.reserve(sorted.size());
    for (const auto& l : sorted) {
      s.symbols.emplace_back(symbols.Ref(l.name), symbols.Ref(l.value));
    }
    s.live = true;
    ++live_series;
    by_key.emplace(k, id);
    for (const auto& l : s.labels) {
      std::vector<SeriesId>& p = postings[l.name][l.value];
      p.insert(std::lower_bound(p.begin(), p.end(), id), id);
    }
    *id_out = id;
    return &s;
  }

  // One exposed sample of the current generation.
  void Take(const strobe::metrics::ExposedSample& s, int64_t t_ms) {
    // The key is built from the labels sorted by name without materialising them; labels are
    // copied only for a new series.
    const std::vector<strobe::snapshot::Label>& ls = *s.labels;
    pairs.clear();
    pairs.emplace_back("__name__", s.name);
    // An empty value is no label, as in Prometheus (a scrape drops it).
    for (const auto& l : ls) {
      if (!l.value.empty()) pairs.emplace_back(l.name, l.value);
    }
    if (!s.extra_name.empty()) pairs.emplace_back(s.extra_name, s.extra_value);
    std::sort(pairs.begin(), pairs.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 1; i < pairs.size(); ++i) {
      if (pairs[i].first == pairs[i - 1].first) {  // e.g. a label named __name__ or le
        ++counters.samples_invalid;
        return;
      }
    }
    key.clear();
    for (const auto& [n, v] : pairs) AppendKey(n, v, &key);
    SeriesId id;
    Series* target = nullptr;
    auto it = by_key.find(key);
    if (it != by_key.end()) {
      id = it->second;
      target = &series[id];
    } else {
      Labels labels;
      labels.reserve(ls.size() + 2);
      labels.push_back({"__name__", std::string(s.name)});
      for (const auto& l : ls) {
        if (!l.value.empty()) labels.push_back(l);
      }
      if (!s.extra_name.empty()) {
        labels.push_back({std::string(s.extra_name), std::string(s.extra_value)});
      }
      target = Get(key, SortedLabels(std::move(labels)), &id);
      if (target == nullptr) return;
    }
    target->seen_generation = generation;
    AddPoint(*target, t_ms, s.value);
    if (s.histogram != nullptr && ExactExponential(*s.histogram)) TakeHistogram(s, t_ms);
  }

  // The native histogram of a histogram family's `_count` line, under the family's name.
  void TakeHistogram(const strobe::metrics::ExposedSample& s, int64_t t_ms) {
    const strobe::snapshot::HistogramValue& hv = *s.histogram;
    Labels labels;
    labels.reserve(s.labels->size() + 1);
    labels.push_back({"__name__", std::string(s.family_name)});
    for (const auto& l : *s.labels) {
      if (!l.value.empty()) labels.push_back(l);
    }
    labels = SortedLabels(std::move(labels));
    key = KeyOf(labels);
    SeriesId id;
    Series* target = Get(key, labels, &id);
    if (target == nullptr) return;
    if (!target->histogram) {
      if (target->size() > 0) {  // a float series of that name (another source): keep it
        ++counters.samples_invalid;
        return;
      }
      target->histogram = true;
    }
    target->seen_generation = generation;
    NativeHistogram h;
    h.count = static_cast<double>(hv.count);
    h.sum = hv.sum * hv.unit_scale;
    h.zero_count = static_cast<double>(hv.zero_count);
    h.scale = hv.scale;
    h.offset = hv.positive_offset;
    h.unit_scale = hv.unit_scale;
    h.counts.reserve(hv.positive_counts.size());
    for (uint64_t c : hv.positive_counts) h.counts.push_back(static_cast<double>(c));
    AddPoint(*target, t_ms, h.count, &h);
  }

  // Adds a float sample, or with `h` a histogram sample (moved from), to `s`.
  void AddPoint(Series& s, int64_t t_ms, double value, NativeHistogram* h = nullptr) {
    const SamplePoint* newest = s.Newest();
    if (newest != nullptr && newest->t_ms >= t_ms) {
      ++counters.samples_out_of_order;
      return;
    }
    const size_t cost = s.histogram ? (h != nullptr ? HistogramCost(*h) : 2) : 1;
    if (samples + cost > options.max_samples) {
      ++counters.samples_refused;
      return;
    }
    s.Push({t_ms, value}, h);
    samples += cost;
    s.cost += cost;
  }

  void Remove(SeriesId id) {
    Series& s = series[id];
    for (const auto& l : s.labels) {
      auto pn = postings.find(l.name);
      if (pn == postings.end()) continue;
      auto pv = pn->second.find(l.value);
      if (pv == pn->second.end()) continue;
      std::vector<SeriesId>& p = pv->second;
      auto it = std::lower_bound(p.begin(), p.end(), id);
      if (it != p.end() && *it == id) p.erase(it);
      if (p.empty()) {
        pn->second.erase(pv);
        if (pn->second.empty()) postings.erase(pn);
      }
    }
    for (const auto& [n, v] : s.symbols) {
      symbols.Unref(n);
      symbols.Unref(v);
    }
    by_key.erase(KeyOf(s.labels));
    samples -= s.cost;
    s = Series();
    free_ids.push_back(id);
    --live_series;
    ++counters.series_removed;
  }

  // Stale markers for series absent from this generation, then expiry.
  void Finish(int64_t t_ms, bool staleness) {
    const int64_t cutoff = t_ms - options.retention_ms;
    for (SeriesId id = 0; id < series.size(); ++id) {
      Series& s = series[id];
      if (!s.live) continue;
      if (staleness && !s.computed && s.seen_generation != generation) {
        const SamplePoint* newest = s.Newest();
        if (newest != nullptr && !IsStale(newest->value) && newest->t_ms < t_ms) {
          AddPoint(s, t_ms, StaleNaN());
        }
      }
      while (s.size() > 0 && s.Oldest().t_ms < cutoff) {
        const size_t cost = s.CostAt(s.head);
        s.PopOldest();
        samples -= cost;
        s.cost -= cost;
        ++counters.samples_expired;
      }
      if (s.size() == 0) Remove(id);
    }
  }
};

History::History(Options options) : state_(std::make_unique<State>(options)) {}
History::~History() = default;

void History::Append(const strobe::metrics::Registry& registry, int64_t t_ms) {
  std::unique_lock lock(mu_);
  ++state_->generation;
  strobe::metrics::VisitExposedSamples(
      registry, [this, t_ms](const strobe::metrics::ExposedSample& s) { state_->Take(s, t_ms); });
  state_->Finish(t_ms, /*staleness=*/true);
}

void History::Append(std::span<const strobe::snapshot::Family> families, int64_t t_ms) {
  std::unique_lock lock(mu_);
  ++state_->generation;
  strobe::metrics::VisitExposedSamples(
      families, [this, t_ms](const strobe::metrics::ExposedSample& s) { state_->Take(s, t_ms); });
  state_->Finish(t_ms, /*staleness=*/true);
}

void History::AppendSample(const Labels& labels, int64_t t_ms, double value) {
  std::unique_lock lock(mu_);
  State& st = *state_;
  Labels non_empty;
  for (const auto& l : labels) {
    if (!l.value.empty()) non_empty.push_back(l);
  }
  const Labels sorted = SortedLabels(std::move(non_empty));
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].name == sorted[i - 1].name) {
      ++st.counters.samples_invalid;
      return;
    }
  }
  SeriesId id;
  Series* series = st.Get(State::KeyOf(sorted), sorted, &id);
  if (series == nullptr) return;
  series->computed = true;
  if (series->histogram && !IsStale(value)) {
    ++st.counters.samples_invalid;
    return;
  }
  st.AddPoint(*series, t_ms, value);
}

void History::AppendHistogram(const Labels& labels, int64_t t_ms, NativeHistogram histogram) {
  std::unique_lock lock(mu_);
  State& st = *state_;
  const Labels sorted = SortedLabels(labels);
  SeriesId id;
  Series* series = st.Get(State::KeyOf(sorted), sorted, &id);
  if (series == nullptr) return;
  series->computed = true;
  if (!series->histogram) {
    if (series->size() > 0) {
      ++st.counters.samples_invalid;
      return;
    }
    series->histogram = true;
  }
  st.AddPoint(*series, t_ms, histogram.count, &histogram);
}

void History::AppendStale(const Labels& labels, int64_t t_ms) {
  AppendSample(labels, t_ms, StaleNaN());
}

void History::SetRetentionMs(int64_t retention_ms) {
  std::unique_lock lock(mu_);
  state_->options.retention_ms = retention_ms;
}

void History::SetLimits(size_t max_series, size_t max_samples) {
  std::unique_lock lock(mu_);
  state_->options.max_series = max_series;
  state_->options.max_samples = max_samples;
}

int64_t History::retention_ms() const {
  std::shared_lock lock(mu_);
  return state_->options.retention_ms;
}

History::Stats History::stats() const {
  std::shared_lock lock(mu_);
  Stats s = state_->counters;
  s.series = state_->live_series;
  s.samples = state_->samples;
  return s;
}

void History::Select(std::span<const Matcher> matchers, std::vector<SeriesId>* out) const {
  const State& st = *state_;
  // Candidates: the shortest posting list of an equality matcher with a non-empty value (a
  // missing label pair means no series matches); without one, the union over the label's
  // values that satisfy the first matcher that cannot match a missing label. Every matcher
  // is then checked per candidate.
  std::vector<SeriesId> candidates;
  bool have = false;
  // Start from the smallest posting list of an equality matcher: every other matcher is then
  // checked on the candidates' own labels, which costs less than intersecting with a long
  // list (job="x" may hold a tenth of all series).
  const std::vector<SeriesId>* smallest = nullptr;
  const Matcher* used = nullptr;  // satisfied by every series of `smallest`
  for (const Matcher& m : matchers) {
    if (m.op != MatchOp::kEqual || m.value.empty()) continue;
    auto pn = st.postings.find(m.name);
    if (pn == st.postings.end()) return;
    auto pv = pn->second.find(m.value);
    if (pv == pn->second.end()) return;
    if (smallest == nullptr || pv->second.size() < smallest->size()) {
      smallest = &pv->second;
      used = &m;
    }
  }
  if (smallest != nullptr) have = true;
  if (!have) {
    for (const Matcher& m : matchers) {
      if (m.Matches("")) continue;
      auto pn = st.postings.find(m.name);
      if (pn == st.postings.end()) return;
      for (const auto& [value, ids] : pn->second) {
        if (m.Matches(value)) candidates.insert(candidates.end(), ids.begin(), ids.end());
      }
      have = true;
      break;
    }
  }
  if (!have) {
    // Every matcher matches the empty string (the parser refuses such selectors; kept for
    // callers building matchers by hand): scan.
    for (SeriesId id = 0; id < st.series.size(); ++id) {
      if (st.series[id].live) candidates.push_back(id);
    }
  }
  // Filter by the matchers on the interned symbols; regex results are memoised per value
  // symbol, since a label usually has few values across the candidates.
  struct Resolved {
    uint32_t name = SymbolTable::kNone;
    uint32_t value = SymbolTable::kNone;  // equality matchers: the value's symbol
    std::unordered_map<uint32_t, bool> memo;
  };
  std::vector<Resolved> resolved(matchers.size());
  for (size_t i = 0; i < matchers.size(); ++i) {
    resolved[i].name = st.symbols.Find(matchers[i].name);
    if (matchers[i].op == MatchOp::kEqual || matchers[i].op == MatchOp::kNotEqual) {
      resolved[i].value = st.symbols.Find(matchers[i].value);
    }
  }
  const std::span<const SeriesId> base =
      smallest != nullptr ? std::span<const SeriesId>(*smallest) : candidates;
  out->reserve(out->size() + base.size());
  for (SeriesId id : base) {
    const auto& syms = st.series[id].symbols;
    bool ok = true;
    for (size_t i = 0; i < matchers.size() && ok; ++i) {
      const Matcher& m = matchers[i];
      if (&m == used) continue;
      Resolved& r = resolved[i];
      uint32_t v = SymbolTable::kNone;  // missing label
      if (r.name != SymbolTable::kNone) {
        for (const auto& [n, val] : syms) {
          if (n == r.name) {
            v = val;
            break;
          }
        }
      }
      switch (m.op) {
        case MatchOp::kEqual:
        case MatchOp::kNotEqual: {
          // Stored values are never empty, so "missing" is exactly the empty value; a
          // non-empty value no series holds (kNone) matches nothing.
          const bool eq = m.value.empty() ? v == SymbolTable::kNone
                                          : (r.value != SymbolTable::kNone && v == r.value);
          ok = m.op == MatchOp::kEqual ? eq : !eq;
          break;
        }
        case MatchOp::kRegex:
        case MatchOp::kNotRegex: {
          auto [slot, inserted] = r.memo.try_emplace(v, false);
          if (inserted) slot->second = m.Matches(st.symbols.String(v));
          ok = slot->second;
          break;
        }
      }
    }
    if (ok) out->push_back(id);
  }
}

const Labels& History::LabelsOf(SeriesId id) const { return state_->series[id].labels; }

void History::Prefetch(SeriesId id, int stage) const {
  const Series& s = state_->series[id];
  if (stage == 0) {
    __builtin_prefetch(&s);
    return;
  }
  const size_t n = s.buf.size();
  if (n == 0) return;
  // The newest samples, where ranges end: a 5 m window at a 15 s interval spans ~5 lines.
  const SamplePoint* p = s.buf.data() + n - 1;
  for (int line = 0; line < 6 && p >= s.buf.data() + s.head; ++line, p -= 4) {
    __builtin_prefetch(p);
  }
}

bool History::IsHistogram(SeriesId id) const { return state_->series[id].histogram; }

std::span<const NativeHistogram> History::HistogramsOf(SeriesId id,
                                                       std::span<const SamplePoint> range) const {
  const Series& s = state_->series[id];
  if (!s.histogram || range.empty()) return {};
  const size_t first = static_cast<size_t>(range.data() - s.buf.data());
  return std::span<const NativeHistogram>(s.hists).subspan(first, range.size());
}

uint32_t History::Symbol(const std::string& name) const { return state_->symbols.Find(name); }

std::string_view History::LabelValue(SeriesId id, uint32_t name_symbol) const {
  if (name_symbol == kNoSymbol) return {};
  for (const auto& [n, v] : state_->series[id].symbols) {
    if (n == name_symbol) return state_->symbols.String(v);
  }
  return {};
}

void History::Points(SeriesId id, int64_t mint_ms, int64_t maxt_ms,
                     std::vector<SamplePoint>* out) const {
  const std::span<const SamplePoint> r = Range(id, mint_ms, maxt_ms);
  out->assign(r.begin(), r.end());
}

std::span<const SamplePoint> History::Range(SeriesId id, int64_t mint_ms, int64_t maxt_ms) const {
  return state_->series[id].Range(mint_ms, maxt_ms);
}

bool History::Last(SeriesId id, int64_t mint_ms, int64_t maxt_ms, SamplePoint* out) const {
  const std::span<const SamplePoint> all = state_->series[id].All();
  for (size_t i = all.size(); i > 0; --i) {
    const SamplePoint& p = all[i - 1];
    if (p.t_ms > maxt_ms) continue;
    if (p.t_ms < mint_ms) return false;
    *out = p;
    return true;
  }
  return false;
}

}  // namespace strobed::alert::promql
