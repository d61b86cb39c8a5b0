#include "strobed/alert/rules.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

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

TEST(TemplateTest, HumanizeUsesSiPrefixes) {
  EXPECT_EQ(Humanize(1251), "1.251k");
  EXPECT_EQ(Humanize(752), "752");
  EXPECT_EQ(Humanize(2.5e9), "2.5G");
  EXPECT_EQ(Humanize(0.0012), "1.2m");
  EXPECT_EQ(Humanize(0), "0");
  AlertRule rule;
  TemplateContext ctx{&rule, 1234567, nullptr};
  EXPECT_EQ(ExpandTemplate("{{ humanize $value }} ({{ $value }})", ctx), "1.235M (1.235e+06)");
}

// A Prometheus rule file as promtool reads it: two groups, recording and alerting rules.
constexpr const char* kRuleFile = R"yaml(groups:
  - name: api
    interval: 30s
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
        labels: {tier: api}
      - alert: HighErrorRate
        expr: |
          sum by (job) (rate(http_requests_total{code=~"5.."}[10m]))
            / sum by (job) (rate(http_requests_total[10m])) > 0.05
        for: 1h30m
        keep_firing_for: 2m
        labels: {severity: page}
        annotations:
          summary: "{{ $labels.job }}: {{ humanize $value }} errors"
  - name: host
    rules:
      - alert: NoTarget
        expr: absent(up{job="node"})
)yaml";

