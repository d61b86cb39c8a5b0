#include "strobe/metrics/shm_push.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace strobe::metrics {
namespace {

std::string Key(strobe_series_kind kind, const snapshot::Family& f, const snapshot::Point& p) {
  std::string k(1, static_cast<char>('0' + static_cast<int>(kind)));
  k += f.name;
  for (const snapshot::Label& l : p.labels) {
    k.push_back('\0');
    k += l.name;
    k.push_back('\0');
    k += l.value;
  }
  return k;
}

uint64_t BucketAt(int32_t offset, const std::vector<uint64_t>& counts, int64_t index) {
  const int64_t i = index - offset;
  return i >= 0 && i < static_cast<int64_t>(counts.size()) ? counts[static_cast<size_t>(i)] : 0;
}

}  // namespace

ShmPusher::ShmPusher(const Registry& registry, shm::Producer& producer)
    : registry_(registry), producer_(producer) {}

bool ShmPusher::Define(Sent& s, strobe_series_kind kind, const snapshot::Family& f,
                       const snapshot::Point& p) {
  if (s.series_id != 0) return true;
  shm::Labels labels;
  labels.reserve(p.labels.size());
  for (const snapshot::Label& l : p.labels) labels.emplace_back(l.name, l.value);
  s.series_id = producer_.DefineSeries(kind, f.name, labels);
  if (s.series_id == 0) {
    ++stats_.dropped;  // retried next push
    return false;
  }
  ++stats_.records;
  return true;
}

void ShmPusher::PushHistogram(Sent& s, const snapshot::HistogramValue& h) {
  if (h.count < s.count || h.zero_count < s.zero) {  // cannot happen for one series: resend all
    const uint64_t id = s.series_id;
    s = Sent();
    s.series_id = id;
  }
  if (h.count == s.count) return;
  // Bucket deltas over the union of the sent and current ranges, trimmed to non-zero.
  int64_t first = INT64_MAX, last = INT64_MIN;
  if (!h.positive_counts.empty()) {
    first = h.positive_offset;
    last = h.positive_offset + static_cast<int64_t>(h.positive_counts.size());
  }
  if (!s.buckets.empty()) {
    first = std::min<int64_t>(first, s.offset);
    last = std::max<int64_t>(last, s.offset + static_cast<int64_t>(s.buckets.size()));
  }
  if (first > last) first = last = 0;
  delta_.clear();
  bool any = false;  // bucket indices can be negative: no sentinel value
  int64_t lo = 0, hi = 0;
  for (int64_t i = first; i < last; ++i) {
    const uint64_t now = BucketAt(h.positive_offset, h.positive_counts, i);
    const uint64_t before = BucketAt(s.offset, s.buckets, i);
    const uint64_t d = now >= before ? now - before : 0;
    delta_.push_back(d);
    if (d != 0) {
      if (!any) lo = i;
      any = true;
      hi = i;
    }
  }
  const uint64_t n = any ? static_cast<uint64_t>(hi - lo + 1) : 0;
  const uint64_t* counts = any ? delta_.data() + (lo - first) : nullptr;
  const bool ok = producer_.HistogramMerge(
      s.series_id, 0, h.count - s.count, h.zero_count - s.zero, std::max(0.0, h.sum - s.sum), h.min,
      h.max, h.scale, static_cast<int32_t>(lo), counts, static_cast<uint32_t>(n));
  if (!ok) {
    ++stats_.dropped;  // the same delta goes out next push
    return;
  }
  ++stats_.records;
  s.count = h.count;
  s.zero = h.zero_count;
  s.sum = h.sum;
  s.offset = h.positive_offset;
  s.buckets = h.positive_counts;
}

size_t ShmPusher::Push() {
  const uint64_t before = stats_.records;
  ++stats_.pushes;
  const snapshot::Snapshot snap = registry_.Collect();
  for (const snapshot::Family& f : snap.families) {
    strobe_series_kind kind;
    switch (f.type) {
      case snapshot::MetricType::kCounter:
        kind = STROBE_KIND_COUNTER;
        break;
      case snapshot::MetricType::kGauge:
        kind = STROBE_KIND_GAUGE;
        break;
      default:
        kind = STROBE_KIND_HISTOGRAM;
        break;
    }
    for (const snapshot::Point& p : f.points) {
      if (kind == STROBE_KIND_HISTOGRAM &&
          (p.histogram.unit_scale != 1.0 || p.histogram.scale != 6)) {
        ++stats_.skipped;
        continue;
      }
      Sent& s = sent_[Key(kind, f, p)];
      if (!Define(s, kind, f, p)) continue;
      if (kind == STROBE_KIND_COUNTER) {
        if (!(p.value >= s.counter)) s.counter = std::isfinite(p.value) ? p.value : s.counter;
        const double whole = std::floor(p.value - s.counter);
        if (whole < 1) continue;
        const uint64_t d = whole >= 0x1p64 ? UINT64_MAX : static_cast<uint64_t>(whole);
        if (producer_.CounterAdd(s.series_id, d)) {
          ++stats_.records;
          s.counter += static_cast<double>(d);
        } else {
          ++stats_.dropped;
        }
      } else if (kind == STROBE_KIND_GAUGE) {
        if (producer_.GaugeSet(s.series_id, p.value)) {
          ++stats_.records;
        } else {
          ++stats_.dropped;
        }
      } else {
        PushHistogram(s, p.histogram);
      }
    }
  }
  return static_cast<size_t>(stats_.records - before);
}

}  // namespace strobe::metrics
