#include "strobed/stream/aggregation.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "strobed/base/yaml_util.h"
#include "strobed/stream/predicate.h"

namespace strobed::stream {
namespace {

bool IsBuiltinName(std::string_view n) {
  return n == "count" || n == "sum" || n == "min" || n == "max" || n == "mean" || n == "rate" ||
         n == "increase" || n == "error_rate" || n.starts_with("distinct(") ||
         (n.size() > 1 && n[0] == 'p' && (n[1] >= '0' && n[1] <= '9'));
}

}  // namespace

strobe::Status AggregationRegistry::Register(std::string name,
                                             std::shared_ptr<const UserAggregation> aggregation) {
  if (IsBuiltinName(name)) {
    return strobe::AlreadyExists("aggregation '" + name + "' is built in");
  }
  if (user_.count(name) != 0) {
    return strobe::AlreadyExists("aggregation '" + name + "' is already registered");
  }
  user_.emplace(std::move(name), std::move(aggregation));
  return strobe::OkStatus();
}

const UserAggregation* AggregationRegistry::Find(std::string_view name) const {
  auto it = user_.find(name);
  return it == user_.end() ? nullptr : it->second.get();
}

strobe::Result<AggSpec> ParseAggSpec(std::string_view text, const AggregationRegistry* registry,
                                     std::vector<const UserAggregation*>& user_list) {
  AggSpec spec;
  spec.name = std::string(text);
  if (text == "count") {
    spec.kind = AggKind::kCount;
  } else if (text == "sum") {
    spec.kind = AggKind::kSum;
  } else if (text == "min") {
    spec.kind = AggKind::kMin;
  } else if (text == "max") {
    spec.kind = AggKind::kMax;
  } else if (text == "mean" || text == "avg") {
    spec.kind = AggKind::kMean;
  } else if (text == "rate") {
    spec.kind = AggKind::kRate;
  } else if (text == "increase") {
    spec.kind = AggKind::kIncrease;
  } else if (text == "error_rate") {
    spec.kind = AggKind::kErrorRate;
  } else if (text.starts_with("distinct(") && text.ends_with(")") && text.size() > 10) {
    spec.kind = AggKind::kDistinct;
  } else if (text.size() > 1 && text[0] == 'p' && text[1] >= '0' && text[1] <= '9') {
    double pct = 0;
    auto r = std::from_chars(text.data() + 1, text.data() + text.size(), pct);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size() || pct <= 0 || pct >= 100) {
      return strobe::InvalidArgument("bad percentile '" + std::string(text) +
                                     "' (use p50, p90, p95, p99, p99.9: 0 < N < 100)");
    }
    spec.kind = AggKind::kQuantile;
    spec.quantile = pct / 100;
  } else if (const UserAggregation* u = registry != nullptr ? registry->Find(text) : nullptr) {
    spec.kind = AggKind::kUser;
    spec.user = user_list.size();
    user_list.push_back(u);
  } else {
    return strobe::InvalidArgument("unknown aggregation '" + std::string(text) +
                                   "' (known: count, sum, min, max, mean, rate, increase, "
                                   "error_rate, pNN, distinct(attr), or a "
                                   "registered user aggregation)");
  }
  return spec;
}

strobe::Result<AggregationPlan> AggregationPlan::Parse(const YAML::Node& node,
                                                       std::string_view file,
                                                       const AggregationRegistry* registry,
                                                       event::KeyTable& keys) {
  AggregationPlan plan;
  if (!node.IsDefined() || node.IsNull()) {
    plan.outputs.push_back({AggKind::kCount, "count", 0, 0});
    return plan;
  }
  if (!node.IsSequence()) {
    return strobe::InvalidArgument(base::YamlWhere(file, node) + ": aggregations: expected a list");
  }
  for (const auto& a : node) {
    if (!a.IsScalar()) {
      return strobe::InvalidArgument(base::YamlWhere(file, a) + ": aggregations: expected a name");
    }
    auto spec = ParseAggSpec(a.Scalar(), registry, plan.user);
    if (!spec.ok()) {
      return strobe::InvalidArgument(base::YamlWhere(file, a) + ": " + spec.status().message());
    }
    if (spec->kind == AggKind::kQuantile) plan.needs_quantiles = true;
    if (spec->kind == AggKind::kDistinct) {
      std::string_view attr = std::string_view(spec->name).substr(9);
      attr.remove_suffix(1);
      auto id = keys.Intern(attr);
      if (!id) {
        return strobe::InvalidArgument(base::YamlWhere(file, a) + ": attribute key table is full");
      }
      if (plan.needs_distinct && plan.distinct_key != *id) {
        return strobe::InvalidArgument(base::YamlWhere(file, a) +
                                       ": only one distinct(attr) per window is supported");
      }
      plan.needs_distinct = true;
      plan.distinct_key = *id;
    }
    plan.outputs.push_back(std::move(*spec));
  }
  return plan;
}

