#include "strobe/metrics/registry.h"

#include <algorithm>
#include <cmath>

#include "strobe/base/check.h"
#include "strobe/base/clock.h"
#include "strobe/metrics/labels.h"

namespace strobe::metrics {
namespace {

using internal::FamilyBase;
using internal::FamilyInfo;
using internal::Kind;
using snapshot::MetricType;

MetricType TypeOf(Kind kind, const HistogramOptions* h) {
  switch (kind) {
    case Kind::kCounter:
    case Kind::kFloatCounter:
    case Kind::kCallbackCounter:
      return MetricType::kCounter;
    case Kind::kHistogram:
      return h != nullptr && h->exposition == HistogramExposition::kSummary
                 ? MetricType::kSummary
                 : MetricType::kHistogram;
    default:
      return MetricType::kGauge;
  }
}

std::vector<std::string> SampleNames(const FamilyInfo& info) {
  const std::string& n = info.name;
  switch (info.type) {
    case MetricType::kCounter:
      return {n, n + "_total", n + "_created"};
    case MetricType::kHistogram:
      return {n, n + "_bucket", n + "_count", n + "_sum", n + "_created"};
    case MetricType::kSummary:
      return {n, n + "_count", n + "_sum", n + "_created"};
    case MetricType::kGauge:
      break;
  }
  return {n};
}

Status ValidateHistogramOptions(const std::string& name, HistogramOptions* o) {
  if (!(o->unit_scale > 0) || std::isinf(o->unit_scale)) {
    return InvalidArgument("histogram '" + name + "': unit_scale must be finite and > 0");
  }
  if (o->bounds.empty()) o->bounds = DefaultLatencyBounds(o->unit_scale);
  for (size_t i = 0; i < o->bounds.size(); ++i) {
    if (!std::isfinite(o->bounds[i]) || (i > 0 && !(o->bounds[i] > o->bounds[i - 1]))) {
      return InvalidArgument("histogram '" + name +
                             "': bounds must be finite and strictly increasing");
    }
  }
  if (o->quantiles.empty()) o->quantiles = {0.5, 0.9, 0.99, 0.999, 1.0};
  for (const double q : o->quantiles) {
    if (!(q > 0 && q <= 1)) {
      return InvalidArgument("histogram '" + name + "': quantiles must be in (0, 1]");
    }
  }
  return OkStatus();
}

bool SameHistogramOptions(const HistogramOptions& a, const HistogramOptions& b) {
  return a.bounds == b.bounds && a.unit_scale == b.unit_scale && a.exposition == b.exposition &&
         a.quantiles == b.quantiles;
}

class CallbackFamily final : public FamilyBase {
 public:
  CallbackFamily(FamilyInfo info, Kind kind, std::function<void(CallbackSink&)> fn,
                 std::shared_ptr<internal::RegistryCounters> counters)
      : FamilyBase(std::move(info), kind),
        fn_(std::move(fn)),
        counters_(std::move(counters)),
        created_unix_ns_(WallNowNs()) {}

  // The callback runs without the family's state locked: a self-metric callback reads
  // OwnedBytes() of every family, this one included.
  void Visit(internal::Visitor& visitor, internal::VisitScratch& /*scratch*/) override {
    visitor.BeginFamily(info());
    std::vector<CallbackSink::Point> points;
    CallbackSink sink(&info().label_names, counters_.get(), &points);
    fn_(sink);
    for (const CallbackSink::Point& p : points) {
      internal::SeriesView v;
      v.label_text = p.label_text;
      v.labels = &p.labels;
      v.value = p.value;
      v.created_unix_ns = created_unix_ns_;
      visitor.Series(v);
    }
    // Relaxed: statistics for SeriesCount/OwnedBytes, no data published with them.
    series_.store(points.size(), std::memory_order_relaxed);
  }
  size_t SeriesCount() const override { return series_.load(std::memory_order_relaxed); }
  uint64_t OwnedBytes() const override { return sizeof(*this); }

