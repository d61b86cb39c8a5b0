#include "strobe/metrics/histogram.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>

#include "strobe/base/clock.h"

namespace strobe::metrics {

namespace {

// x rounded to 15 significant digits, so 1e3 * 1e-9 is exposed as le="1e-06", not as
// le="1.0000000000000002e-06".
double RoundDecimal(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", x);
  return std::strtod(buf, nullptr);
}

}  // namespace

std::vector<double> DefaultLatencyBounds(double unit_scale) {
  std::vector<double> out;
  out.reserve(22);
  double decade = 1e3;
  for (int i = 0; i < 7; ++i, decade *= 10) {
    for (double step : {1.0, 2.5, 5.0}) out.push_back(RoundDecimal(decade * step * unit_scale));
  }
  out.push_back(RoundDecimal(1e10 * unit_scale));
  return out;
}

std::vector<double> ExponentialBounds(double start, double factor, int count) {
  std::vector<double> out;
  out.reserve(static_cast<size_t>(std::max(count, 0)));
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

std::vector<double> LinearBounds(double start, double width, int count) {
  std::vector<double> out;
  out.reserve(static_cast<size_t>(std::max(count, 0)));
  for (int i = 0; i < count; ++i) out.push_back(start + width * i);
  return out;
}

Histogram::~Histogram() { internal::Shards::Get().FreeHist(hist_); }

bool Histogram::RecordInvalid() noexcept {
  internal::Bump(internal::LocalHist(hist_)->invalid, 1);
  internal::CountInvalidObservation();
  return false;
}

bool Histogram::RecordWithExemplar(double v, std::initializer_list<LabelPair> exemplar) noexcept {
  if (!RecordDouble(v)) return false;
  meta_->exemplar.Write(std::span<const LabelPair>(exemplar.begin(), exemplar.size()), v,
                        WallNowNs());
  return true;
}

HistogramData Histogram::Data() const {
  HistogramCollector collector;
  HistogramData out;
  internal::Shards::ReadLock lock(internal::Shards::Get());
  collector.CollectLocked(*this, &out);
  return out;
}

snapshot::HistogramValue Histogram::Value() const {
  HistogramCollector collector;
  snapshot::HistogramValue out;
  internal::Shards::ReadLock lock(internal::Shards::Get());
  collector.CollectLocked(*this, &out);
  return out;
}

HistogramCollector::HistogramCollector() : merge_(std::make_unique<internal::HistMerge>()) {}
HistogramCollector::~HistogramCollector() = default;

void HistogramCollector::CollectLocked(const Histogram& h, HistogramData* out) {
  out->Clear();
  internal::HistMerge& m = *merge_;
  m.Reset();
  internal::Shards::Get().MergeHistLocked(h.hist_, &m);
  uint64_t bucket_total = m.zero_count;
  int first_octave = -1;
  int last_octave = -1;
  for (int w = 0; w < internal::kOctaves / 64; ++w) {
    const uint64_t mask = m.octave_mask[w];
    if (mask == 0) continue;
    if (first_octave < 0) first_octave = w * 64 + std::countr_zero(mask);
    last_octave = w * 64 + 63 - std::countl_zero(mask);
  }
  if (first_octave >= 0) {
    constexpr int kHalf = internal::kOctaves / 2;
    out->ResetRange((first_octave - kHalf) * 64, (last_octave - kHalf) * 64 + 63);
  }
  for (int w = 0; w < internal::kOctaves / 64; ++w) {
    uint64_t mask = m.octave_mask[w];
    while (mask != 0) {
      const int o = w * 64 + std::countr_zero(mask);
      mask &= mask - 1;
      for (int b = 0; b < 64; ++b) {
        const uint64_t n = m.counts[o][b];
        if (n == 0) continue;
        bucket_total += n;
        out->AddBucketCount((o - internal::kOctaves / 2) * 64 + b, n);
      }
    }
  }
  // A first record still in flight may have bumped its bucket before min/max.
  if (bucket_total > 0 && !(m.min <= m.max)) {
    m.min = m.max = bucket_total == m.zero_count ? 0 : internal::BucketMidpoint(out->offset());
  }
  // Count from the buckets themselves: a record in flight may have bumped its bucket but
  // not yet the count (or the reverse); the snapshot stays self-consistent.
  out->AddTotals(bucket_total, m.int_sum, m.double_sum, m.min, m.max, m.zero_count, m.invalid);
}

void HistogramCollector::CollectLocked(const Histogram& h, snapshot::HistogramValue* out) {
  data_.Clear();
  CollectLocked(h, &data_);
  data_.ToSnapshot(out);
  const HistogramOptions& opts = h.spec_->options;
  out->unit_scale = opts.unit_scale;
  if (opts.exposition == HistogramExposition::kSummary) {
    out->bounds.clear();
    out->bucket_counts.clear();
    FillQuantiles(opts.quantiles, out);
  } else {
    out->quantiles.clear();
    FillClassicBuckets(opts.bounds, out);
  }
}

}  // namespace strobe::metrics
