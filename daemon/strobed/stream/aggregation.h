#pragma once

// Aggregations computed per window and key.
//
//   count, sum, min, max, mean      over item values (weights respected); a histogram point
//                                   adds its observations (exact count and sum, min/max
//                                   from its distribution)
//   increase                        events in the window: a counter point adds its increase,
//                                   any other item its weight (1, or a histogram point's count)
//   rate                            increase / window length in seconds (events per second;
//                                   for counters the increase per second)
//   error_rate                      errors / count (0 when count is 0)
//   p50 p90 p95 p99 p99.9 (pNN)     from a per-pane strobe::metrics::HistogramData (libstrobe's
//                                   mergeable histogram, error <= 0.55%; values < 0 skipped);
//                                   histogram points merge their bucket counts into it
//   distinct(attr)                  approximate distinct values of `attr` (HyperLogLog,
//                                   2^11 one-byte registers = 2 KiB per pane, ~2.3% error)
//   <name>                          a user-defined aggregation registered in an
//                                   AggregationRegistry (the small C++ interface below)
//
// An AggregationPlan is the parsed list for one window; AggState is one pane's running
// state. AggState::Add is the hot path: allocation-free once the pane is warm (the pane is
// recycled with its buffers), no locks, no virtual calls unless user aggregations are
// configured.
//
// Thread class: plans are immutable after parsing; AggState is thread-compatible.

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"
#include "strobe/metrics/histogram_data.h"
#include "strobed/event/attribute.h"
#include "strobed/stream/item.h"

namespace strobed::stream {

// One pane's state of a user-defined aggregation.
class UserAggregationState {
 public:
  virtual ~UserAggregationState() = default;
  // Hot path: called for each matching item of the pane. Must not throw, lock or allocate.
  virtual void Add(const Item& item) noexcept = 0;
  // Folds `other` (a state made by the same UserAggregation) into this one (sliding windows).
  virtual void Merge(const UserAggregationState& other) noexcept = 0;
  // The aggregate's value for the window.
  virtual double Result() const noexcept = 0;
  // Back to the empty state (the pane is recycled).
  virtual void Reset() noexcept = 0;
};

// A user-defined aggregation: a factory of per-pane states. Register it under a name in an
// AggregationRegistry; windows then list that name among their aggregations.
class UserAggregation {
 public:
  virtual ~UserAggregation() = default;
  virtual std::unique_ptr<UserAggregationState> NewState() const = 0;
};

// Named user aggregations. Thread class: fill before parsing configuration, then read-only.
class AggregationRegistry {
 public:
  // ALREADY_EXISTS if `name` is taken or is a built-in aggregation name.
  strobe::Status Register(std::string name, std::shared_ptr<const UserAggregation> aggregation);
  const UserAggregation* Find(std::string_view name) const;

 private:
  std::map<std::string, std::shared_ptr<const UserAggregation>, std::less<>> user_;
};

enum class AggKind : uint8_t {
  kCount,
  kSum,
  kMin,
  kMax,
  kMean,
  kRate,
  kIncrease,
  kErrorRate,
  kQuantile,
  kDistinct,
  kUser,
};

struct AggSpec {
  AggKind kind = AggKind::kCount;
  std::string name;      // as written: "p99", "p99.9", "distinct(user.id)", "my_uda"
  double quantile = 0;   // kQuantile
  std::size_t user = 0;  // kUser: index into AggregationPlan::user
};

// Parses one aggregation name; INVALID_ARGUMENT "unknown aggregation 'x'" otherwise.
strobe::Result<AggSpec> ParseAggSpec(std::string_view text, const AggregationRegistry* registry,
                                     std::vector<const UserAggregation*>& user_list);

// HyperLogLog with 2^11 registers (bounded memory, ~2.3% standard error).
class DistinctCounter {
 public:
  static constexpr int kPrecision = 11;
  static constexpr std::size_t kRegisters = std::size_t{1} << kPrecision;
  void AddHash(uint64_t hash) noexcept;
  void Merge(const DistinctCounter& other) noexcept;
  double Estimate() const noexcept;
  void Clear() noexcept { registers_.fill(0); }

 private:
  std::array<uint8_t, kRegisters> registers_{};
};

// 64-bit hash of bytes (8-byte multiply-xorshift steps, murmur3 finalizer); no allocation.
uint64_t HashBytes(std::string_view bytes, uint64_t seed = 0) noexcept;

struct AggregationPlan {
  std::vector<AggSpec> outputs;
  std::vector<const UserAggregation*> user;
  bool needs_quantiles = false;
  bool needs_distinct = false;
  event::KeyId distinct_key;

  // Parses a YAML list of aggregation names (errors carry file:line).
  static strobe::Result<AggregationPlan> Parse(const YAML::Node& node, std::string_view file,
                                               const AggregationRegistry* registry,
                                               event::KeyTable& keys);
};

class AggState {
 public:
  explicit AggState(const AggregationPlan& plan);

  void Add(const Item& item) noexcept {
    count_ += item.weight;
    if (item.IsError()) errors_ += item.weight;
    if (item.distribution != nullptr) {
      AddDistribution(item);
    } else {
      const double w = static_cast<double>(item.weight);
      sum_ += item.value * w;
      increase_ += item.counter ? item.value : w;
      if (item.value < min_) min_ = item.value;
      if (item.value > max_) max_ = item.value;
      if (plan_->needs_quantiles) quantiles_.Record(item.value, item.weight);
    }
    if (plan_->needs_distinct) AddDistinct(item);
    for (auto& u : user_) u->Add(item);
  }
  void Merge(const AggState& other);
  void Reset() noexcept;

  // The value of `spec` for a window `window_seconds` long.
  double Value(const AggSpec& spec, double window_seconds) const noexcept;

  uint64_t count() const noexcept { return count_; }
  uint64_t errors() const noexcept { return errors_; }
  std::size_t bytes() const noexcept;

 private:
  void AddDistinct(const Item& item) noexcept;
  void AddDistribution(const Item& item) noexcept;

  const AggregationPlan* plan_;
  uint64_t count_ = 0;
  uint64_t errors_ = 0;
  double sum_ = 0;
  double increase_ = 0;  // what `rate` and `increase` report (see the header comment)
  double min_;
  double max_;
  strobe::metrics::HistogramData quantiles_;
  std::unique_ptr<DistinctCounter> distinct_;
  std::vector<std::unique_ptr<UserAggregationState>> user_;
};

}  // namespace strobed::stream