 private:
  const std::function<void(CallbackSink&)> fn_;
  const std::shared_ptr<internal::RegistryCounters> counters_;
  const uint64_t created_unix_ns_;
  std::atomic<size_t> series_{0};
};

// Builds snapshot structs from the visitor stream.
class SnapshotVisitor final : public internal::Visitor {
 public:
  explicit SnapshotVisitor(snapshot::Snapshot* out) : out_(out) {}
  void BeginFamily(const FamilyInfo& info) override {
    snapshot::Family& f = out_->families.emplace_back();
    f.name = info.name;
    f.help = info.help;
    f.unit = info.unit;
    f.type = info.type;
    f.label_names = info.label_names;
  }
  void Series(const internal::SeriesView& s) override {
    snapshot::Point& p = out_->families.back().points.emplace_back();
    if (s.labels != nullptr) p.labels = *s.labels;
    switch (s.num_kind) {
      case internal::NumKind::kUnsigned:
        p.value = static_cast<double>(s.uint_value);
        break;
      case internal::NumKind::kSigned:
        p.value = static_cast<double>(s.int_value);
        break;
      case internal::NumKind::kDouble:
        p.value = s.value;
        break;
    }
    if (s.histogram != nullptr) p.histogram = *s.histogram;
    p.created_unix_ns = s.created_unix_ns;
    if (s.exemplar != nullptr) {
      p.has_exemplar = true;
      p.exemplar = *s.exemplar;
    }
  }

 private:
  snapshot::Snapshot* out_;
};

}  // namespace

void CallbackSink::Emit(std::span<const std::string_view> label_values, double value) {
  bool ok = label_values.size() == label_names_->size();
  for (size_t i = 0; ok && i < label_values.size(); ++i) ok = IsValidUtf8(label_values[i]);
  if (!ok) {
    counters_->label_errors.fetch_add(1, std::memory_order_relaxed);  // read by self-metric
    return;
  }
  Point& p = points_->emplace_back();
  p.labels.reserve(label_values.size());
  for (size_t i = 0; i < label_values.size(); ++i) {
    p.labels.push_back({(*label_names_)[i], std::string(label_values[i])});
  }
  internal::RenderLabelText(p.labels, &p.label_text);
  p.value = value;
}

Registry::Registry(RegistryOptions options)
    : options_(options), counters_(std::make_shared<internal::RegistryCounters>()) {
  if (options_.self_metrics) AddSelfMetrics();
}

Registry::~Registry() = default;

Registry& Registry::Default() {
  static Registry* registry = new Registry(RegistryOptions{.self_metrics = true});
  return *registry;
}

Result<FamilyInfo> Registry::MakeInfo(const MetricDesc& desc, Kind kind,
                                      std::vector<std::string> label_names) const {
  STROBE_RETURN_IF_ERROR(ValidateMetricName(desc.name));
  FamilyInfo info;
  info.name = desc.name;
  const bool counter =
      kind == Kind::kCounter || kind == Kind::kFloatCounter || kind == Kind::kCallbackCounter;
  if (counter && info.name.ends_with("_total")) info.name.resize(info.name.size() - 6);
  if (info.name.empty()) return InvalidArgument("metric name '_total' has an empty base name");
  if (!IsValidUtf8(desc.help)) {
    return InvalidArgument("metric '" + desc.name + "': help text is not valid UTF-8");
  }
  if (!desc.unit.empty()) {
    for (const char c : desc.unit) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      if (!ok)
        return InvalidArgument("metric '" + desc.name + "': invalid unit '" + desc.unit + "'");
    }
    if (!info.name.ends_with("_" + desc.unit)) {
      return InvalidArgument("metric '" + desc.name + "': name must end with '_" + desc.unit +
                             "' to carry unit '" + desc.unit + "' (OpenMetrics)");
    }
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    STROBE_RETURN_IF_ERROR(ValidateLabelName(desc.name, label_names[i]));
    if (kind == Kind::kHistogram && label_names[i] == "le") {
      return InvalidArgument("histogram '" + desc.name + "': label name 'le' is reserved");
    }
    if (label_names[i] == "quantile" && kind == Kind::kHistogram) {
      return InvalidArgument("histogram '" + desc.name + "': label name 'quantile' is reserved");
    }
    for (size_t j = 0; j < i; ++j) {
      if (label_names[j] == label_names[i]) {
        return InvalidArgument("metric '" + desc.name + "': duplicate label name '" +
                               label_names[i] + "'");
      }
    }
  }
  info.help = desc.help;
  info.unit = desc.unit;
  info.label_names = std::move(label_names);
  return info;
}

