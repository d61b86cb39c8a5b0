// Fuzzes what crosses a process boundary into strobe::metrics: the HTTP Accept header
// (NegotiateFormat) and histogram snapshots from other processes (HistogramData::FromSnapshot,
// Merge, Quantile, Downscale, classic buckets, rendering). Input layout: first byte selects
// the target; the rest is the Accept header, or a HistogramValue built from the bytes.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/check.h"
#include "strobe/metrics/exposition.h"
#include "strobe/metrics/histogram_data.h"

namespace {

template <typename T>
T Take(const uint8_t*& p, const uint8_t* end) {
  T v{};
  if (static_cast<size_t>(end - p) >= sizeof(T)) {
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
  }
  return v;
}

void FuzzHistogram(const uint8_t* p, const uint8_t* end) {
  strobe::snapshot::HistogramValue v;
  v.scale = Take<uint8_t>(p, end) % 2 == 0 ? 6 : Take<int8_t>(p, end);
  v.positive_offset = Take<int32_t>(p, end);
  v.zero_count = Take<uint16_t>(p, end);
  v.sum = Take<double>(p, end);
  v.min = Take<double>(p, end);
  v.max = Take<double>(p, end);
  v.count = v.zero_count;
  while (end - p >= 2 && v.positive_counts.size() < 4096) {
    const uint64_t c = Take<uint16_t>(p, end);
    v.positive_counts.push_back(c);
    v.count += c;
  }
  strobe::metrics::HistogramData h;
  if (!h.FromSnapshot(v)) return;
  STROBE_CHECK(h.count() == v.count);
  strobe::metrics::HistogramData merged;
  merged.RecordUnsigned(1000);
  merged.Merge(h);
  STROBE_CHECK(merged.count() == v.count + 1);
  for (double q : {0.0, 0.5, 0.99, 1.0}) {
    const double x = merged.Quantile(q);
    STROBE_CHECK(!std::isnan(x));
  }
  strobe::snapshot::HistogramValue out;
  merged.ToSnapshot(&out);
  const strobe::metrics::ExponentialBuckets b = strobe::metrics::Downscale(out, 0);
  uint64_t total = out.zero_count;
  for (uint64_t c : b.counts) total += c;
  STROBE_CHECK(total == out.count);
  const std::vector<double> bounds = {1, 10, 100, 1000};
  strobe::metrics::FillClassicBuckets(bounds, &out);
  strobe::metrics::FillQuantiles(std::vector<double>{0.5, 1.0}, &out);
  strobe::snapshot::Snapshot snap;
  auto& fam = snap.families.emplace_back();
  fam.name = "fuzz_seconds";
  fam.type = strobe::snapshot::MetricType::kHistogram;
  fam.points.emplace_back().histogram = out;
  std::string text;
  strobe::metrics::TextRenderer().Render(snap, strobe::metrics::Format::kOpenMetrics, &text);
  STROBE_CHECK(text.ends_with("# EOF\n"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    const std::string_view accept(reinterpret_cast<const char*>(data + 1), size - 1);
    const strobe::metrics::Negotiation n = strobe::metrics::NegotiateFormat(accept);
    STROBE_CHECK(n.content_type == strobe::metrics::ContentType(n.format));
  } else {
    FuzzHistogram(data + 1, data + size);
  }
  return 0;
}
