#include "strobed/stream/cep.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strobed::stream {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kBase = 1'700'000'000 * kSec;

class Matches : public CepSink {
 public:
  void OnMatch(const CepMatch& m) override {
    labels.emplace_back(m.labels.empty() ? "" : m.labels[0]);
    times.push_back(m.time_ns);
    values.push_back(m.value);
  }
  std::vector<std::string> labels;
  std::vector<uint64_t> times;
  std::vector<double> values;
};

class CepTest : public ::testing::Test {
 protected:
  CepRule Rule(const std::string& yaml) {
    auto r = CepRule::Parse(YAML::Load(yaml), "cep.yaml", keys_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : CepRule{};
  }
  Item Ev(const char* name, uint64_t t, const char* user, ItemStatus status = ItemStatus::kOk,
          double value = 1) {
    const event::KeyId u = *keys_.Intern("user.id");
    attrs_.push_back({{u, event::Value::String(user)}});
    Item it;
    it.name = name;
    it.time_ns = t;
    it.status = status;
    it.value = value;
    it.attributes = attrs_.back();
    return it;
  }
  event::KeyTable keys_{256};
  std::vector<std::vector<event::Attribute>> attrs_;
};

TEST_F(CepTest, ThresholdNWithinT) {
  CepRule rule = Rule(
      "{name: brute, type: threshold, match: {name: login, status: error}, count: 3, "
      "within: 10s, group_by: [user.id]}");
  Matches m;
  CepOperator op(rule, m);
  op.Add(Ev("login", kBase, "alice", ItemStatus::kError), kBase);
  op.Add(Ev("login", kBase + 1 * kSec, "alice", ItemStatus::kOk), kBase);  // not an error
  op.Add(Ev("login", kBase + 2 * kSec, "bob", ItemStatus::kError), kBase);
  op.Add(Ev("login", kBase + 3 * kSec, "alice", ItemStatus::kError), kBase);
  EXPECT_TRUE(m.labels.empty());
  op.Add(Ev("login", kBase + 9 * kSec, "alice", ItemStatus::kError), kBase);
  ASSERT_EQ(m.labels.size(), 1u);
  EXPECT_EQ(m.labels[0], "alice");
  EXPECT_EQ(m.values[0], 3);
  // Spread beyond 10 s: no match.
  op.Add(Ev("login", kBase + 30 * kSec, "bob", ItemStatus::kError), kBase);
  op.Add(Ev("login", kBase + 45 * kSec, "bob", ItemStatus::kError), kBase);
  EXPECT_EQ(m.labels.size(), 1u);
}

TEST_F(CepTest, SequenceAThenBWithinSameKey) {
  CepRule rule = Rule(
      "{name: seq, type: sequence, first: cart.add, then: checkout.fail, within: 5s, "
      "same_key: [user.id]}");
  Matches m;
  CepOperator op(rule, m);
  op.Add(Ev("cart.add", kBase, "alice"), kBase);
  op.Add(Ev("checkout.fail", kBase + kSec, "bob"), kBase);  // other key
  EXPECT_TRUE(m.labels.empty());
  op.Add(Ev("checkout.fail", kBase + 2 * kSec, "alice"), kBase);
  ASSERT_EQ(m.labels.size(), 1u);
  EXPECT_EQ(m.labels[0], "alice");
  EXPECT_DOUBLE_EQ(m.values[0], 2.0);
  // Too late: B 6 s after A.
  op.Add(Ev("cart.add", kBase + 10 * kSec, "bob"), kBase);
  op.Add(Ev("checkout.fail", kBase + 16 * kSec, "bob"), kBase);
  EXPECT_EQ(m.labels.size(), 1u);
  // B before A does not match.
  op.Add(Ev("checkout.fail", kBase + 20 * kSec, "carol"), kBase);
  op.Add(Ev("cart.add", kBase + 21 * kSec, "carol"), kBase);
  EXPECT_EQ(m.labels.size(), 1u);
}

TEST_F(CepTest, AbsenceFiresWhenBMissing) {
  CepRule rule = Rule(
      "{name: noack, type: absence, first: order.placed, missing: order.confirmed, "
      "within: 10s, group_by: [user.id]}");
  const uint64_t kNow = kBase + 20 * kSec;  // the watermark never passes the wall clock
  Matches m;
  CepOperator op(rule, m);
  op.Add(Ev("order.placed", kBase, "alice"), kNow);
  op.Add(Ev("order.placed", kBase, "bob"), kNow);
  op.Add(Ev("order.confirmed", kBase + 4 * kSec, "bob"), kNow);
  op.Advance(kNow);
  EXPECT_TRUE(m.labels.empty());
  op.Add(Ev("heartbeat", kBase + 11 * kSec, "x"), kNow);         // matches neither: ignored
  op.Add(Ev("order.placed", kBase + 11 * kSec, "carol"), kNow);  // moves event time on
  op.Advance(kNow);
  ASSERT_EQ(m.labels.size(), 1u);
  EXPECT_EQ(m.labels[0], "alice");
  EXPECT_EQ(m.times[0], kBase + 10 * kSec);
}

TEST_F(CepTest, AbsenceFiresOnIdleWatermark) {
  CepRule rule =
      Rule("{name: noack, type: absence, first: a, missing: b, within: 10s, idle_timeout: 1s}");
  Matches m;
  CepOperator op(rule, m);
  op.Add(Ev("a", kBase, "u"), kBase);
  op.Advance(kBase + 5 * kSec);
  EXPECT_TRUE(m.labels.empty());
  op.Advance(kBase + 11 * kSec);
  EXPECT_EQ(m.labels.size(), 1u);
}

TEST_F(CepTest, RateOfChangeDetectsJump) {
  CepRule rule = Rule(
      "{name: surge, type: rate_of_change, match: req, interval: 10s, change: 100%, "
      "direction: up, min_count: 5}");
  Matches m;
  CepOperator op(rule, m);
  for (uint64_t i = 0; i < 10; ++i)
    op.Add(Ev("req", kBase + i * kSec, "u"), kBase);  // 10 in [0,10)
  for (uint64_t i = 0; i < 12; ++i)
    op.Add(Ev("req", kBase + 10 * kSec + i * (kSec / 2), "u"), kBase);
  EXPECT_TRUE(m.labels.empty());  // +20%: no
  for (uint64_t i = 0; i < 30; ++i)
    op.Add(Ev("req", kBase + 20 * kSec + i * (kSec / 4), "u"), kBase);
  op.Add(Ev("req", kBase + 30 * kSec, "u"), kBase);  // closes [20,30)
  ASSERT_EQ(m.labels.size(), 1u);
  EXPECT_DOUBLE_EQ(m.values[0], 1.5);  // 12 → 30
}

TEST_F(CepTest, PredicatesOnAttributesAndNumbers) {
  CepRule rule = Rule(
      "{name: slow5xx, type: threshold, count: 1, match: {name: 'http.*', kind: span, "
      "where: ['http.response.status_code >= 500', 'value > 250ms'], "
      "attributes: {user.id: alice}}}");
  Matches m;
  CepOperator op(rule, m);
  const event::KeyId code = *keys_.Intern("http.response.status_code");
  const event::KeyId user = *keys_.Intern("user.id");
  auto ev = [&](const char* name, int64_t status, const char* who, double secs) {
    attrs_.push_back({{code, event::Value::Int(status)}, {user, event::Value::String(who)}});
    Item it;
    it.name = name;
    it.time_ns = kBase;
    it.value = secs;
    it.attributes = attrs_.back();
    op.Add(it, kBase);
  };
  ev("http.server", 503, "alice", 0.1);  // too fast
  ev("http.server", 200, "alice", 0.5);  // not 5xx
  ev("http.server", 503, "bob", 0.5);    // other user
  ev("db.query", 503, "alice", 0.5);     // other name
  EXPECT_TRUE(m.labels.empty());
  ev("http.client", 500, "alice", 0.3);
  EXPECT_EQ(m.labels.size(), 1u);
}

TEST_F(CepTest, BadRulesRejectedWithLineAndReason) {
  struct Case {
    const char* yaml;
    const char* reason;
  };
  const Case cases[] = {
      {"name: x\ntype: thresold\nmatch: a\n", "type must be"},
      {"name: x\ntype: sequence\nfirst: a\n", "missing 'then'"},
      {"name: x\ntype: threshold\nmatch: a\nwithin: 10 parsecs\n", "within"},
      {"name: x\ntype: threshold\nmatch: {where: 'value >> 3'}\n", "match.where"},
      {"name: x\ntype: threshold\nmatch: a\ncount: -2\n", "count"},
      {"name: x\ntype: threshold\nmatch: a\nwithinn: 5s\n", "unknown key 'withinn'"},
  };
  for (const Case& c : cases) {
    auto r = CepRule::Parse(YAML::Load(c.yaml), "cep.yaml", keys_);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.status().message().find("cep.yaml:"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(c.reason), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace strobed::stream