Result<FamilyBase*> Registry::FindCompatibleLocked(const FamilyInfo& info, Kind kind,
                                                   const HistogramOptions* h) const {
  auto it = by_name_.find(info.name);
  if (it == by_name_.end()) {
    for (const std::string& s : SampleNames(info)) {
      if (sample_names_.contains(s)) {
        return AlreadyExists("metric '" + info.name + "': sample name '" + s +
                             "' is already used by another metric");
      }
    }
    return static_cast<FamilyBase*>(nullptr);
  }
  FamilyBase* existing = it->second;
  if (existing->kind() != kind) {
    return AlreadyExists("metric '" + info.name + "' is already registered as a " +
                         internal::KindName(existing->kind()) + ", not a " +
                         internal::KindName(kind));
  }
  if (existing->info().label_names != info.label_names) {
    return AlreadyExists("metric '" + info.name +
                         "' is already registered with a different label set");
  }
  if (kind == Kind::kCallbackCounter || kind == Kind::kCallbackGauge) {
    return AlreadyExists("callback metric '" + info.name + "' is already registered");
  }
  if (h != nullptr) {
    const auto* fam = static_cast<const Family<Histogram>*>(existing);
    if (!SameHistogramOptions(fam->histogram_spec()->options, *h)) {
      return AlreadyExists("histogram '" + info.name +
                           "' is already registered with different options");
    }
  }
  return existing;
}

Status Registry::InsertLocked(std::unique_ptr<FamilyBase> family) {
  for (std::string& s : SampleNames(family->info())) sample_names_.insert(std::move(s));
  by_name_.emplace(family->info().name, family.get());
  families_.push_back(std::move(family));
  return OkStatus();
}

template <typename T>
Result<Family<T>*> Registry::AddFamily(const MetricDesc& desc, Kind kind,
                                       std::vector<std::string> label_names, FamilyOptions options,
                                       const HistogramOptions* histogram_options) {
  std::unique_ptr<internal::HistogramSpec> spec;
  if (histogram_options != nullptr) {
    spec = std::make_unique<internal::HistogramSpec>();
    spec->options = *histogram_options;
    STROBE_RETURN_IF_ERROR(ValidateHistogramOptions(desc.name, &spec->options));
  }
  STROBE_ASSIGN_OR_RETURN(FamilyInfo info, MakeInfo(desc, kind, std::move(label_names)));
  info.type = TypeOf(kind, histogram_options);
  internal::MutexLock lock(mu_);
  STROBE_ASSIGN_OR_RETURN(FamilyBase * existing,
                          FindCompatibleLocked(info, kind, spec ? &spec->options : nullptr));
  if (existing != nullptr) return static_cast<Family<T>*>(existing);
  const size_t max_series =
      options.max_series != 0 ? options.max_series : options_.max_series_per_family;
  auto family =
      std::make_unique<Family<T>>(std::move(info), kind, max_series, counters_, std::move(spec));
  Family<T>* raw = family.get();
  STROBE_RETURN_IF_ERROR(InsertLocked(std::move(family)));
  return raw;
}

namespace {
template <typename T>
Result<T*> Single(Result<Family<T>*> family) {
  if (!family.ok()) return family.status();
  return (*family)->TryWith({});
}
}  // namespace

