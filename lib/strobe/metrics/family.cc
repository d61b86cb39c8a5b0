#include "strobe/metrics/family.h"

#include <type_traits>

#include "strobe/base/check.h"
#include "strobe/base/clock.h"

namespace strobe::metrics {

namespace internal {

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kCounter:
      return "counter";
    case Kind::kFloatCounter:
      return "float counter";
    case Kind::kGauge:
      return "gauge";
    case Kind::kUpDownCounter:
      return "up-down counter";
    case Kind::kHistogram:
      return "histogram";
    case Kind::kCallbackCounter:
      return "callback counter";
    case Kind::kCallbackGauge:
      return "callback gauge";
  }
  return "unknown";
}

void RenderLabelText(const std::vector<snapshot::Label>& labels, std::string* out) {
  out->clear();
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(labels[i].name);
    out->append("=\"");
    AppendEscapedLabelValue(out, labels[i].value);
    out->push_back('"');
  }
}

FamilyInfo InfoOf(const snapshot::Family& family) {
  FamilyInfo info;
  info.name = family.name;
  info.help = family.help;
  info.unit = family.unit;
  info.type = family.type;
  info.label_names = family.label_names;
  return info;
}

SeriesView ViewOf(const snapshot::Point& point, std::string_view label_text) {
  SeriesView v;
  v.label_text = label_text;
  v.labels = &point.labels;
  // Counter values that are whole numbers print as integers either way (AppendDouble).
  v.value = point.value;
  v.histogram = &point.histogram;
  v.created_unix_ns = point.created_unix_ns;
  v.exemplar = point.has_exemplar ? &point.exemplar : nullptr;
  return v;
}

}  // namespace internal

namespace {

// 0xFF never occurs in UTF-8, so joined keys are unambiguous.
constexpr char kKeySeparator = '\xff';

template <typename T>
std::unique_ptr<T> MakeMetric(internal::SeriesMeta* meta, const internal::HistogramSpec* spec,
                              bool* ok) {
  *ok = true;
  if constexpr (std::is_same_v<T, Gauge>) {
    return std::make_unique<Gauge>(meta);
  } else if constexpr (std::is_same_v<T, Histogram>) {
    uint32_t hist;
    if (!internal::Shards::Get().AllocHist(&hist)) {
      *ok = false;
      return nullptr;
    }
    return std::make_unique<Histogram>(hist, spec, meta);
  } else {
    constexpr auto kind = std::is_same_v<T, FloatCounter> ? internal::CellKind::kDouble
                                                          : internal::CellKind::kUnsigned;
    uint32_t cell;
    if (!internal::Shards::Get().AllocCell(kind, &cell)) {
      *ok = false;
      return nullptr;
    }
    return std::make_unique<T>(cell, meta);
  }
}

}  // namespace

template <typename T>
Family<T>::Family(internal::FamilyInfo info, internal::Kind kind, size_t max_series,
                  std::shared_ptr<internal::RegistryCounters> counters,
                  std::unique_ptr<internal::HistogramSpec> spec)
    : FamilyBase(std::move(info), kind),
      max_series_(max_series),
      counters_(std::move(counters)),
      spec_(std::move(spec)) {}

template <typename T>
Family<T>::~Family() = default;

template <typename T>
Status Family<T>::Order(std::span<const LabelPair> labels,
                        std::vector<std::string_view>* values) const {
  const std::vector<std::string>& names = info().label_names;
  if (labels.size() != names.size()) {
    return InvalidArgument("metric '" + info().name + "' has " + std::to_string(names.size()) +
                           " label(s), got " + std::to_string(labels.size()));
  }
  values->assign(names.size(), std::string_view());
  std::vector<bool> seen(names.size(), false);
  for (const LabelPair& l : labels) {
    size_t i = 0;
    while (i < names.size() && names[i] != l.name) ++i;
    if (i == names.size() || seen[i]) {
      return InvalidArgument("metric '" + info().name + "': unexpected or repeated label '" +
                             std::string(l.name) + "'");
    }
    if (!IsValidUtf8(l.value)) {
      return InvalidArgument("metric '" + info().name + "': value of label '" +
                             std::string(l.name) + "' is not valid UTF-8");
    }
    seen[i] = true;
    (*values)[i] = l.value;
  }
  return OkStatus();
}

template <typename T>
typename Family<T>::Entry* Family<T>::CreateLocked(const std::string& key,
                                                   const std::vector<std::string_view>& values) {
  auto entry = std::make_unique<Entry>();
  const std::vector<std::string>& names = info().label_names;
  entry->meta.labels.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    entry->meta.labels.push_back({names[i], std::string(values[i])});
  }
  internal::RenderLabelText(entry->meta.labels, &entry->meta.label_text);
  entry->meta.created_unix_ns = WallNowNs();
  bool ok = false;
  entry->metric = MakeMetric<T>(&entry->meta, spec_.get(), &ok);
  if (!ok) return nullptr;
  Entry* raw = entry.get();
  label_bytes_ += key.capacity() + raw->meta.label_text.capacity();
  for (const auto& l : raw->meta.labels) label_bytes_ += l.name.capacity() + l.value.capacity();
  entries_.push_back(std::move(entry));
  index_.emplace(key, raw);
  return raw;
}

