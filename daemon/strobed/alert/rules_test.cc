#include "strobed/alert/rules.h"

#include <gtest/gtest.h>

#include "strobed/alert/expr.h"

namespace strobed::alert {
namespace {

TEST(AlertExprTest, ParsesPrometheusLikeForms) {
  auto e = AlertExpr::Parse("p99(http.server.duration) > 250ms", nullptr);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->aggregate, "p99");
  EXPECT_EQ(e->source, "http.server.duration");
  EXPECT_EQ(e->op, stream::CompareOp::kGt);
  EXPECT_DOUBLE_EQ(e->threshold, 0.25);

  e = AlertExpr::Parse("error_rate > 0.05", nullptr);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->aggregate, "error_rate");
  EXPECT_TRUE(e->source.empty());

  e = AlertExpr::Parse("anomaly_score >= 4", nullptr);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->op, stream::CompareOp::kGe);

  e = AlertExpr::Parse(R"(p99.9(api{service.name="checkout", region!="eu"}) > 1s)", nullptr);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->aggregate, "p99.9");
  ASSERT_EQ(e->matchers.size(), 2u);
  EXPECT_EQ(e->matchers[1].name, "region");
  EXPECT_TRUE(e->matchers[1].negate);

  e = AlertExpr::Parse("error_rate{service_name=\"a\"} > 5%", nullptr);
  ASSERT_TRUE(e.ok());
  EXPECT_DOUBLE_EQ(e->threshold, 0.05);

  e = AlertExpr::Parse("distinct(user.id)(logins) < 3", nullptr);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->aggregate, "distinct(user.id)");
  EXPECT_EQ(e->source, "logins");
}

TEST(AlertExprTest, SelectsSeriesByAggregateSourceAndLabels) {
  auto e = AlertExpr::Parse(R"(p99(http.server.duration{service.name="a"}) > 0.25)", nullptr);
  ASSERT_TRUE(e.ok());
  stream::Series s;
  s.name = "p99";
  s.source = "http.server.duration";
  s.window = "http_1s";
  s.labels = {{"service.name", "a"}};
  EXPECT_TRUE(e->Selects(s));
  s.labels = {{"service.name", "b"}};
  EXPECT_FALSE(e->Selects(s));
  s.labels = {{"service.name", "a"}};
  s.name = "p50";
  EXPECT_FALSE(e->Selects(s));
  s.name = "p99";
  s.source = "other";
  EXPECT_FALSE(e->Selects(s));
  s.window = "http.server.duration";  // the window name also works as a source
  EXPECT_TRUE(e->Selects(s));
  EXPECT_TRUE(e->Holds(0.3));
  EXPECT_FALSE(e->Holds(0.25));
}

TEST(AlertExprTest, RejectsBadExpressionsWithReason) {
  struct Case {
    const char* text;
    const char* reason;
  };
  const Case cases[] = {
      {"p99(http.server.duration) > 250 parsecs", "unknown unit"},
      {"median(x) > 3", "unknown aggregation 'median'"},
      {"cep_match(x) > 0", "alert rules also take anomaly_score and cep_matches"},
      {"p99(x) 3", "expected a comparison"},
      {"p99(x > 3", "expected ')'"},
      {"p99(x) >", "expected a number"},
      {"error_rate{a=b} > 1", "expected a quoted value"},
      {"", "expected an aggregate name"},
  };
  for (const Case& c : cases) {
    auto e = AlertExpr::Parse(c.text, nullptr);
    ASSERT_FALSE(e.ok()) << c.text;
    EXPECT_NE(e.status().message().find(c.reason), std::string::npos) << e.status().message();
    EXPECT_NE(e.status().message().find("col "), std::string::npos);
  }
}

TEST(AlertConfigTest, BadRulesRejectedWithFileLineRestLoaded) {
  const char* yaml = R"yaml(rules:
  - alert: Good
    expr: p99(http.server.duration) > 250ms
    for: 30s
    severity: critical
    labels: {team: shop}
    annotations:
      summary: "p99 of {{ $labels.service.name }} is {{ $value }}s (> {{ $threshold }})"
  - alert: BadAggregation
    expr: p42.5.1(x) > 1
  - alert: BadDuration
    expr: error_rate > 0.05
    for: 5 fortnights
  - alert: BadTemplate
    expr: error_rate > 0.05
    annotations: {summary: "{{ $nope }}"}
  - alert: BadSeverity
    expr: error_rate > 0.05
    severity: apocalyptic
  - expr: error_rate > 0.1
  - alert: AlsoGood
    expr: anomaly_score > 4
notifiers:
  - type: alertmanager
    url: http://127.0.0.1:9093
  - type: webhook
    url: https://example.com/hook
  - type: pager
)yaml";
  AlertConfig c = AlertConfig::Parse(YAML::Load(yaml), "alerts.yaml");
  ASSERT_EQ(c.rules.size(), 2u);
  EXPECT_EQ(c.rules[0].name, "Good");
  EXPECT_EQ(c.rules[0].for_ns, 30'000'000'000u);
  EXPECT_EQ(c.rules[1].name, "AlsoGood");
  ASSERT_EQ(c.notifiers.size(), 1u);
  std::vector<std::string> msgs;
  for (const auto& e : c.errors) msgs.push_back(e.message());
  ASSERT_EQ(msgs.size(), 7u);
  std::string all;
  for (const auto& m : msgs) all += m + "\n";
  EXPECT_NE(all.find("alerts.yaml:10: rule 'BadAggregation': expr col"), std::string::npos) << all;
  EXPECT_NE(all.find("alerts.yaml:13: rule 'BadDuration': for"), std::string::npos) << all;
  EXPECT_NE(all.find("alerts.yaml:16: rule 'BadTemplate': annotation 'summary': unknown template "
                     "variable '$nope'"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("alerts.yaml:19: rule 'BadSeverity'"), std::string::npos) << all;
  EXPECT_NE(all.find("alerts.yaml:20: rule: missing 'alert'"), std::string::npos) << all;
  EXPECT_NE(all.find("https is not supported"), std::string::npos) << all;
  EXPECT_NE(all.find("type must be log, webhook or alertmanager"), std::string::npos) << all;
}

TEST(TemplateTest, ExpandsValueLabelsAndRuleFields) {
  auto e = AlertExpr::Parse("p99(x) > 0.25", nullptr);
  AlertRule rule;
  rule.name = "Slow";
  rule.expr = *e;
  rule.severity = "critical";
  rule.labels = {{"team", "shop"}};
  std::vector<std::pair<std::string, std::string>> labels = {{"service.name", "checkout"}};
  TemplateContext ctx{&rule, 0.3127, &labels};
  EXPECT_EQ(ExpandTemplate("{{ $alert }}/{{$severity}}: p99 of {{ $labels.service.name }} "
                           "({{ $labels.service_name }}, team {{ $labels.team }}) is "
                           "{{ $value }}s > {{ $threshold }} [{{ $expr }}]",
                           ctx),
            "Slow/critical: p99 of checkout (checkout, team shop) is 0.3127s > 0.25 "
            "[p99(x) > 0.25]");
  EXPECT_FALSE(CheckTemplate("{{ $value ").ok());
  EXPECT_TRUE(CheckTemplate("no variables").ok());
}

}  // namespace
}  // namespace strobed::alert
