#include "strobed/stream/anomaly.h"

#include <algorithm>
#include <cmath>

namespace strobed::stream {
namespace {
constexpr double kMaxScore = 1e6;

double Ratio(double dev, double spread) {
  if (spread <= 0 || !std::isfinite(spread)) return dev > 0 ? kMaxScore : 0;
  return std::min(dev / spread, kMaxScore);
}

double Median(std::vector<double>& v) {
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) {
    m = (m + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid))) / 2;
  }
  return m;
}
}  // namespace

std::unique_ptr<Detector> Detector::Create(const DetectorOptions& options) {
  if (options.type == DetectorType::kMad) return std::make_unique<MadDetector>(options);
  return std::make_unique<EwmaDetector>(options);
}

std::optional<double> EwmaDetector::Score(double x) {
  if (!std::isfinite(x)) return std::nullopt;
  if (n_ < options_.warmup) {
    ++n_;
    const double d = x - mean_;
    mean_ += d / static_cast<double>(n_);
    var_ += d * (x - mean_);
    if (n_ == options_.warmup) var_ = n_ > 1 ? var_ / static_cast<double>(n_ - 1) : 0;
    return std::nullopt;
  }
  const double sd = std::sqrt(var_);
  const double score = Ratio(std::fabs(x - mean_), sd);
  double update = x;
  if (score >= options_.sensitivity && sd > 0) {
    update = x > mean_ ? mean_ + options_.sensitivity * sd : mean_ - options_.sensitivity * sd;
  }
  const double diff = update - mean_;
  const double incr = options_.alpha * diff;
  mean_ += incr;
  var_ = (1 - options_.alpha) * (var_ + diff * incr);
  return score;
}

MadDetector::MadDetector(const DetectorOptions& options)
    : options_(options), ring_(std::max<std::size_t>(options.window, 3), 0) {
  scratch_.reserve(ring_.size());
}

std::optional<double> MadDetector::Score(double x) {
  if (!std::isfinite(x)) return std::nullopt;
  std::optional<double> score;
  const std::size_t have = std::min(n_, ring_.size());
  if (n_ >= options_.warmup && have >= 3) {
    scratch_.assign(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(have));
    const double med = Median(scratch_);
    for (double& v : scratch_) v = std::fabs(v - med);
    const double mad = Median(scratch_);
    score = Ratio(std::fabs(x - med), 1.4826 * mad);
  }
  ring_[next_] = x;
  next_ = (next_ + 1) % ring_.size();
  ++n_;
  return score;
}

}  // namespace strobed::stream