TEST(RuleFileTest, ParsesGroupsRecordingAndAlertingRules) {
  RuleFiles out;
  ParseRuleFileText(kRuleFile, "r.yml", out);
  ASSERT_TRUE(out.errors.empty()) << out.errors[0].message();
  ASSERT_EQ(out.groups.size(), 2u);
  const RuleGroup& api = out.groups[0];
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.file, "r.yml");
  EXPECT_EQ(api.interval_ns, 30'000'000'000u);
  ASSERT_EQ(api.rules.size(), 2u);
  EXPECT_TRUE(api.rules[0].recording);
  EXPECT_EQ(api.rules[0].name, "job:http_requests:rate5m");
  EXPECT_EQ(api.rules[0].labels.at("tier"), "api");
  ASSERT_NE(api.rules[0].promql, nullptr);
  EXPECT_FALSE(api.rules[1].recording);
  EXPECT_EQ(api.rules[1].name, "HighErrorRate");
  EXPECT_EQ(api.rules[1].for_ns, 5'400'000'000'000u);
  EXPECT_EQ(api.rules[1].keep_firing_for_ns, 120'000'000'000u);
  EXPECT_EQ(api.rules[1].file_line, "r.yml:8");
  EXPECT_EQ(out.groups[1].interval_ns, 0u);  // alerts.evaluation_interval
  EXPECT_EQ(out.RuleCount(), 3u);
  EXPECT_EQ(MaxRangeMs(out.groups), 600'000);  // the 10m ranges
}

TEST(RuleFileTest, BadRulesReportedWithFileLineAndNameRestLoaded) {
  RuleFiles out;
  ParseRuleFileText(R"yaml(groups:
  - name: g
    rules:
      - alert: BadExpr
        expr: sum(rate(x[5m])
      - alert: Good
        expr: up == 0
      - record: bad name
        expr: up
      - alert: BadFor
        expr: up
        for: 5 minutes
      - record: r
        expr: up
        annotations: {a: b}
      - alert: Both
        record: x
        expr: up
      - alert: Range
        expr: up[5m]
      - alert: BadLabel
        expr: up
        labels: {"0bad": x}
  - name: g
    rules: []
  - name: other
    interval: 0s
    rules: []
)yaml",
                    "rules.yml", out);
  ASSERT_EQ(out.groups.size(), 1u);
  ASSERT_EQ(out.groups[0].rules.size(), 1u);
  EXPECT_EQ(out.groups[0].rules[0].name, "Good");
  std::string all;
  for (const auto& e : out.errors) all += e.message() + "\n";
  EXPECT_EQ(out.errors.size(), 9u) << all;
  for (const char* want : {
           "rules.yml:5: group 'g': rule 'BadExpr': expr 1:",
           "rules.yml:8: group 'g': rule 'bad name': invalid recorded metric name",
           "rules.yml:12: group 'g': rule 'BadFor': for: '5 minutes' is not a Prometheus duration",
           "rules.yml:15: group 'g': rule 'r': unknown key 'annotations'",
           "rules.yml:16: group 'g': a rule has either 'alert' or 'record', not both",
           "rules.yml:20: group 'g': rule 'Range': expr is a range vector",
           "rules.yml:23: group 'g': rule 'BadLabel': labels: invalid label name '0bad'",
           "rules.yml:24: group 'g': defined twice in the file",
           "rules.yml:27: group 'other': interval must be > 0",
       }) {
    EXPECT_NE(all.find(want), std::string::npos) << want << "\n" << all;
  }
  EXPECT_EQ(out.file_errors, 0u);
}

TEST(RuleFileTest, UnreadableAndNonYamlFilesAreFileErrors) {
  RuleFiles out;
  ParseRuleFileText("groups: [", "broken.yml", out);
  ParseRuleFileText("- a\n- b\n", "list.yml", out);
  EXPECT_EQ(out.file_errors, 2u);
  ASSERT_EQ(out.errors.size(), 2u);
  EXPECT_NE(out.errors[0].message().find("broken.yml:1: not YAML"), std::string::npos)
      << out.errors[0].message();
  EXPECT_NE(out.errors[1].message().find("list.yml:1: a rule file is a map with 'groups'"),
            std::string::npos)
      << out.errors[1].message();
}

TEST(RuleFileTest, LoadsPathsAndGlobsRelativeToTheConfigDirectory) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("strobe-rules-" + std::to_string(::getpid()));
  fs::create_directories(dir / "rules.d");
  std::ofstream(dir / "main.yml") << kRuleFile;
  std::ofstream(dir / "rules.d" / "a.yml") << "groups:\n  - name: a\n    rules:\n"
                                              "      - alert: A\n        expr: up == 0\n";
  std::ofstream(dir / "rules.d" / "b.yml") << "groups:\n  - name: b\n    rules: []\n";

  RuleFiles out = LoadRuleFiles({"main.yml", "rules.d/*.yml", "none/*.yml"}, dir.string());
  EXPECT_TRUE(out.errors.empty()) << out.errors[0].message();
  EXPECT_EQ(out.files, 3u);
  ASSERT_EQ(out.groups.size(), 4u);
  EXPECT_EQ(out.groups[2].name, "a");
  EXPECT_EQ(out.groups[2].file, (dir / "rules.d" / "a.yml").string());

  out = LoadRuleFiles({"missing.yml"}, dir.string());
  EXPECT_EQ(out.file_errors, 1u);
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_NE(out.errors[0].message().find("missing.yml: no such file"), std::string::npos);

  // A FIFO would block a reload forever, a directory is no file: both refused, not read.
  ASSERT_EQ(::mkfifo((dir / "fifo.yml").c_str(), 0600), 0);
  fs::create_directories(dir / "dir.yml");
  out = LoadRuleFiles({"fifo.yml", "dir.yml"}, dir.string());
  EXPECT_EQ(out.file_errors, 2u);
  ASSERT_EQ(out.errors.size(), 2u);
  EXPECT_NE(out.errors[0].message().find("fifo.yml: cannot read: not a regular file"),
            std::string::npos)
      << out.errors[0].message();
  EXPECT_NE(out.errors[1].message().find("dir.yml: cannot read: is a directory"), std::string::npos)
      << out.errors[1].message();

  // Through the alerts: section, relative to the configuration file.
  const std::string cfg = (dir / "strobe.yaml").string();
  AlertConfig c = AlertConfig::Parse(
      YAML::Load("rule_files: [main.yml]\nhistory_max_series: 10\nhistory_max_samples: 100\n"),
      cfg);
  EXPECT_TRUE(c.errors.empty()) << c.errors[0].message();
  EXPECT_EQ(c.groups.size(), 2u);
  EXPECT_EQ(c.rule_files_dir, dir.string());
  EXPECT_EQ(c.history_max_series, 10u);
  EXPECT_EQ(c.history_max_samples, 100u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace strobed::alert