Result<Counter*> Registry::AddCounter(const MetricDesc& desc) {
  return Single(AddCounterFamily(desc, {}));
}
Result<Family<Counter>*> Registry::AddCounterFamily(const MetricDesc& desc,
                                                    std::vector<std::string> label_names,
                                                    FamilyOptions options) {
  return AddFamily<Counter>(desc, Kind::kCounter, std::move(label_names), options, nullptr);
}
Result<FloatCounter*> Registry::AddFloatCounter(const MetricDesc& desc) {
  return Single(AddFloatCounterFamily(desc, {}));
}
Result<Family<FloatCounter>*> Registry::AddFloatCounterFamily(const MetricDesc& desc,
                                                              std::vector<std::string> label_names,
                                                              FamilyOptions options) {
  return AddFamily<FloatCounter>(desc, Kind::kFloatCounter, std::move(label_names), options,
                                 nullptr);
}
Result<Gauge*> Registry::AddGauge(const MetricDesc& desc) {
  return Single(AddGaugeFamily(desc, {}));
}
Result<Family<Gauge>*> Registry::AddGaugeFamily(const MetricDesc& desc,
                                                std::vector<std::string> label_names,
                                                FamilyOptions options) {
  return AddFamily<Gauge>(desc, Kind::kGauge, std::move(label_names), options, nullptr);
}
Result<UpDownCounter*> Registry::AddUpDownCounter(const MetricDesc& desc) {
  return Single(AddUpDownCounterFamily(desc, {}));
}
Result<Family<UpDownCounter>*> Registry::AddUpDownCounterFamily(
    const MetricDesc& desc, std::vector<std::string> label_names, FamilyOptions options) {
  return AddFamily<UpDownCounter>(desc, Kind::kUpDownCounter, std::move(label_names), options,
                                  nullptr);
}
Result<Histogram*> Registry::AddHistogram(const MetricDesc& desc, const HistogramOptions& options) {
  return Single(AddHistogramFamily(desc, {}, options));
}
Result<Family<Histogram>*> Registry::AddHistogramFamily(const MetricDesc& desc,
                                                        std::vector<std::string> label_names,
                                                        const HistogramOptions& options,
                                                        FamilyOptions family_options) {
  return AddFamily<Histogram>(desc, Kind::kHistogram, std::move(label_names), family_options,
                              &options);
}

Status Registry::AddCallbackGauge(const MetricDesc& desc, std::function<double()> fn) {
  return AddCallbackFamily(desc, CallbackType::kGauge, {},
                           [fn = std::move(fn)](CallbackSink& sink) { sink.Emit({}, fn()); });
}

Status Registry::AddCallbackFamily(const MetricDesc& desc, CallbackType type,
                                   std::vector<std::string> label_names,
                                   std::function<void(CallbackSink&)> fn) {
  if (!fn) return InvalidArgument("callback metric '" + desc.name + "' has no function");
  const Kind kind = type == CallbackType::kCounter ? Kind::kCallbackCounter : Kind::kCallbackGauge;
  STROBE_ASSIGN_OR_RETURN(FamilyInfo info, MakeInfo(desc, kind, std::move(label_names)));
  info.type = TypeOf(kind, nullptr);
  internal::MutexLock lock(mu_);
  STROBE_ASSIGN_OR_RETURN(FamilyBase * existing, FindCompatibleLocked(info, kind, nullptr));
  (void)existing;  // always nullptr: a second callback of one name is ALREADY_EXISTS
  return InsertLocked(
      std::make_unique<CallbackFamily>(std::move(info), kind, std::move(fn), counters_));
}

Status Registry::Remove(std::string_view name) {
  std::unique_ptr<FamilyBase> removed;
  {
    internal::MutexLock lock(mu_);
    auto it = by_name_.find(name);
    if (it == by_name_.end() && name.ends_with("_total")) {
      it = by_name_.find(name.substr(0, name.size() - 6));
    }
    if (it == by_name_.end()) return NotFound("no metric named '" + std::string(name) + "'");
    FamilyBase* f = it->second;
    for (const std::string& s : SampleNames(f->info())) sample_names_.erase(s);
    by_name_.erase(it);
    auto pos = std::find_if(families_.begin(), families_.end(),
                            [f](const auto& p) { return p.get() == f; });
    removed = std::move(*pos);
    families_.erase(pos);
  }
  return OkStatus();  // `removed` is destroyed outside the registry mutex
}

void Registry::Visit(internal::Visitor& visitor, internal::VisitScratch& scratch) const {
  const std::vector<snapshot::Snapshot> collected = RunCollectors();
  internal::MutexLock lock(mu_);
  for (const auto& f : families_) f->Visit(visitor, scratch);
  if (!collected.empty()) VisitCollectedLocked(collected, visitor);
}

Status Registry::AddCollector(std::string name, CollectorFn fn) {
  if (!fn) return InvalidArgument("collector '" + name + "' has no function");
  internal::MutexLock lock(collectors_mu_);
  for (const Collector& c : collectors_) {
    if (c.name == name) return AlreadyExists("collector '" + name + "' is already registered");
  }
  collectors_.push_back({std::move(name), std::move(fn)});
  return OkStatus();
}

