#include "strobe/snapshot/snapshot.h"

#include <algorithm>
#include <cmath>

namespace strobe::snapshot {

double QuantileOf(const HistogramValue& h, double q) {
  if (h.count == 0) return 0;
  if (!(q > 0)) return h.min;
  if (q >= 1) return h.max;
  const double rank_d = std::ceil(q * static_cast<double>(h.count));
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(rank_d));
  if (rank <= h.zero_count) return 0;
  uint64_t seen = h.zero_count;
  const double per_octave = std::exp2(static_cast<double>(h.scale));
  for (size_t i = 0; i < h.positive_counts.size(); ++i) {
    seen += h.positive_counts[i];
    if (seen >= rank) {
      const double index = static_cast<double>(h.positive_offset) + static_cast<double>(i);
      const double mid = std::exp2((index + 0.5) / per_octave);
      return std::clamp(mid, h.min, h.max);
    }
  }
  return h.max;
}

}  // namespace strobe::snapshot
