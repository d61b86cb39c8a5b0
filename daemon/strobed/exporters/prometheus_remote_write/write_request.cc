#include "strobed/exporters/prometheus_remote_write/write_request.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>

namespace strobed::exporters {
namespace {

using prometheus::NameKind;

// prompb MetricMetadata.MetricType.
constexpr uint8_t kTypeCounter = 1;
constexpr uint8_t kTypeGauge = 2;
constexpr uint8_t kTypeHistogram = 3;
constexpr uint8_t kTypeSummary = 5;

// Protobuf tags (field << 3 | wire type). WriteRequest: timeseries = 1, metadata = 3.
// TimeSeries: labels = 1, samples = 2. Label: name = 1, value = 2. Sample: value = 1 (double),
// timestamp = 2 (int64). MetricMetadata: type = 1, metric_family_name = 2, help = 4, unit = 5.
constexpr char kTagTimeSeries = 0x0a;
constexpr char kTagMetadata = 0x1a;
constexpr char kTagLabel = 0x0a;
constexpr char kTagSample = 0x12;
constexpr char kTagName = 0x0a;
constexpr char kTagValue = 0x12;
constexpr char kTagSampleValue = 0x09;
constexpr char kTagSampleTimestamp = 0x10;
constexpr char kTagMetaType = 0x08;
constexpr char kTagMetaFamily = 0x12;
constexpr char kTagMetaHelp = 0x22;
constexpr char kTagMetaUnit = 0x2a;

// Prometheus' stale marker (value.StaleNaN).
constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
// Cached names and bounds (untrusted names): cleared when full.
constexpr size_t kMaxCached = 4096;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// The encoded size of a Sample entry (tag, length, both fields) of timestamp `ts`.
size_t SampleEntrySize(int64_t ts) {
  const size_t body = 1 + 8 + 1 + VarintSize(static_cast<uint64_t>(ts));
  return 1 + VarintSize(body) + body;
}

void AppendString(std::string* out, char tag, std::string_view s) {
  out->push_back(tag);
  AppendVarint(out, s.size());
  out->append(s);
}

char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// One Label entry of a TimeSeries, written in place (one resize, no per-field appends).
void AppendLabel(std::string* out, std::string_view name, std::string_view value) {
  const size_t len =
      1 + VarintSize(name.size()) + name.size() + 1 + VarintSize(value.size()) + value.size();
  const size_t at = out->size();
  out->resize(at + 1 + VarintSize(len) + len);
  char* p = out->data() + at;
  *p++ = kTagLabel;
  p = PutVarint(p, len);
  *p++ = kTagName;
  p = PutVarint(p, name.size());
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = kTagValue;
  p = PutVarint(p, value.size());
  std::memcpy(p, value.data(), value.size());
}

void AppendSample(std::string* out, int64_t ts, double value) {
  const size_t body = 1 + 8 + 1 + VarintSize(static_cast<uint64_t>(ts));
  out->push_back(kTagSample);
  AppendVarint(out, body);
  out->push_back(kTagSampleValue);
  const uint64_t bits = std::bit_cast<uint64_t>(value);
  char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<char>((bits >> (8 * i)) & 0xff);
  out->append(le, 8);
  out->push_back(kTagSampleTimestamp);
  AppendVarint(out, static_cast<uint64_t>(ts));
}

bool ValidBounds(std::span<const double> bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) return false;
  }
  return true;
}

}  // namespace