Status Registry::RemoveCollector(std::string_view name) {
  CollectorFn removed;  // destroyed outside the mutex
  {
    internal::MutexLock lock(collectors_mu_);
    auto it = std::find_if(collectors_.begin(), collectors_.end(),
                           [name](const Collector& c) { return c.name == name; });
    if (it == collectors_.end()) {
      return NotFound("no collector named '" + std::string(name) + "'");
    }
    removed = std::move(it->fn);
    collectors_.erase(it);
  }
  return OkStatus();
}

Registry::CollectorSkips Registry::collector_skipped_families() const {
  // Relaxed: statistics; no data is published with them.
  return {counters_->collector_conflicts.load(std::memory_order_relaxed),
          counters_->collector_invalid.load(std::memory_order_relaxed)};
}

std::vector<snapshot::Snapshot> Registry::RunCollectors() const {
  std::vector<snapshot::Snapshot> out;
  internal::MutexLock lock(collectors_mu_);
  out.reserve(collectors_.size());
  for (const Collector& c : collectors_) c.fn(out.emplace_back());
  return out;
}

namespace {

bool UnitIsValid(const snapshot::Family& f) {
  if (f.unit.empty()) return true;
  for (const char c : f.unit) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return f.name.size() > f.unit.size() + 1 && f.name.ends_with(f.unit) &&
         f.name[f.name.size() - f.unit.size() - 1] == '_';
}

// Label names valid for the family's type, none repeated, values UTF-8.
bool PointLabelsAreValid(const snapshot::Family& f, const snapshot::Point& p) {
  for (size_t i = 0; i < p.labels.size(); ++i) {
    const snapshot::Label& l = p.labels[i];
    if (!IsValidLabelName(l.name) || !IsValidUtf8(l.value)) return false;
    if (f.type == MetricType::kHistogram && l.name == "le") return false;
    if (f.type == MetricType::kSummary && l.name == "quantile") return false;
    for (size_t j = 0; j < i; ++j) {
      if (p.labels[j].name == l.name) return false;
    }
  }
  return true;
}

}  // namespace

void Registry::VisitCollectedLocked(const std::vector<snapshot::Snapshot>& collected,
                                    internal::Visitor& visitor) const {
  std::set<std::string, std::less<>> taken;  // sample names of collected families so far
  std::string label_text;
  for (const snapshot::Snapshot& snap : collected) {
    for (const snapshot::Family& f : snap.families) {
      const internal::FamilyInfo info = internal::InfoOf(f);
      if (!IsValidMetricName(f.name) || !UnitIsValid(f)) {
        counters_->collector_invalid.fetch_add(1, std::memory_order_relaxed);  // statistic
        continue;
      }
      std::vector<std::string> samples = SampleNames(info);
      bool conflict = false;  // a loop, not a lambda: the analysis sees mu_ held here
      for (const std::string& sample : samples) {
        conflict = conflict || sample_names_.contains(sample) || taken.contains(sample);
      }
      if (conflict) {
        counters_->collector_conflicts.fetch_add(1, std::memory_order_relaxed);  // statistic
        continue;
      }
      for (std::string& s : samples) taken.insert(std::move(s));
      visitor.BeginFamily(info);
      for (const snapshot::Point& p : f.points) {
        if (!PointLabelsAreValid(f, p)) {
          counters_->label_errors.fetch_add(1, std::memory_order_relaxed);  // read by self-metric
          continue;
        }
        internal::RenderLabelText(p.labels, &label_text);
        visitor.Series(internal::ViewOf(p, label_text));
      }
    }
  }
}

snapshot::Snapshot Registry::Collect() const {
  snapshot::Snapshot out;
  out.timestamp_unix_ns = WallNowNs();
  SnapshotVisitor visitor(&out);
  internal::VisitScratch scratch;
  Visit(visitor, scratch);
  return out;
}