uint64_t HashBytes(std::string_view bytes, uint64_t seed) noexcept {
  // 8 bytes per step (multiply-xorshift), then the murmur3 finalizer for avalanche.
  uint64_t h = seed ^ (bytes.size() * 0x9e3779b97f4a7c15ULL);
  const char* p = bytes.data();
  std::size_t n = bytes.size();
  while (n >= 8) {
    uint64_t chunk;
    std::memcpy(&chunk, p, 8);
    h = (h ^ chunk) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t chunk = 0;
    std::memcpy(&chunk, p, n);
    h = (h ^ chunk) * 0x94d049bb133111ebULL;
    h ^= h >> 29;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

void DistinctCounter::AddHash(uint64_t hash) noexcept {
  const std::size_t index = hash >> (64 - kPrecision);
  const uint64_t rest = (hash << kPrecision) | (uint64_t{1} << (kPrecision - 1));
  const auto rank = static_cast<uint8_t>(std::countl_zero(rest) + 1);
  if (rank > registers_[index]) registers_[index] = rank;
}

void DistinctCounter::Merge(const DistinctCounter& other) noexcept {
  for (std::size_t i = 0; i < kRegisters; ++i) {
    if (other.registers_[i] > registers_[i]) registers_[i] = other.registers_[i];
  }
}

double DistinctCounter::Estimate() const noexcept {
  const double m = static_cast<double>(kRegisters);
  double sum = 0;
  std::size_t zeros = 0;
  for (uint8_t r : registers_) {
    sum += std::ldexp(1.0, -static_cast<int>(r));
    if (r == 0) ++zeros;
  }
  const double alpha = 0.7213 / (1 + 1.079 / m);
  double e = alpha * m * m / sum;
  if (e <= 2.5 * m && zeros != 0) {
    e = m * std::log(m / static_cast<double>(zeros));  // linear counting for small sets
  }
  return std::round(e);
}

AggState::AggState(const AggregationPlan& plan)
    : plan_(&plan),
      min_(std::numeric_limits<double>::infinity()),
      max_(-std::numeric_limits<double>::infinity()) {
  if (plan.needs_distinct) distinct_ = std::make_unique<DistinctCounter>();
  user_.reserve(plan.user.size());
  for (const UserAggregation* u : plan.user) user_.push_back(u->NewState());
}

void AggState::AddDistinct(const Item& item) noexcept {
  char buf[32];
  const event::Value* v = item.Find(plan_->distinct_key);
  if (v == nullptr) return;
  distinct_->AddHash(HashBytes(ValueText(v, buf)));
}

void AggState::AddDistribution(const Item& item) noexcept {
  // A histogram or summary point: its observations as a whole (MetricDeltas, item.h).
  const Distribution& d = *item.distribution;
  sum_ += d.sum;
  increase_ += static_cast<double>(item.weight);
  if (d.min < min_) min_ = d.min;
  if (d.max > max_) max_ = d.max;
  // Merge only allocates when the pane's bucket range grows (as Record does).
  if (plan_->needs_quantiles && d.buckets != nullptr) quantiles_.Merge(*d.buckets);
}

void AggState::Merge(const AggState& other) {
  count_ += other.count_;
  errors_ += other.errors_;
  sum_ += other.sum_;
  increase_ += other.increase_;
  if (other.min_ < min_) min_ = other.min_;
  if (other.max_ > max_) max_ = other.max_;
  if (plan_->needs_quantiles) quantiles_.Merge(other.quantiles_);
  if (distinct_ && other.distinct_) distinct_->Merge(*other.distinct_);
  for (std::size_t i = 0; i < user_.size() && i < other.user_.size(); ++i) {
    user_[i]->Merge(*other.user_[i]);
  }
}

void AggState::Reset() noexcept {
  count_ = 0;
  errors_ = 0;
  sum_ = 0;
  increase_ = 0;
  min_ = std::numeric_limits<double>::infinity();
  max_ = -std::numeric_limits<double>::infinity();
  quantiles_.Clear();
  if (distinct_) distinct_->Clear();
  for (auto& u : user_) u->Reset();
}

double AggState::Value(const AggSpec& spec, double window_seconds) const noexcept {
  const double n = static_cast<double>(count_);
  switch (spec.kind) {
    case AggKind::kCount:
      return n;
    case AggKind::kSum:
      return sum_;
    case AggKind::kMin:
      return count_ == 0 ? 0 : min_;
    case AggKind::kMax:
      return count_ == 0 ? 0 : max_;
    case AggKind::kMean:
      return count_ == 0 ? 0 : sum_ / n;
    case AggKind::kRate:
      return window_seconds > 0 ? increase_ / window_seconds : 0;
    case AggKind::kIncrease:
      return increase_;
    case AggKind::kErrorRate:
      return count_ == 0 ? 0 : static_cast<double>(errors_) / n;
    case AggKind::kQuantile: {
      if (count_ == 0) return 0;
      // The bucket midpoint can lie just outside the observed range; clamp to it.
      double q = quantiles_.Quantile(spec.quantile);
      if (q < min_) q = min_;
      if (q > max_) q = max_;
      return q;
    }
    case AggKind::kDistinct:
      return distinct_ ? distinct_->Estimate() : 0;
    case AggKind::kUser:
      return spec.user < user_.size() ? user_[spec.user]->Result() : 0;
  }
  return 0;
}

std::size_t AggState::bytes() const noexcept {
  return sizeof(*this) + quantiles_.OwnedBytes() + (distinct_ ? sizeof(DistinctCounter) : 0) +
         user_.capacity() * sizeof(void*);
}

}  // namespace strobed::stream
