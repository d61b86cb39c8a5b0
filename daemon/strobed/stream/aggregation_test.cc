#include "strobed/stream/aggregation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace strobed::stream {
namespace {

TEST(AggStateTest, PercentilesFromLibraryHistogramWithinBound) {
  event::KeyTable keys(64);
  auto plan = AggregationPlan::Parse(YAML::Load("[p50, p90, p95, p99, p99.9]"), "f", nullptr, keys);
  ASSERT_TRUE(plan.ok());
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(-3.0, 1.0);  // ~50 ms median, seconds
  std::vector<double> values(100000);
  AggState a(*plan), b(*plan);
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = dist(rng);
    Item it;
    it.value = values[i];
    (i % 2 == 0 ? a : b).Add(it);
  }
  a.Merge(b);  // sliding windows merge panes: must stay exact
  std::sort(values.begin(), values.end());
  for (const AggSpec& spec : plan->outputs) {
    const auto rank =
        static_cast<std::size_t>(std::ceil(spec.quantile * static_cast<double>(values.size())));
    const double exact = values[rank - 1];
    EXPECT_NEAR(a.Value(spec, 1), exact, exact * 0.0056) << spec.name;
  }
}

TEST(DistinctCounterTest, EstimateWithinFivePercent) {
  for (int n : {10, 1000, 50000}) {
    DistinctCounter d;
    for (int i = 0; i < n; ++i) {
      const std::string s = "user-" + std::to_string(i);
      d.AddHash(HashBytes(s));
      d.AddHash(HashBytes(s));  // duplicates do not count
    }
    EXPECT_NEAR(d.Estimate(), n, std::max(1.0, n * 0.05)) << n;
  }
}

class Median : public UserAggregation {
 public:
  class State : public UserAggregationState {
   public:
    void Add(const Item& item) noexcept override { max_ = std::max(max_, item.value * 2); }
    void Merge(const UserAggregationState& o) noexcept override {
      max_ = std::max(max_, static_cast<const State&>(o).max_);
    }
    double Result() const noexcept override { return max_; }
    void Reset() noexcept override { max_ = 0; }

   private:
    double max_ = 0;
  };
  std::unique_ptr<UserAggregationState> NewState() const override {
    return std::make_unique<State>();
  }
};

TEST(AggregationPlanTest, ParsesBuiltinsAndUserAggregations) {
  AggregationRegistry registry;
  ASSERT_TRUE(registry.Register("double_max", std::make_shared<Median>()).ok());
  EXPECT_FALSE(registry.Register("double_max", std::make_shared<Median>()).ok());
  EXPECT_FALSE(registry.Register("p99", std::make_shared<Median>()).ok());
  event::KeyTable keys(64);
  YAML::Node n = YAML::Load(
      "[count, sum, min, max, mean, rate, error_rate, p50, p99, p99.9, distinct(user.id), "
      "double_max]");
  auto plan = AggregationPlan::Parse(n, "f.yaml", &registry, keys);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->needs_quantiles);
  EXPECT_TRUE(plan->needs_distinct);
  ASSERT_EQ(plan->outputs.size(), 12u);
  EXPECT_DOUBLE_EQ(plan->outputs[9].quantile, 0.999);

  AggState st(*plan);
  const event::KeyId user = *keys.Find("user.id");
  std::vector<std::vector<event::Attribute>> attrs;
  std::vector<std::string> names = {"u1", "u2", "u1", "u3"};
  const double values[] = {0.1, 0.2, 0.3, 0.4};
  for (std::size_t i = 0; i < 4; ++i) {
    attrs.push_back({{user, event::Value::String(names[i])}});
    Item it;
    it.value = values[i];
    it.status = i == 3 ? ItemStatus::kError : ItemStatus::kOk;
    it.attributes = attrs.back();
    st.Add(it);
  }
  const double secs = 2;
  EXPECT_EQ(st.Value(plan->outputs[0], secs), 4);
  EXPECT_NEAR(st.Value(plan->outputs[1], secs), 1.0, 1e-12);
  EXPECT_EQ(st.Value(plan->outputs[2], secs), 0.1);
  EXPECT_EQ(st.Value(plan->outputs[3], secs), 0.4);
  EXPECT_NEAR(st.Value(plan->outputs[4], secs), 0.25, 1e-12);
  EXPECT_EQ(st.Value(plan->outputs[5], secs), 2);     // 4 events / 2 s
  EXPECT_EQ(st.Value(plan->outputs[6], secs), 0.25);  // 1 error of 4
  EXPECT_NEAR(st.Value(plan->outputs[8], secs), 0.4, 0.4 * 0.008);
  EXPECT_EQ(st.Value(plan->outputs[10], secs), 3);    // u1, u2, u3
  EXPECT_EQ(st.Value(plan->outputs[11], secs), 0.8);  // user aggregation

  AggState other(*plan);
  other.Merge(st);
  EXPECT_EQ(other.Value(plan->outputs[0], secs), 4);
  EXPECT_EQ(other.Value(plan->outputs[11], secs), 0.8);
  st.Reset();
  EXPECT_EQ(st.Value(plan->outputs[0], secs), 0);
  EXPECT_EQ(st.Value(plan->outputs[11], secs), 0);
}

TEST(AggregationPlanTest, UnknownAggregationRejectedWithLine) {
  event::KeyTable keys(64);
  YAML::Node n = YAML::Load("- count\n- p99\n- median_of_medians\n");
  auto plan = AggregationPlan::Parse(n, "rules.yaml", nullptr, keys);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("rules.yaml:3"), std::string::npos)
      << plan.status().message();
  EXPECT_NE(plan.status().message().find("unknown aggregation 'median_of_medians'"),
            std::string::npos);
  EXPECT_FALSE(AggregationPlan::Parse(YAML::Load("[p100]"), "f", nullptr, keys).ok());
  EXPECT_FALSE(AggregationPlan::Parse(YAML::Load("[p0]"), "f", nullptr, keys).ok());
}

}  // namespace
}  // namespace strobed::stream
