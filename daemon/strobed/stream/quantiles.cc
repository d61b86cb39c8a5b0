#include "strobed/stream/quantiles.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace strobed::stream {
namespace {
constexpr int kSubBits = 6;
constexpr int kSub = 1 << kSubBits;
}  // namespace

int32_t Quantiles::IndexOf(double value) noexcept {
  const uint64_t bits = std::bit_cast<uint64_t>(value);
  const auto exponent = static_cast<int32_t>((bits >> 52) & 0x7ff) - 1023;
  const auto sub = static_cast<int32_t>((bits >> (52 - kSubBits)) & (kSub - 1));
  return exponent * kSub + sub;
}

double Quantiles::MidpointOf(int32_t index) noexcept {
  const int32_t exponent = index >= 0 ? index / kSub : -((-index + kSub - 1) / kSub);
  const int32_t sub = index - exponent * kSub;
  return std::ldexp(1.0 + (static_cast<double>(sub) + 0.5) / kSub, exponent);
}

void Quantiles::Grow(int32_t index) {
  if (counts_.empty()) {
    base_ = index - 8;
    counts_.assign(32, 0);
    return;
  }
  const auto size = static_cast<int32_t>(counts_.size());
  if (index < base_) {
    const int32_t add = std::max(base_ - index + 8, size / 2);
    counts_.insert(counts_.begin(), static_cast<std::size_t>(add), 0);
    base_ -= add;
  } else {
    const int32_t need = index - base_ + 1;
    counts_.resize(static_cast<std::size_t>(std::max(need + 8, size + size / 2)), 0);
  }
}

void Quantiles::Record(double value, uint64_t n) noexcept {
  if (n == 0) return;
  count_ += n;
  if (!(value > 0) || !std::isfinite(value)) {
    zero_ += n;
    return;
  }
  const int32_t index = IndexOf(value);
  if (counts_.empty() || index < base_ || index >= base_ + static_cast<int32_t>(counts_.size())) {
    Grow(index);
  }
  // Saturate rather than wrap: 4e9 observations of one bucket in one window pane.
  uint32_t& c = counts_[static_cast<std::size_t>(index - base_)];
  const uint64_t sum = uint64_t{c} + n;
  c = sum > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(sum);
  if (hi_ < lo_) {
    lo_ = hi_ = index;
  } else {
    lo_ = std::min(lo_, index);
    hi_ = std::max(hi_, index);
  }
}

void Quantiles::Merge(const Quantiles& other) {
  zero_ += other.zero_;
  count_ += other.count_;
  if (other.hi_ < other.lo_) return;
  for (int32_t i = other.lo_; i <= other.hi_; ++i) {
    const uint32_t c = other.counts_[static_cast<std::size_t>(i - other.base_)];
    if (c == 0) continue;
    if (counts_.empty() || i < base_ || i >= base_ + static_cast<int32_t>(counts_.size())) {
      Grow(i);
    }
    counts_[static_cast<std::size_t>(i - base_)] += c;
    if (hi_ < lo_) {
      lo_ = hi_ = i;
    } else {
      lo_ = std::min(lo_, i);
      hi_ = std::max(hi_, i);
    }
  }
}

double Quantiles::Quantile(double q) const noexcept {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // Rank of the wanted observation, 1-based (nearest-rank definition).
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  if (rank <= zero_) return 0;
  uint64_t seen = zero_;
  for (int32_t i = lo_; i <= hi_; ++i) {
    seen += counts_[static_cast<std::size_t>(i - base_)];
    if (seen >= rank) return MidpointOf(i);
  }
  return MidpointOf(hi_);
}

void Quantiles::Clear() noexcept {
  if (hi_ >= lo_) {
    std::fill(counts_.begin() + (lo_ - base_), counts_.begin() + (hi_ - base_ + 1), 0);
  }
  lo_ = 0;
  hi_ = -1;
  zero_ = 0;
  count_ = 0;
}

}  // namespace strobed::stream