void AppendVarint(std::string* out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

WriteRequestBuilder::WriteRequestBuilder(WriteRequestOptions options, event::KeyTable& keys)
    : options_(std::move(options)), labeler_(keys, options_.resource_to_telemetry_conversion) {
  table_.assign(1024, 0);
}

void WriteRequestBuilder::Clear() noexcept {
  labels_.clear();
  series_.clear();
  std::fill(table_.begin(), table_.end(), 0);
  samples_.clear();
  sorted_.clear();
  families_.clear();
  finished_ = false;
}

MapStats WriteRequestBuilder::Add(std::span<const event::MetricPoint> points, int64_t now_ms) {
  MapStats stats;
  labeler_.Reset();
  last_target_info_ = nullptr;
  finished_ = false;
  const size_t before = samples_.size();
  for (const event::MetricPoint& p : points) {
    if (MapPoint(p, now_ms, stats)) ++stats.points;
  }
  stats.samples = samples_.size() - before;
  return stats;
}

const prometheus::MetricName& WriteRequestBuilder::Name(std::string_view name,
                                                        std::string_view unit, NameKind kind) {
  text_.clear();
  text_.push_back(static_cast<char>('0' + static_cast<int>(kind)));
  text_.append(name);
  text_.push_back('\0');
  text_.append(unit);
  auto it = names_.find(text_);
  if (it != names_.end()) return it->second;
  if (names_.size() >= kMaxCached) names_.clear();
  return names_
      .emplace(text_, prometheus::BuildMetricName(name, unit, kind, options_.name_space,
                                                  options_.add_metric_suffixes))
      .first->second;
}

const std::vector<double>& WriteRequestBuilder::ExpBounds(std::string_view source,
                                                          const std::string& family,
                                                          std::string_view unit) {
  // Per exposed family, fixed by its first point (as the prometheus exporter fixes them).
  auto it = exp_bounds_.find(family);
  if (it != exp_bounds_.end()) return it->second;
  if (exp_bounds_.size() >= kMaxCached) exp_bounds_.clear();
  return exp_bounds_
      .emplace(family, SelectHistogramBounds(options_.histogram_buckets, source, family, unit))
      .first->second;
}

void WriteRequestBuilder::PointLabels(const event::MetricPoint& p, std::string_view reserved) {
  base_labels_ = labeler_.Labels(p, reserved);
  MergeExternal();
}

void WriteRequestBuilder::MergeExternal() {
  point_labels_.clear();
  // Merge two sorted lists; the series' own label wins over an external one.
  const auto& ext = options_.external_labels;
  size_t i = 0, j = 0;
  while (i < base_labels_.size() || j < ext.size()) {
    if (j == ext.size() || (i < base_labels_.size() && base_labels_[i].name <= ext[j].name)) {
      if (j < ext.size() && base_labels_[i].name == ext[j].name) ++j;
      point_labels_.push_back({base_labels_[i].name, base_labels_[i].value});
      ++i;
    } else {
      point_labels_.push_back({ext[j].name, ext[j].value});
      ++j;
    }
  }
  // Encoded once per point; each of its samples' series copies the ranges around __name__ and
  // its extra label (a histogram has 13 series of the same labels).
  point_encoded_.clear();
  point_offsets_.clear();
  for (const LabelView& l : point_labels_) {
    point_offsets_.push_back(static_cast<uint32_t>(point_encoded_.size()));
    if (!l.value.empty()) AppendLabel(&point_encoded_, l.name, l.value);
  }
  point_offsets_.push_back(static_cast<uint32_t>(point_encoded_.size()));
}

void WriteRequestBuilder::Rehash(size_t slots) {
  table_.assign(slots, 0);
  const size_t mask = slots - 1;
  for (size_t s = 0; s < series_.size(); ++s) {
    size_t at = series_[s].hash & mask;
    while (table_[at] != 0) at = (at + 1) & mask;
    table_[at] = static_cast<uint32_t>(s + 1);
  }
}

uint32_t WriteRequestBuilder::FindOrAddSeries(size_t labels_offset) {
  const std::string_view key(labels_.data() + labels_offset, labels_.size() - labels_offset);
  const uint64_t hash = std::hash<std::string_view>{}(key);
  const size_t mask = table_.size() - 1;
  size_t at = hash & mask;
  while (table_[at] != 0) {
    const Series& s = series_[table_[at] - 1];
    if (s.hash == hash && s.labels_size == key.size() &&
        std::memcmp(labels_.data() + s.labels_offset, key.data(), key.size()) == 0) {
      labels_.resize(labels_offset);  // already known: drop the tentative copy
      return table_[at] - 1;
    }
    at = (at + 1) & mask;
  }
  Series s;
  s.hash = hash;
  s.labels_offset = static_cast<uint32_t>(labels_offset);
  s.labels_size = static_cast<uint32_t>(key.size());
  series_.push_back(s);
  const auto index = static_cast<uint32_t>(series_.size() - 1);
  table_[at] = index + 1;
  if (series_.size() * 2 > table_.size()) Rehash(table_.size() * 2);  // load <= 1/2
  return index;
}

void WriteRequestBuilder::AddSample(std::string_view name, std::string_view extra_name,
                                    std::string_view extra_value, int64_t ts_ms, double value) {
  const size_t offset = labels_.size();
  // __name__ sorts before every sanitised label starting with a lower-case letter but after
  // upper-case ones; the extra label (le, quantile) is merged in at its place too, replacing an
  // external label of that name.
  LabelView extras[2] = {{"__name__", name}, {extra_name, extra_value}};
  const size_t n_extras = extra_name.empty() ? 1 : 2;
  if (n_extras == 2 && extras[1].name < extras[0].name) std::swap(extras[0], extras[1]);
  size_t from = 0;  // next point label to copy
  for (size_t e = 0; e < n_extras; ++e) {
    const auto at = static_cast<size_t>(
        std::lower_bound(point_labels_.begin(), point_labels_.end(), extras[e].name,
                         [](const LabelView& l, std::string_view n) { return l.name < n; }) -
        point_labels_.begin());
    labels_.append(point_encoded_, point_offsets_[from], point_offsets_[at] - point_offsets_[from]);
    AppendLabel(&labels_, extras[e].name, extras[e].value);
    from = at;
    if (from < point_labels_.size() && point_labels_[from].name == extras[e].name) ++from;
  }
  labels_.append(point_encoded_, point_offsets_[from],
                 point_offsets_.back() - point_offsets_[from]);
  const uint32_t series = FindOrAddSeries(offset);
  ++series_[series].samples;
  samples_.push_back({series, ts_ms, value});
}

void WriteRequestBuilder::NoteFamily(const std::string& family, uint8_t type, std::string_view help,
                                     std::string_view unit) {
  if (!options_.send_metadata) return;
  auto it = families_.find(family);
  if (it != families_.end()) return;
  families_.emplace(family, Family{type, std::string(help), std::string(unit)});
}

bool WriteRequestBuilder::MapPoint(const event::MetricPoint& p, int64_t now_ms, MapStats& stats) {
  const bool no_value = (p.flags & 1u) != 0;  // DataPointFlags.NO_RECORDED_VALUE
  const double stale = std::bit_cast<double>(kStaleNaNBits);
  const int64_t ts = p.time_ns != 0 ? static_cast<int64_t>(p.time_ns / 1'000'000) : now_ms;
  auto refuse_invalid = [&] {
    ++stats.invalid;
    return false;
  };
  // Validate before anything is emitted (target_info included).
  switch (p.type) {
    case event::MetricType::kGauge:
      break;
    case event::MetricType::kSum:
    case event::MetricType::kHistogram:
    case event::MetricType::kExponentialHistogram:
      if (p.temporality == event::Temporality::kUnspecified) return refuse_invalid();
      if (p.temporality == event::Temporality::kDelta) {
        ++stats.delta;
        return false;
      }
      break;
    case event::MetricType::kSummary:
      if (p.summary == nullptr || !p.summary->Valid()) return refuse_invalid();
      break;
    default:
      return refuse_invalid();
  }
  if (p.type == event::MetricType::kHistogram) {
    const event::HistogramData* h = p.histogram;
    if (h == nullptr ||
        (!h->bucket_counts.empty() && h->bucket_counts.size() != h->explicit_bounds.size() + 1) ||
        !ValidBounds(h->explicit_bounds)) {
      return refuse_invalid();
    }
  }
  if (p.type == event::MetricType::kExponentialHistogram &&
      (p.exp_histogram == nullptr || p.exp_histogram->scale < -10 || p.exp_histogram->scale > 20)) {
    return refuse_invalid();
  }

  if (options_.target_info && p.resource != nullptr && p.resource != last_target_info_) {
    last_target_info_ = p.resource;
    if (labeler_.TargetInfoLabels(*p.resource, &base_labels_)) {
      // As PointLabels, from the target_info labels.
      MergeExternal();
      AddSample("target_info", {}, {}, ts, 1);
      NoteFamily("target_info", kTypeGauge, "Target metadata", "");
    }
  }

  auto v = [&](double x) { return no_value ? stale : x; };
  std::string name;
  switch (p.type) {
    case event::MetricType::kGauge: {
      const prometheus::MetricName& n = Name(p.name, p.unit, NameKind::kGauge);
      PointLabels(p, {});
      AddSample(n.name, {}, {}, ts, v(p.Number()));
      NoteFamily(n.name, kTypeGauge, p.description, n.unit);
      return true;
    }
    case event::MetricType::kSum: {
      const bool counter = p.is_monotonic;
      const prometheus::MetricName& n =
          Name(p.name, p.unit, counter ? NameKind::kCounter : NameKind::kGauge);
      name = counter ? n.name + "_total" : n.name;
      PointLabels(p, {});
      AddSample(name, {}, {}, ts, v(p.Number()));
      NoteFamily(name, counter ? kTypeCounter : kTypeGauge, p.description, n.unit);
      return true;
    }
    case event::MetricType::kHistogram:
    case event::MetricType::kExponentialHistogram: {
      const prometheus::MetricName& n = Name(p.name, p.unit, NameKind::kOther);
      std::span<const double> bounds;
      uint64_t count = 0;
      double sum = 0;
      if (p.type == event::MetricType::kHistogram) {
        const event::HistogramData& h = *p.histogram;
        bounds = h.explicit_bounds;
        counts_.assign(h.bucket_counts.begin(), h.bucket_counts.end());
        if (counts_.empty()) {
          counts_.assign(bounds.size() + 1, 0);
          counts_.back() = h.count;  // no buckets: all in +Inf
        }
        count = h.count;
        sum = h.sum;
      } else {
        const event::ExponentialHistogramData& h = *p.exp_histogram;
        const std::vector<double>& b = ExpBounds(p.name, n.name, n.unit);
        bounds = b;
        prometheus::ExponentialToClassic(h.scale, h.zero_count, h.positive.offset,
                                         h.positive.counts, h.negative.offset, h.negative.counts, b,
                                         &counts_);
        count = h.count;
        sum = h.sum;
      }
      PointLabels(p, "le");
      name = n.name + "_bucket";
      uint64_t cumulative = 0;
      for (size_t i = 0; i < counts_.size(); ++i) {
        cumulative += counts_[i];
        text_.clear();
        if (i < bounds.size()) {
          prometheus::AppendNumberLabelText(&text_, bounds[i]);
        } else {
          text_ = "+Inf";
        }
        AddSample(name, "le", text_, ts, v(static_cast<double>(cumulative)));
      }
      name = n.name + "_sum";
      AddSample(name, {}, {}, ts, v(sum));
      name = n.name + "_count";
      AddSample(name, {}, {}, ts, v(static_cast<double>(count)));
      NoteFamily(n.name, kTypeHistogram, p.description, n.unit);
      return true;
    }
    case event::MetricType::kSummary: {
      const event::SummaryData& q = *p.summary;
      const prometheus::MetricName& n = Name(p.name, p.unit, NameKind::kOther);
      PointLabels(p, "quantile");
      for (const event::QuantileValue& qv : q.quantiles) {
        text_.clear();
        prometheus::AppendNumberLabelText(&text_, qv.quantile);
        AddSample(n.name, "quantile", text_, ts, v(qv.value));
      }
      name = n.name + "_sum";
      AddSample(name, {}, {}, ts, v(q.sum));
      name = n.name + "_count";
      AddSample(name, {}, {}, ts, v(static_cast<double>(q.count)));
      NoteFamily(n.name, kTypeSummary, p.description, n.unit);
      return true;
    }
  }
  return refuse_invalid();
}

void WriteRequestBuilder::Finish() {
  if (finished_) return;
  finished_ = true;
  // Counting sort by series (stable: arrival order kept within a series).
  uint32_t next = 0;
  for (Series& s : series_) {
    s.first = next;
    next += s.samples;
  }
  sorted_.resize(samples_.size());
  for (Series& s : series_) s.samples = 0;
  for (const Sample& x : samples_) {
    Series& s = series_[x.series];
    sorted_[s.first + s.samples++] = x;
  }
  // Timestamp order inside each series; of equal timestamps the last arrival wins.
  for (Series& s : series_) {
    Sample* begin = sorted_.data() + s.first;
    Sample* end = begin + s.samples;
    auto by_ts = [](const Sample& a, const Sample& b) { return a.timestamp_ms < b.timestamp_ms; };
    if (!std::is_sorted(begin, end, by_ts)) std::stable_sort(begin, end, by_ts);
    uint32_t kept = 0;
    for (Sample* it = begin; it != end; ++it) {
      if (kept > 0 && begin[kept - 1].timestamp_ms == it->timestamp_ms) {
        begin[kept - 1] = *it;
      } else {
        begin[kept++] = *it;
      }
    }
    s.samples = kept;
  }
}

size_t WriteRequestBuilder::Encode(const std::function<bool(const Request&)>& sink) {
  Finish();
  size_t requests = 0;
  out_.clear();
  Request req;
  bool stop = false;
  auto flush = [&] {
    req.body = out_;
    ++requests;
    if (!sink(req)) stop = true;
    out_.clear();
    req = {};
  };
  if (options_.send_metadata && !series_.empty()) {
    for (const auto& [family, f] : families_) {
      const size_t body = 2 + (1 + VarintSize(family.size()) + family.size()) +
                          (f.help.empty() ? 0 : 1 + VarintSize(f.help.size()) + f.help.size()) +
                          (f.unit.empty() ? 0 : 1 + VarintSize(f.unit.size()) + f.unit.size());
      out_.push_back(kTagMetadata);
      AppendVarint(&out_, body);
      out_.push_back(kTagMetaType);
      out_.push_back(static_cast<char>(f.type));
      AppendString(&out_, kTagMetaFamily, family);
      if (!f.help.empty()) AppendString(&out_, kTagMetaHelp, f.help);
      if (!f.unit.empty()) AppendString(&out_, kTagMetaUnit, f.unit);
    }
  }
  const size_t max_samples = std::max<size_t>(1, options_.max_samples_per_request);
  const size_t max_bytes = options_.max_request_bytes;
  for (const Series& s : series_) {
    uint32_t done = 0;
    while (done < s.samples && !stop) {
      // As many samples as fit the request's remaining sample and byte room (at least one
      // when the request is empty: one sample always goes).
      size_t body = s.labels_size;
      uint32_t k = 0;
      while (done + k < s.samples && req.samples + k < max_samples) {
        const size_t add = SampleEntrySize(sorted_[s.first + done + k].timestamp_ms);
        const size_t total = out_.size() + 1 + VarintSize(body + add) + body + add;
        if (total > max_bytes && !(k == 0 && req.samples == 0)) break;
        body += add;
        ++k;
      }
      if (k == 0) {
        flush();  // this request is full
        continue;
      }
      out_.push_back(kTagTimeSeries);
      AppendVarint(&out_, body);
      out_.append(labels_, s.labels_offset, s.labels_size);
      for (uint32_t i = 0; i < k; ++i) {
        const Sample& x = sorted_[s.first + done + i];
        AppendSample(&out_, x.timestamp_ms, x.value);
      }
      req.samples += k;
      ++req.series;
      done += k;
      if (done < s.samples) flush();  // the rest of this series goes in the next request
    }
    if (stop) break;
  }
  if (!stop && req.samples > 0) flush();
  return requests;
}

}  // namespace strobed::exporters
