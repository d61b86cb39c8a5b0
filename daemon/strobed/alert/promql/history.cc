#include "strobed/alert/promql/history.h"

#include <algorithm>
#include <bit>
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
constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;

double StaleNaN() { return std::bit_cast<double>(kStaleNaNBits); }

// Appends the canonical key of a label set (sorted by name): name \0 value \0 ...
void AppendKey(std::string_view name, std::string_view value, std::string* key) {
  key->append(name);
  key->push_back('\0');
  key->append(value);
  key->push_back('\0');
}

}  // namespace

Labels SortedLabels(Labels labels) {
  std::sort(labels.begin(), labels.end(),
            [](const strobe::snapshot::Label& a, const strobe::snapshot::Label& b) {
              return a.name < b.name;
            });
  return labels;
}

// One series: its labels and a ring of samples in time order.
struct History::Series {
  Labels labels;
  std::vector<SamplePoint> ring;  // capacity = ring.size(); a power of two or 0
  size_t head = 0;                // index of the oldest sample
  size_t size = 0;
  uint64_t seen_generation = 0;  // the Append that last gave this series a sample
  bool live = false;
  bool computed = false;  // written by AppendSample: Append's staleness pass leaves it alone

  const SamplePoint& At(size_t i) const { return ring[(head + i) & (ring.size() - 1)]; }
  const SamplePoint* Newest() const { return size == 0 ? nullptr : &At(size - 1); }
  void Push(SamplePoint p) {
    if (size == ring.size()) {
      std::vector<SamplePoint> grown(ring.empty() ? 4 : ring.size() * 2);
      for (size_t i = 0; i < size; ++i) grown[i] = At(i);
      ring = std::move(grown);
      head = 0;
    }
    ring[(head + size) & (ring.size() - 1)] = p;
    ++size;
  }
  void PopOldest() {
    head = (head + 1) & (ring.size() - 1);
    --size;
  }
  // First logical index with t >= mint.
  size_t LowerBound(int64_t mint) const {
    size_t lo = 0;
    size_t hi = size;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (At(mid).t_ms < mint) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
};

struct History::State {
  explicit State(Options o) : options(o) {}

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
    for (const auto& l : ls) pairs.emplace_back(l.name, l.value);
    if (!s.extra_name.empty()) pairs.emplace_back(s.extra_name, s.extra_value);
    std::sort(pairs.begin(), pairs.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
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
      for (const auto& l : ls) labels.push_back(l);
      if (!s.extra_name.empty()) {
        labels.push_back({std::string(s.extra_name), std::string(s.extra_value)});
      }
      target = Get(key, SortedLabels(std::move(labels)), &id);
      if (target == nullptr) return;
    }
    target->seen_generation = generation;
    AddPoint(*target, t_ms, s.value);
  }

  void AddPoint(Series& s, int64_t t_ms, double value) {
    const SamplePoint* newest = s.Newest();
    if (newest != nullptr && newest->t_ms >= t_ms) {
      ++counters.samples_out_of_order;
      return;
    }
    if (samples >= options.max_samples) {
      ++counters.samples_refused;
      return;
    }
    s.Push({t_ms, value});
    ++samples;
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
    by_key.erase(KeyOf(s.labels));
    samples -= s.size;
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
      while (s.size > 0 && s.At(0).t_ms < cutoff) {
        s.PopOldest();
        --samples;
        ++counters.samples_expired;
      }
      if (s.size == 0) Remove(id);
    }
  }
};

History::History(Options options) : state_(std::make_unique<State>(options)) {}
History::~History() = default;

bool History::IsStale(double value) { return std::bit_cast<uint64_t>(value) == kStaleNaNBits; }

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
  const Labels sorted = SortedLabels(labels);
  SeriesId id;
  Series* series = st.Get(State::KeyOf(sorted), sorted, &id);
  if (series == nullptr) return;
  series->computed = true;
  st.AddPoint(*series, t_ms, value);
}

void History::AppendStale(const Labels& labels, int64_t t_ms) {
  AppendSample(labels, t_ms, StaleNaN());
}

void History::SetRetentionMs(int64_t retention_ms) {
  std::unique_lock lock(mu_);
  state_->options.retention_ms = retention_ms;
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
  // Candidates: the intersection of the postings of every equality matcher with a non-empty
  // value (a missing label pair means no series matches); without one, the union over the
  // label's values that satisfy the first matcher that cannot match a missing label; the
  // other matchers are checked per candidate.
  std::vector<SeriesId> candidates;
  bool have = false;
  for (const Matcher& m : matchers) {
    if (m.op != MatchOp::kEqual || m.value.empty()) continue;
    auto pn = st.postings.find(m.name);
    if (pn == st.postings.end()) return;
    auto pv = pn->second.find(m.value);
    if (pv == pn->second.end()) return;
    if (!have) {
      candidates = pv->second;
      have = true;
    } else {
      std::vector<SeriesId> both;
      std::set_intersection(candidates.begin(), candidates.end(), pv->second.begin(),
                            pv->second.end(), std::back_inserter(both));
      candidates = std::move(both);
    }
    if (candidates.empty()) return;
  }
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
  // Filter by the remaining matchers; regex results are memoised per distinct value, since a
  // label usually has few values across the candidates.
  std::vector<std::unordered_map<std::string_view, bool>> memo(matchers.size());
  for (SeriesId id : candidates) {
    const Labels& labels = st.series[id].labels;
    bool ok = true;
    for (size_t i = 0; i < matchers.size() && ok; ++i) {
      const Matcher& m = matchers[i];
      std::string_view v;
      auto it = std::lower_bound(
          labels.begin(), labels.end(), m.name,
          [](const strobe::snapshot::Label& l, const std::string& n) { return l.name < n; });
      if (it != labels.end() && it->name == m.name) v = it->value;
      if (m.op == MatchOp::kEqual || m.op == MatchOp::kNotEqual) {
        ok = m.Matches(v);
      } else {
        auto [slot, inserted] = memo[i].try_emplace(v, false);
        if (inserted) slot->second = m.Matches(v);
        ok = slot->second;
      }
    }
    if (ok) out->push_back(id);
  }
}

const Labels& History::LabelsOf(SeriesId id) const { return state_->series[id].labels; }

void History::Points(SeriesId id, int64_t mint_ms, int64_t maxt_ms,
                     std::vector<SamplePoint>* out) const {
  out->clear();
  const Series& s = state_->series[id];
  for (size_t i = s.LowerBound(mint_ms); i < s.size; ++i) {
    const SamplePoint& p = s.At(i);
    if (p.t_ms > maxt_ms) break;
    out->push_back(p);
  }
}

bool History::Last(SeriesId id, int64_t mint_ms, int64_t maxt_ms, SamplePoint* out) const {
  const Series& s = state_->series[id];
  for (size_t i = s.size; i > 0; --i) {
    const SamplePoint& p = s.At(i - 1);
    if (p.t_ms > maxt_ms) continue;
    if (p.t_ms < mint_ms) return false;
    *out = p;
    return true;
  }
  return false;
}

}  // namespace strobed::alert::promql
