#include "strobed/exporters/prometheus/prometheus.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <span>
#include <utility>

#include "strobe/base/check.h"
#include "strobe/base/clock.h"
#include "strobe/metrics/histogram_data.h"
#include "strobe/metrics/registry.h"
#include "strobed/exporters/prometheus/mapping.h"
#include "strobed/exporters/prometheus/naming.h"

namespace strobed::exporters {
namespace {

using prometheus::BuildMetricName;
using prometheus::NameKind;
using strobe::snapshot::Label;

constexpr const char* kDropReasons[] = {"series_limit", "type_conflict", "invalid"};
// Exponential buckets kept per side; wider deltas are downscaled until they fit.
constexpr int64_t kMaxExpBuckets = 4096;
// Buckets of the approximate exponential view of explicit histograms (JSON percentiles).
constexpr int64_t kMaxApproxBuckets = 1024;
// Translated names remembered (cleared when full).
constexpr size_t kMaxCachedNames = 4096;

std::string LabelKey(const std::vector<Label>& labels) {
  std::string key;
  for (const Label& l : labels) {
    key += std::to_string(l.name.size()) + ":" + l.name;
    key += std::to_string(l.value.size()) + ":" + l.value;
  }
  return key;
}

// The bucket holding v > 0 at `scale`: base^i < v <= base^(i+1).
int64_t ExpIndex(int32_t scale, double v) {
  return static_cast<int64_t>(std::ceil(std::log2(v) * std::ldexp(1.0, scale))) - 1;
}

uint64_t Total(const std::vector<uint64_t>& v) {
  uint64_t t = 0;
  for (uint64_t c : v) t += c;
  return t;
}

}  // namespace

PrometheusExporter::PrometheusExporter(PrometheusExporterOptions options)
    : options_(std::move(options)),
      registry_(*options_.metrics),
      clock_(options_.clock != nullptr ? *options_.clock : base::MonotonicClock::Steady()),
      keys_(options_.keys != nullptr ? *options_.keys : event::KeyTable::Global()),
      labeler_(keys_, options_.resource_to_telemetry_conversion) {
  auto dropped = registry_.AddCounterFamily(
      {"strobe_exporter_prometheus_dropped_points_total",
       "Metric points the prometheus exporter did not keep, by reason (series_limit, "
       "type_conflict, invalid).",
       ""},
      {"exporter", "reason"});
  auto expired = registry_.AddCounterFamily(
      {"strobe_exporter_prometheus_expired_series_total",
       "Series removed because no point updated them for metric_expiration.", ""},
      {"exporter"});
  auto series = registry_.AddGaugeFamily(
      {"strobe_exporter_prometheus_series", "Series the prometheus exporter exposes.", ""},
      {"exporter"});
  // Registration of fixed, valid names only fails on a programming error.
  STROBE_CHECK(dropped.ok() && expired.ok() && series.ok());
  for (size_t i = 0; i < 3; ++i) {
    dropped_[i] = &(*dropped)->With({{"exporter", options_.name}, {"reason", kDropReasons[i]}});
  }
  expired_ = &(*expired)->With({{"exporter", options_.name}});
  series_gauge_ = &(*series)->With({{"exporter", options_.name}});
}

strobe::Result<std::unique_ptr<PrometheusExporter>> PrometheusExporter::Create(
    PrometheusExporterOptions options) {
  STROBE_CHECK(options.metrics != nullptr);  // required: the factory passes the host's
  if (options.max_series == 0) {
    return strobe::InvalidArgument("prometheus exporter: max_series must be > 0");
  }
  for (const HistogramBucketsRule& r : options.histogram_buckets) {
    const std::string what = "prometheus exporter: histogram_buckets '" + r.pattern + "': ";
    if (r.pattern.empty()) return strobe::InvalidArgument(what + "empty name pattern");
    if (r.bounds.empty() || r.bounds.size() > kMaxHistogramBounds) {
      return strobe::InvalidArgument(what + "needs 1.." + std::to_string(kMaxHistogramBounds) +
                                     " bounds, has " + std::to_string(r.bounds.size()));
    }
    for (size_t i = 0; i < r.bounds.size(); ++i) {
      if (!std::isfinite(r.bounds[i]) || (i > 0 && !(r.bounds[i] > r.bounds[i - 1]))) {
        return strobe::InvalidArgument(what + "bounds must be finite and strictly increasing");
      }
    }
  }
  std::unique_ptr<PrometheusExporter> e(new PrometheusExporter(std::move(options)));
  PrometheusExporter* raw = e.get();
  STROBE_RETURN_IF_ERROR(e->registry_.AddCollector("exporter/" + e->options_.name,
                                                   [raw](strobe::snapshot::Snapshot& out) {
                                                     strobe::MutexLock lock(raw->mu_);
                                                     raw->CollectLocked(out);
                                                   }));
  e->collector_registered_ = true;
  return e;
}

PrometheusExporter::~PrometheusExporter() { (void)Shutdown(std::chrono::milliseconds(0)); }

strobe::Status PrometheusExporter::Shutdown(std::chrono::milliseconds /*deadline*/) {
  if (collector_registered_) {
    collector_registered_ = false;
    (void)registry_.RemoveCollector("exporter/" + options_.name);
  }
  series_gauge_->Set(0);
  return strobe::OkStatus();
}

void PrometheusExporter::Drop(DropReason reason) { dropped_[static_cast<size_t>(reason)]->Inc(); }

uint64_t PrometheusExporter::Dropped(DropReason reason) const {
  return dropped_[static_cast<size_t>(reason)]->Value();
}

size_t PrometheusExporter::SeriesCount() const {
  strobe::MutexLock lock(mu_);
  return series_count_;
}

strobe::snapshot::Snapshot PrometheusExporter::Collect() {
  strobe::snapshot::Snapshot out;
  out.timestamp_unix_ns = strobe::WallNowNs();
  strobe::MutexLock lock(mu_);
  CollectLocked(out);
  return out;
}

pipeline::ExportResult PrometheusExporter::Export(const event::Batch& batch) noexcept {
  if (batch.metrics().empty()) return pipeline::ExportResult::kOk;
  const uint64_t now = clock_.NowNs();
  strobe::MutexLock lock(mu_);
  // Resources live in the batch: a pointer may be reused later.
  labeler_.Reset();
  const event::Resource* last_resource = nullptr;
  for (const event::MetricPoint& p : batch.metrics()) {
    if (options_.target_info && p.resource != nullptr && p.resource != last_resource) {
      last_resource = p.resource;
      FoldTargetInfo(*p.resource, now);
    }
    FoldPoint(p, now);
  }
  const uint64_t every =
      std::min<uint64_t>(1'000'000'000, static_cast<uint64_t>(options_.metric_expiration.count()));
  if (options_.metric_expiration.count() > 0 && now - last_expiry_ns_ >= every) {
    ExpireLocked(now);
  }
  series_gauge_->Set(static_cast<double>(series_count_));
  return pipeline::ExportResult::kOk;
}

prometheus::MetricName PrometheusExporter::Name(std::string_view name, std::string_view unit,
                                                prometheus::NameKind kind) {
  std::string key;
  key.reserve(name.size() + unit.size() + 2);
  key.push_back(static_cast<char>('0' + static_cast<int>(kind)));
  key.append(name);
  key.push_back('\0');
  key.append(unit);
  auto it = names_.find(key);
  if (it != names_.end()) return it->second;
  if (names_.size() >= kMaxCachedNames) names_.clear();  // bounded: untrusted names
  prometheus::MetricName n =
      BuildMetricName(name, unit, kind, options_.name_space, options_.add_metric_suffixes);
  names_.emplace(std::move(key), n);
  return n;
}

void PrometheusExporter::FoldTargetInfo(const event::Resource& r, uint64_t now_ns) {
  std::vector<Label> labels;
  if (!labeler_.TargetInfoLabels(r, &labels)) return;  // nothing beyond job/instance
  auto [s, fresh] =
      FindOrCreate("target_info", Kind::kGauge, "Target metadata", "", std::move(labels), now_ns);
  (void)fresh;
  if (s != nullptr) s->value = 1;
}

std::pair<PrometheusExporter::Series*, bool> PrometheusExporter::FindOrCreate(
    const std::string& family, Kind kind, std::string_view help, std::string_view unit,
    std::vector<Label> labels, uint64_t now_ns, std::string_view source_name) {
  auto fit = families_.find(family);
  if (fit != families_.end() && fit->second.kind != kind) {
    Drop(DropReason::kTypeConflict);
    return {nullptr, false};
  }
  const std::string key = LabelKey(labels);
  if (fit != families_.end()) {
    auto sit = fit->second.series.find(key);
    if (sit != fit->second.series.end()) {
      sit->second.updated_ns = now_ns;
      return {&sit->second, false};
    }
  }
  if (series_count_ >= options_.max_series) {
    Drop(DropReason::kSeriesLimit);
    return {nullptr, false};
  }
  if (fit == families_.end()) {
    FamilyState f;
    f.kind = kind;
    f.help = std::string(help);
    f.unit = std::string(unit);
    if (kind == Kind::kExpHistogram) f.exp_bounds = ExpBounds(source_name, family, unit);
    fit = families_.emplace(family, std::move(f)).first;
  }
  Series& s = fit->second.series[key];
  s.labels = std::move(labels);
  s.updated_ns = now_ns;
  s.created_unix_ns = strobe::WallNowNs();
  ++series_count_;
  return {&s, true};
}

std::vector<double> PrometheusExporter::ExpBounds(std::string_view source_name,
                                                  const std::string& family,
                                                  std::string_view unit) const {
  return SelectHistogramBounds(options_.histogram_buckets, source_name, family, unit);
}

void PrometheusExporter::Erase(const std::string& family, const std::vector<Label>& labels) {
  auto fit = families_.find(family);
  if (fit == families_.end()) return;
  if (fit->second.series.erase(LabelKey(labels)) == 0) return;
  --series_count_;
  if (fit->second.series.empty()) {
    families_.erase(fit);
  }
}

void PrometheusExporter::ExpireLocked(uint64_t now_ns) {
  last_expiry_ns_ = now_ns;
  if (options_.metric_expiration.count() <= 0) return;
  const auto limit = static_cast<uint64_t>(options_.metric_expiration.count());
  for (auto fit = families_.begin(); fit != families_.end();) {
    auto& series = fit->second.series;
    const size_t removed = std::erase_if(series, [&](const auto& e) {
      return now_ns > e.second.updated_ns && now_ns - e.second.updated_ns > limit;
    });
    if (removed > 0) {
      series_count_ -= removed;
      expired_->Add(removed);
    }
    if (series.empty()) {
      fit = families_.erase(fit);
    } else {
      ++fit;
    }
  }
}

namespace {

// Lowers one side's resolution by `by` scale steps: libstrobe's bucket merge (a shift by `by`
// is the downscale from scale `by` to scale 0).
void Downscale(int32_t by, int32_t* offset, std::vector<uint64_t>* counts) {
  if (by <= 0 || counts->empty()) return;
  strobe::metrics::ExponentialBuckets b = strobe::metrics::Downscale(by, *offset, *counts, 0);
  *offset = b.offset;
  *counts = std::move(b.counts);
}

void AddInto(int32_t offset, std::span<const uint64_t> add, int32_t* dst_offset,
             std::vector<uint64_t>* dst) {
  if (add.empty()) return;
  if (dst->empty()) {
    *dst_offset = offset;
    dst->assign(add.begin(), add.end());
    return;
  }
  const int64_t first = std::min<int64_t>(offset, *dst_offset);
  const int64_t last = std::max<int64_t>(offset + static_cast<int64_t>(add.size()),
                                         *dst_offset + static_cast<int64_t>(dst->size()));
  std::vector<uint64_t> out(static_cast<size_t>(last - first), 0);
  for (size_t i = 0; i < dst->size(); ++i)
    out[static_cast<size_t>(*dst_offset - first) + i] = (*dst)[i];
  for (size_t i = 0; i < add.size(); ++i) out[static_cast<size_t>(offset - first) + i] += add[i];
  *dst_offset = static_cast<int32_t>(first);
  *dst = std::move(out);
}

int64_t Width(int32_t offset_a, size_t size_a, int32_t offset_b, size_t size_b) {
  if (size_a == 0 && size_b == 0) return 0;
  if (size_a == 0) return static_cast<int64_t>(size_b);
  if (size_b == 0) return static_cast<int64_t>(size_a);
  return std::max<int64_t>(offset_a + static_cast<int64_t>(size_a),
                           offset_b + static_cast<int64_t>(size_b)) -
         std::min<int64_t>(offset_a, offset_b);
}

}  // namespace

void PrometheusExporter::FoldPoint(const event::MetricPoint& p, uint64_t now_ns) {
  const bool no_value = (p.flags & 1u) != 0;  // DataPointFlags.NO_RECORDED_VALUE
  switch (p.type) {
    case event::MetricType::kGauge:
      FoldGauge(p, no_value, now_ns);
      return;
    case event::MetricType::kSum:
      FoldSum(p, no_value, now_ns);
      return;
    case event::MetricType::kHistogram:
      FoldHistogram(p, no_value, now_ns);
      return;
    case event::MetricType::kExponentialHistogram:
      FoldExpHistogram(p, no_value, now_ns);
      return;
    case event::MetricType::kSummary:
      FoldSummary(p, no_value, now_ns);
      return;
  }
  Drop(DropReason::kInvalid);  // a type this exporter does not know
}

std::pair<PrometheusExporter::Series*, bool> PrometheusExporter::SeriesFor(
    const event::MetricPoint& p, Kind kind, NameKind name_kind, bool no_value, uint64_t now_ns,
    std::string_view reserved) {
  std::vector<Label> labels = labeler_.Labels(p, reserved);
  const prometheus::MetricName n = Name(p.name, p.unit, name_kind);
  if (no_value) {
    Erase(n.name, labels);
    return {nullptr, false};
  }
  auto found = FindOrCreate(n.name, kind, p.description, n.unit, std::move(labels), now_ns, p.name);
  if (found.first != nullptr && found.second && p.start_time_ns != 0) {
    found.first->created_unix_ns = p.start_time_ns;
  }
  return found;
}

void PrometheusExporter::FoldGauge(const event::MetricPoint& p, bool no_value, uint64_t now_ns) {
  Series* s = SeriesFor(p, Kind::kGauge, NameKind::kGauge, no_value, now_ns).first;
  if (s != nullptr) s->value = p.Number();
}

void PrometheusExporter::FoldSum(const event::MetricPoint& p, bool no_value, uint64_t now_ns) {
  if (p.temporality == event::Temporality::kUnspecified) {
    Drop(DropReason::kInvalid);
    return;
  }
  const bool cumulative = p.temporality == event::Temporality::kCumulative;
  const double v = p.Number();
  if (!no_value && p.is_monotonic && !cumulative && v < 0) {
    Drop(DropReason::kInvalid);
    return;
  }
  auto [s, fresh] =
      SeriesFor(p, p.is_monotonic ? Kind::kCounter : Kind::kGauge,
                p.is_monotonic ? NameKind::kCounter : NameKind::kGauge, no_value, now_ns);
  if (s == nullptr) return;
  if (cumulative) {
    // A cumulative stream restarted (new start time): its new value is the new total.
    if (!fresh && p.start_time_ns != 0 && p.start_time_ns != s->start_ns) {
      s->created_unix_ns = p.start_time_ns;
    }
    s->value = v;
  } else {
    s->value += v;
  }
  s->start_ns = p.start_time_ns;
}

void PrometheusExporter::FoldHistogram(const event::MetricPoint& p, bool no_value,
                                       uint64_t now_ns) {
  const event::HistogramData* h = p.histogram;
  if (h == nullptr || p.temporality == event::Temporality::kUnspecified ||
      (!h->bucket_counts.empty() && h->bucket_counts.size() != h->explicit_bounds.size() + 1)) {
    Drop(DropReason::kInvalid);
    return;
  }
  for (size_t i = 0; i < h->explicit_bounds.size(); ++i) {
    if (!std::isfinite(h->explicit_bounds[i]) ||
        (i > 0 && !(h->explicit_bounds[i] > h->explicit_bounds[i - 1]))) {
      Drop(DropReason::kInvalid);
      return;
    }
  }
  auto [s, fresh] = SeriesFor(p, Kind::kHistogram, NameKind::kOther, no_value, now_ns);
  if (s == nullptr) return;
  const bool delta = p.temporality == event::Temporality::kDelta;
  std::vector<uint64_t> counts(h->bucket_counts.begin(), h->bucket_counts.end());
  if (counts.empty()) counts.assign(h->explicit_bounds.size() + 1, 0);
  if (h->bucket_counts.empty()) counts.back() = h->count;  // no buckets: all in +Inf
  const bool same_bounds = std::equal(s->bounds.begin(), s->bounds.end(),
                                      h->explicit_bounds.begin(), h->explicit_bounds.end());
  if (delta && !fresh && same_bounds && s->bucket_counts.size() == counts.size()) {
    for (size_t i = 0; i < counts.size(); ++i) s->bucket_counts[i] += counts[i];
    s->count += h->count;
    s->sum += h->sum;
    if (h->has_min_max) {
      s->min = s->has_min_max ? std::min(s->min, h->min) : h->min;
      s->max = s->has_min_max ? std::max(s->max, h->max) : h->max;
      s->has_min_max = true;
    }
  } else {
    if (delta && !fresh) s->created_unix_ns = strobe::WallNowNs();  // bounds changed
    s->bounds.assign(h->explicit_bounds.begin(), h->explicit_bounds.end());
    s->bucket_counts = std::move(counts);
    s->count = h->count;
    s->sum = h->sum;
    s->min = h->min;
    s->max = h->max;
    s->has_min_max = h->has_min_max;
  }
}

void PrometheusExporter::FoldExpHistogram(const event::MetricPoint& p, bool no_value,
                                          uint64_t now_ns) {
  const event::ExponentialHistogramData* h = p.exp_histogram;
  if (h == nullptr || p.temporality == event::Temporality::kUnspecified || h->scale < -10 ||
      h->scale > 20) {
    Drop(DropReason::kInvalid);
    return;
  }
  auto [s, fresh] = SeriesFor(p, Kind::kExpHistogram, NameKind::kOther, no_value, now_ns);
  if (s == nullptr) return;
  const bool merge = p.temporality == event::Temporality::kDelta && !fresh;
  if (!merge) {
    s->scale = h->scale;
    s->positive = {h->positive.offset, {h->positive.counts.begin(), h->positive.counts.end()}};
    s->negative = {h->negative.offset, {h->negative.counts.begin(), h->negative.counts.end()}};
    s->zero_count = h->zero_count;
    s->zero_threshold = h->zero_threshold;
    s->count = h->count;
    s->sum = h->sum;
    s->min = h->min;
    s->max = h->max;
    s->has_min_max = h->has_min_max;
  } else {
    ExpSide pos{h->positive.offset, {h->positive.counts.begin(), h->positive.counts.end()}};
    ExpSide neg{h->negative.offset, {h->negative.counts.begin(), h->negative.counts.end()}};
    // Merged on copies: a merge that cannot be held is dropped with the series intact.
    ExpSide spos = s->positive;
    ExpSide sneg = s->negative;
    int32_t scale = std::min(s->scale, h->scale);
    Downscale(s->scale - scale, &spos.offset, &spos.counts);
    Downscale(s->scale - scale, &sneg.offset, &sneg.counts);
    Downscale(h->scale - scale, &pos.offset, &pos.counts);
    Downscale(h->scale - scale, &neg.offset, &neg.counts);
    // Untrusted offsets: the union of both ranges must fit kMaxExpBuckets.
    auto too_wide = [&] {
      return Width(spos.offset, spos.counts.size(), pos.offset, pos.counts.size()) >
                 kMaxExpBuckets ||
             Width(sneg.offset, sneg.counts.size(), neg.offset, neg.counts.size()) > kMaxExpBuckets;
    };
    while (scale > -10 && too_wide()) {
      for (ExpSide* side : {&spos, &sneg, &pos, &neg}) {
        Downscale(1, &side->offset, &side->counts);
      }
      --scale;
    }
    if (too_wide()) {
      Drop(DropReason::kInvalid);
      return;
    }
    AddInto(pos.offset, pos.counts, &spos.offset, &spos.counts);
    AddInto(neg.offset, neg.counts, &sneg.offset, &sneg.counts);
    s->positive = std::move(spos);
    s->negative = std::move(sneg);
    s->scale = scale;
    s->zero_count += h->zero_count;
    s->zero_threshold = std::max(s->zero_threshold, h->zero_threshold);
    s->count += h->count;
    s->sum += h->sum;
    if (h->has_min_max) {
      s->min = s->has_min_max ? std::min(s->min, h->min) : h->min;
      s->max = s->has_min_max ? std::max(s->max, h->max) : h->max;
      s->has_min_max = true;
    }
  }
  // Untrusted widths: keep each side within kMaxExpBuckets by lowering the resolution.
  while (s->scale > -10 &&
         (Width(s->positive.offset, s->positive.counts.size(), 0, 0) > kMaxExpBuckets ||
          Width(s->negative.offset, s->negative.counts.size(), 0, 0) > kMaxExpBuckets)) {
    Downscale(1, &s->positive.offset, &s->positive.counts);
    Downscale(1, &s->negative.offset, &s->negative.counts);
    --s->scale;
  }
}

// Summaries are cumulative (OTLP): each point replaces the series' count, sum and quantiles.
void PrometheusExporter::FoldSummary(const event::MetricPoint& p, bool no_value, uint64_t now_ns) {
  const event::SummaryData* q = p.summary;
  if (q == nullptr || !q->Valid()) {
    Drop(DropReason::kInvalid);
    return;
  }
  auto [s, fresh] = SeriesFor(p, Kind::kSummary, NameKind::kOther, no_value, now_ns, "quantile");
  if (s == nullptr) return;
  if (!fresh && p.start_time_ns != 0 && p.start_time_ns != s->start_ns) {
    s->created_unix_ns = p.start_time_ns;  // the source restarted
  }
  s->start_ns = p.start_time_ns;
  s->count = q->count;
  s->sum = q->sum;
  s->quantiles.clear();
  for (const event::QuantileValue& v : q->quantiles) s->quantiles[v.quantile] = v.value;
}

namespace {

// The approximate exponential view of a classic histogram, for the JSON API's percentiles:
// each bucket's observations are placed at its upper bound (the +Inf bucket's at `max`);
// buckets at or below 0 count as zero.
void ApproximateExp(const std::vector<double>& bounds, const std::vector<uint64_t>& counts,
                    double max, strobe::snapshot::HistogramValue* h) {
  std::vector<std::pair<double, uint64_t>> at;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const double v =
        i < bounds.size() ? bounds[i] : std::max(max, bounds.empty() ? 0 : bounds.back());
    if (v > 0 && std::isfinite(v)) {
      at.emplace_back(v, counts[i]);
    } else {
      h->zero_count += counts[i];
    }
  }
  h->approximate_exponential = true;  // bucket edges moved to exponential ones
  if (at.empty()) return;
  int32_t scale = 3;
  while (scale > -10 && ExpIndex(scale, at.back().first) - ExpIndex(scale, at.front().first) >=
                            kMaxApproxBuckets) {
    --scale;
  }
  h->scale = scale;
  const int64_t first = ExpIndex(scale, at.front().first);
  h->positive_offset = static_cast<int32_t>(first);
  h->positive_counts.assign(static_cast<size_t>(ExpIndex(scale, at.back().first) - first + 1), 0);
  for (const auto& [v, c] : at)
    h->positive_counts[static_cast<size_t>(ExpIndex(scale, v) - first)] += c;
}

}  // namespace

void PrometheusExporter::CollectLocked(strobe::snapshot::Snapshot& out) {
  if (options_.metric_expiration.count() > 0) ExpireLocked(clock_.NowNs());
  series_gauge_->Set(static_cast<double>(series_count_));
  using strobe::snapshot::MetricType;
  out.families.reserve(out.families.size() + families_.size());
  for (const auto& [name, f] : families_) {
    strobe::snapshot::Family& fam = out.families.emplace_back();
    fam.name = name;
    fam.help = f.help;
    fam.unit = f.unit;
    switch (f.kind) {
      case Kind::kGauge:
        fam.type = MetricType::kGauge;
        break;
      case Kind::kCounter:
        fam.type = MetricType::kCounter;
        break;
      case Kind::kHistogram:
      case Kind::kExpHistogram:
        fam.type = MetricType::kHistogram;
        break;
      case Kind::kSummary:
        fam.type = MetricType::kSummary;
        break;
    }
    fam.points.reserve(f.series.size());
    for (const auto& [key, s] : f.series) {
      strobe::snapshot::Point& pt = fam.points.emplace_back();
      pt.labels = s.labels;
      pt.created_unix_ns = s.created_unix_ns;
      pt.value = s.value;
      strobe::snapshot::HistogramValue& h = pt.histogram;
      h.count = s.count;
      h.sum = s.sum;
      if (f.kind == Kind::kHistogram) {
        h.bounds = s.bounds;
        h.bucket_counts = s.bucket_counts;
        if (s.has_min_max) {
          h.min = s.min;
          h.max = s.max;
        } else {
          // Edges of the populated buckets.
          size_t lo = 0, hi = 0;
          bool any = false;
          for (size_t i = 0; i < s.bucket_counts.size(); ++i) {
            if (s.bucket_counts[i] == 0) continue;
            if (!any) lo = i;
            hi = i;
            any = true;
          }
          if (any && !s.bounds.empty()) {
            h.min = lo == 0 ? std::min(0.0, s.bounds[0]) : s.bounds[lo - 1];
            h.max = hi < s.bounds.size() ? s.bounds[hi] : s.bounds.back();
          }
        }
        ApproximateExp(s.bounds, s.bucket_counts, h.max, &h);
      } else if (f.kind == Kind::kExpHistogram) {
        // The exponential view (JSON percentiles): negatives count as zero.
        const auto& neg = s.negative;
        const auto& pos = s.positive;
        h.scale = s.scale;
        h.zero_count = s.zero_count;
        h.positive_offset = pos.offset;
        h.positive_counts = pos.counts;
        // The family's fixed `le` bounds (see the overview for how a bucket is counted).
        h.bounds = f.exp_bounds;
        prometheus::ExponentialToClassic(s.scale, s.zero_count, pos.offset, pos.counts, neg.offset,
                                         neg.counts, f.exp_bounds, &h.bucket_counts);
        h.zero_count += Total(neg.counts);
        h.approximate_exponential = Total(neg.counts) > 0;  // negatives folded into zero
        if (s.has_min_max) {
          h.min = s.min;
          h.max = s.max;
        } else if (h.count > 0) {
          h.min = neg.counts.empty()
                      ? (s.zero_count > 0 || pos.counts.empty()
                             ? 0
                             : prometheus::ExponentialUpper(s.scale, pos.offset - 1))
                      : -prometheus::ExponentialUpper(
                            s.scale, neg.offset + static_cast<int64_t>(neg.counts.size()) - 1);
          h.max = pos.counts.empty()
                      ? (s.zero_count > 0 || neg.counts.empty()
                             ? 0
                             : -prometheus::ExponentialUpper(s.scale, neg.offset - 1))
                      : prometheus::ExponentialUpper(
                            s.scale, pos.offset + static_cast<int64_t>(pos.counts.size()) - 1);
        }
      } else if (f.kind == Kind::kSummary) {
        for (const auto& [q, v] : s.quantiles) h.quantiles.push_back({q, v});
        if (!s.quantiles.empty()) {
          h.min = s.quantiles.begin()->second;
          h.max = s.quantiles.rbegin()->second;
        }
      }
      if (h.min > h.max) std::swap(h.min, h.max);
    }
  }
}

namespace {

// The `histogram_buckets` option: a map of name pattern → list of numbers, in file order.
// Bounds are checked by Create.
strobe::Result<std::vector<HistogramBucketsRule>> ParseHistogramBuckets(
    const pipeline::ComponentContext& ctx) {
  std::vector<HistogramBucketsRule> rules;
  if (!ctx.options.Has("histogram_buckets")) return rules;
  const YAML::Node node = ctx.options.Node("histogram_buckets");
  if (!node || node.IsNull()) return rules;
  const std::string where = ctx.options.Where("histogram_buckets");
  if (!node.IsMap()) {
    return strobe::InvalidArgument(where +
                                   ": prometheus.histogram_buckets must be a map of metric name "
                                   "or glob to a list of bounds");
  }
  for (const auto& kv : node) {
    HistogramBucketsRule r;
    try {
      r.pattern = kv.first.as<std::string>();
      if (!kv.second.IsSequence()) {
        return strobe::InvalidArgument(where + ": prometheus.histogram_buckets '" + r.pattern +
                                       "' must be a list of numbers");
      }
      for (const auto& b : kv.second) r.bounds.push_back(b.as<double>());
    } catch (const YAML::Exception&) {
      return strobe::InvalidArgument(where + ": prometheus.histogram_buckets '" + r.pattern +
                                     "' must be a list of numbers");
    }
    rules.push_back(std::move(r));
  }
  return rules;
}

}  // namespace

void RegisterPrometheusExporter(pipeline::PluginRegistry& registry) {
  using pipeline::OptionType;
  STROBE_CHECK(
      registry
          .AddExporter({
              .type = "prometheus",
              .description =
                  "Keeps the latest value of every metric series (OTLP gauge, sum, histogram, "
                  "exponential histogram, summary) and exposes them on the daemon's /metrics "
                  "(Prometheus text / OpenMetrics) and /api/v1/metrics.",
              .signals = event::kSignalMetrics,
              .options =
                  {
                      {"max_series",
                       OptionType::kInt,
                       "10000",
                       "series kept; points of further series are dropped (counted)",
                       {.min = "1"}},
                      {"metric_expiration", OptionType::kDuration, "5m",
                       "remove a series not updated for this long (0 = never)"},
                      {"namespace", OptionType::kString, "", "prefix of every metric name"},
                      {"add_metric_suffixes", OptionType::kBool, "true",
                       "append unit suffixes (`_seconds`, `_bytes`) to names"},
                      {"resource_to_telemetry_conversion", OptionType::kBool, "false",
                       "copy every resource attribute onto each series as a label"},
                      {"target_info", OptionType::kBool, "true",
                       "expose resource attributes as a target_info gauge per job/instance"},
                      {"histogram_buckets", OptionType::kNode, "",
                       "map of metric name or glob (OTLP or exposed name) to the `le` bounds "
                       "of its exponential histograms, e.g. `{\"http.*\": [0.1, 1, 10]}`; "
                       "first match wins; otherwise defaults by unit (seconds, ms, bytes, "
                       "unitless; docs/otlp.md)"},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Exporter>> {
                PrometheusExporterOptions o;
                o.name = ctx.id.ToString();
                o.max_series = static_cast<size_t>(ctx.options.GetInt("max_series"));
                o.metric_expiration = ctx.options.GetDuration("metric_expiration");  // never < 0
                o.name_space = ctx.options.GetString("namespace");
                if (!o.name_space.empty() &&
                    prometheus::SanitizeMetricName(o.name_space) != o.name_space) {
                  return strobe::InvalidArgument(
                      ctx.options.Where("namespace") + ": prometheus.namespace '" + o.name_space +
                      "' is not a valid metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)");
                }
                o.add_metric_suffixes = ctx.options.GetBool("add_metric_suffixes");
                o.resource_to_telemetry_conversion =
                    ctx.options.GetBool("resource_to_telemetry_conversion");
                o.target_info = ctx.options.GetBool("target_info");
                auto rules = ParseHistogramBuckets(ctx);
                if (!rules.ok()) return rules.status();
                o.histogram_buckets = std::move(*rules);
                o.clock = &ctx.clock;
                o.keys = &ctx.keys;
                o.metrics = ctx.services.metrics;
                auto e = PrometheusExporter::Create(std::move(o));
                if (!e.ok()) return e.status().WithContext(ctx.options.Where("histogram_buckets"));
                return std::unique_ptr<pipeline::Exporter>(std::move(*e));
              },
          })
          .ok());
}

}  // namespace strobed::exporters