snapshot::Snapshot Registry::Collect(const FamilyFilter& want) const {
  snapshot::Snapshot out;
  out.timestamp_unix_ns = WallNowNs();
  SnapshotVisitor visitor(&out);
  internal::VisitScratch scratch;
  const std::vector<snapshot::Snapshot> collected = RunCollectors();
  {
    internal::MutexLock lock(mu_);
    for (const auto& f : families_) {
      if (want(f->info().name, f->info().type)) f->Visit(visitor, scratch);
    }
    // Collected families are checked against every name (conflicts) before they are filtered.
    if (!collected.empty()) VisitCollectedLocked(collected, visitor);
  }
  std::erase_if(out.families, [&want](const snapshot::Family& f) { return !want(f.name, f.type); });
  return out;
}

uint64_t Registry::OwnedBytesLocked() const {
  uint64_t bytes = sizeof(*this) + families_.capacity() * sizeof(void*) + by_name_.size() * 96 +
                   sample_names_.size() * 80;
  for (const auto& f : families_) bytes += f->OwnedBytes();
  return bytes + internal::Shards::Get().OwnedBytes();
}

size_t Registry::SeriesCountLocked() const {
  size_t n = 0;
  for (const auto& f : families_) n += f->SeriesCount();
  return n;
}

uint64_t Registry::OwnedBytes() const {
  internal::MutexLock lock(mu_);
  return OwnedBytesLocked();
}

size_t Registry::SeriesCount() const {
  internal::MutexLock lock(mu_);
  return SeriesCountLocked();
}

// The callbacks run inside Visit(), with mu_ held: they use the *Locked helpers.
void Registry::AddSelfMetrics() STROBE_NO_THREAD_SAFETY_ANALYSIS {
  auto check = [](const Status& s) { STROBE_CHECK(s.ok()); };
  check(AddCallbackGauge({"strobe_metrics_owned_bytes",
                          "Bytes of memory owned by strobe metrics (this registry and the "
                          "per-thread shards of the process)",
                          "bytes"},
                         [this]() STROBE_NO_THREAD_SAFETY_ANALYSIS {
                           return static_cast<double>(OwnedBytesLocked());
                         }));
  check(AddCallbackGauge({"strobe_metrics_series", "Series in this registry", ""},
                         [this]() STROBE_NO_THREAD_SAFETY_ANALYSIS {
                           return static_cast<double>(SeriesCountLocked());
                         }));
  auto counters = counters_;
  check(AddCallbackFamily(
      {"strobe_metrics_cardinality_overflow_total",
       "Family::With() calls folded into an overflow series because the family was full", ""},
      CallbackType::kCounter, {}, [counters](CallbackSink& sink) {
        sink.Emit({}, static_cast<double>(
                          counters->cardinality_overflow.load(std::memory_order_relaxed)));
      }));
  check(AddCallbackFamily(
      {"strobe_metrics_label_errors_total",
       "Family::With() or callback points with label names or values that are invalid", ""},
      CallbackType::kCounter, {}, [counters](CallbackSink& sink) {
        sink.Emit({}, static_cast<double>(counters->label_errors.load(std::memory_order_relaxed)));
      }));
  check(AddCallbackFamily(
      {"strobe_metrics_collector_skipped_families_total",
       "Families of collectors (AddCollector) not exposed: the name collides with another "
       "family (conflict) or the name or unit is invalid (invalid)",
       ""},
      CallbackType::kCounter, {"reason"}, [counters](CallbackSink& sink) {
        sink.Emit({"conflict"}, static_cast<double>(
                                    counters->collector_conflicts.load(std::memory_order_relaxed)));
        sink.Emit({"invalid"},
                  static_cast<double>(counters->collector_invalid.load(std::memory_order_relaxed)));
      }));
  check(AddCallbackFamily(
      {"strobe_metrics_invalid_observations_total",
       "Negative, NaN or infinite values rejected by histograms and float counters", ""},
      CallbackType::kCounter, {}, [](CallbackSink& sink) {
        sink.Emit({}, static_cast<double>(internal::Shards::Get().SumCell(
                          internal::Globals().invalid_observations)));
      }));
  check(AddCallbackFamily(
      {"strobe_metrics_exemplars_dropped_total",
       "Exemplars not stored: too long, or another exemplar write to the series in progress", ""},
      CallbackType::kCounter, {}, [](CallbackSink& sink) {
        sink.Emit({}, static_cast<double>(
                          internal::Shards::Get().SumCell(internal::Globals().exemplars_dropped)));
      }));
}

}  // namespace strobe::metrics