template <typename T>
typename Family<T>::Entry* Family<T>::OverflowLocked() {
  if (overflow_ == nullptr) {
    std::vector<std::string_view> values(info().label_names.size(), kOverflowLabelValue);
    std::string key;
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) key.push_back(kKeySeparator);
      key.append(kOverflowLabelValue);
    }
    auto it = index_.find(key);
    overflow_ = it != index_.end() ? it->second : CreateLocked(key, values);
    // Running out of process-wide cells while folding is a broken sizing assumption.
    STROBE_CHECK(overflow_ != nullptr);
  }
  return overflow_;
}

template <typename T>
Result<T*> Family<T>::TryWith(std::span<const LabelPair> labels) {
  std::vector<std::string_view> values;
  STROBE_RETURN_IF_ERROR(Order(labels, &values));
  std::string key;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) key.push_back(kKeySeparator);
    key.append(values[i]);
  }
  internal::MutexLock lock(mu_);
  auto it = index_.find(key);
  if (it != index_.end()) return it->second->metric.get();
  if (entries_.size() >= max_series_) {
    return ResourceExhausted("metric '" + info().name + "' reached its limit of " +
                             std::to_string(max_series_) + " series");
  }
  Entry* e = CreateLocked(key, values);
  if (e == nullptr) {
    return ResourceExhausted("process-wide metric storage is full (cells or histograms)");
  }
  return e->metric.get();
}

template <typename T>
T& Family<T>::With(std::span<const LabelPair> labels) {
  Result<T*> r = TryWith(labels);
  if (r.ok()) return **r;
  internal::MutexLock lock(mu_);
  if (r.status().code() == StatusCode::kInvalidArgument) {
    counters_->label_errors.fetch_add(1, std::memory_order_relaxed);  // read by self-metric
  } else {
    counters_->cardinality_overflow.fetch_add(1, std::memory_order_relaxed);
  }
  return *OverflowLocked()->metric;
}

template <typename T>
size_t Family<T>::SeriesCount() const {
  internal::MutexLock lock(mu_);
  return entries_.size();
}

template <typename T>
uint64_t Family<T>::OwnedBytes() const {
  internal::MutexLock lock(mu_);
  // Entry, metric object, hash node (~ key + 2 pointers + hash), vector slot, label strings.
  constexpr uint64_t kPerSeries = sizeof(Entry) + sizeof(T) + 48 + sizeof(void*);
  return sizeof(*this) + entries_.size() * kPerSeries + label_bytes_ +
         index_.bucket_count() * sizeof(void*);
}

template <typename T>
void Family<T>::Visit(internal::Visitor& visitor, internal::VisitScratch& scratch) {
  visitor.BeginFamily(info());
  internal::MutexLock lock(mu_);
  internal::Shards& shards = internal::Shards::Get();
  internal::Shards::ReadLock read(shards);
  for (const auto& e : entries_) {
    internal::SeriesView v;
    v.label_text = e->meta.label_text;
    v.labels = &e->meta.labels;
    v.created_unix_ns = e->meta.created_unix_ns;
    const T& m = *e->metric;
    if constexpr (std::is_same_v<T, Counter>) {
      v.num_kind = internal::NumKind::kUnsigned;
      v.uint_value = shards.SumCellLocked(m.cell_);
    } else if constexpr (std::is_same_v<T, FloatCounter>) {
      v.value = shards.SumDoubleCellLocked(m.cell_);
    } else if constexpr (std::is_same_v<T, UpDownCounter>) {
      v.num_kind = internal::NumKind::kSigned;
      v.int_value = static_cast<int64_t>(shards.SumCellLocked(m.cell_));
    } else if constexpr (std::is_same_v<T, Gauge>) {
      v.value = m.Value();
    } else {
      scratch.histograms.CollectLocked(m, &scratch.histogram);
      v.histogram = &scratch.histogram;
    }
    if constexpr (!std::is_same_v<T, Gauge> && !std::is_same_v<T, UpDownCounter>) {
      if (e->meta.exemplar.Read(&scratch.exemplar)) v.exemplar = &scratch.exemplar;
    }
    visitor.Series(v);
  }
}

template class Family<Counter>;
template class Family<FloatCounter>;
template class Family<Gauge>;
template class Family<UpDownCounter>;
template class Family<Histogram>;

}  // namespace strobe::metrics
