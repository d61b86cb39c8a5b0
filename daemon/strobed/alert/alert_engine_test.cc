#include "strobed/alert/alert_engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/alert/alert_metrics.h"
#include "strobed/alert/query_api.h"
#include "strobed/alert/test_http_server.h"

namespace strobed::alert {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

class Recorder final : public Notifier {
 public:
  std::string_view type() const override { return "recorder"; }
  strobe::Status Send(const std::vector<Notification>& batch) override {
    for (const auto& n : batch) sent.push_back(n);
    return strobe::OkStatus();
  }
  std::vector<Notification> sent;
};

class AlertEngineTest : public ::testing::Test {
 protected:
  void Build(const std::string& rules_yaml) {
    AlertConfig c = AlertConfig::Parse(YAML::Load(rules_yaml), "a.yaml");
    ASSERT_TRUE(c.errors.empty()) << c.errors[0].message();
    engine_ = std::make_unique<AlertEngine>(std::move(c), clock_);
    auto r = std::make_unique<Recorder>();
    rec_ = r.get();
    engine_->AddNotifier(std::move(r), 0);
  }
  std::vector<stream::Series> P99(double value, const std::string& service = "checkout") {
    stream::Series s;
    s.name = "p99";
    s.source = "http.server.duration";
    s.window = "http";
    s.labels = {{"service.name", service}};
    s.value = value;
    s.updated_ns = clock_.NowUnixNs();
    return {s};
  }
  void Eval(const std::vector<stream::Series>& s) { engine_->Evaluate(s); }

  base::ManualWallClock clock_{1'700'000'000 * kSec};
  std::unique_ptr<AlertEngine> engine_;
  Recorder* rec_ = nullptr;
};

// "On CEP match": a rule over a CEP rule's match counter fires for the key that matched at
// the first evaluation after the match and resolves once that key stopped matching for
// `staleness`.
TEST_F(AlertEngineTest, CepMatchCounterFiresPerKeyAndResolvesWhenStale) {
  Build(R"(staleness: 1m
rules:
  - alert: BruteForce
    expr: cep_matches(brute_force{user.id!="test"}) > 0
    annotations: {summary: "{{ $value }} bursts for {{ $labels.user.id }}"})");
  auto matches = [&](const std::string& user, double n, uint64_t updated_ns) {
    stream::Series s;
    s.name = std::string(stream::kCepMatches);
    s.source = "brute_force";
    s.window = "brute_force";
    s.labels = {{"user.id", user}};
    s.value = n;
    s.updated_ns = updated_ns;
    return s;
  };
  const uint64_t t0 = clock_.NowUnixNs();
  Eval({matches("alice", 2, t0), matches("test", 5, t0)});
  ASSERT_EQ(engine_->Alerts().size(), 1u);  // "test" excluded by the matcher
  EXPECT_EQ(engine_->Alerts()[0].state, AlertState::kFiring);
  ASSERT_EQ(rec_->sent.size(), 1u);
  EXPECT_EQ(rec_->sent[0].labels.at("user.id"), "alice");
  EXPECT_EQ(rec_->sent[0].labels.at("window"), "brute_force");
  EXPECT_EQ(rec_->sent[0].annotations.at("summary"), "2 bursts for alice");
  clock_.AdvanceNs(61 * kSec);  // no new match for alice: stale → resolved
  Eval({matches("alice", 2, t0)});
  EXPECT_TRUE(engine_->Alerts().empty());
  ASSERT_EQ(rec_->sent.size(), 2u);
  EXPECT_EQ(rec_->sent[1].status, AlertStatus::kResolved);
  // A later match fires again.
  Eval({matches("alice", 3, clock_.NowUnixNs())});
  ASSERT_EQ(rec_->sent.size(), 3u);
  EXPECT_EQ(rec_->sent[2].status, AlertStatus::kFiring);
}

TEST_F(AlertEngineTest, InactivePendingFiringResolved) {
  Build(R"(rules:
  - alert: Slow
    expr: p99(http.server.duration) > 250ms
    for: 10s
    severity: critical
    labels: {team: shop}
    annotations: {summary: "p99 of {{ $labels.service.name }} is {{ $value }}s"})");
  Eval(P99(0.1));
  EXPECT_TRUE(engine_->Alerts().empty());
  Eval(P99(0.3));
  ASSERT_EQ(engine_->Alerts().size(), 1u);
  EXPECT_EQ(engine_->Alerts()[0].state, AlertState::kPending);
  clock_.AdvanceNs(5 * kSec);
  Eval(P99(0.4));
  EXPECT_EQ(engine_->Alerts()[0].state, AlertState::kPending);
  EXPECT_TRUE(rec_->sent.empty());
  // 1 ns short of `for: 10s` since the condition became true: still pending.
  clock_.AdvanceNs(5 * kSec - 1);
  Eval(P99(0.45));
  EXPECT_EQ(engine_->Alerts()[0].state, AlertState::kPending);
  EXPECT_TRUE(rec_->sent.empty());
  // Exactly 10 s: firing (active for at least `for`, as Prometheus does).
  clock_.AdvanceNs(1);
  Eval(P99(0.5));
  ASSERT_EQ(engine_->Alerts()[0].state, AlertState::kFiring);
  ASSERT_EQ(rec_->sent.size(), 1u);
  const Notification& n = rec_->sent[0];
  EXPECT_EQ(n.status, AlertStatus::kFiring);
  EXPECT_EQ(n.labels.at("alertname"), "Slow");
  EXPECT_EQ(n.labels.at("severity"), "critical");
  EXPECT_EQ(n.labels.at("team"), "shop");
  EXPECT_EQ(n.labels.at("service.name"), "checkout");
  EXPECT_EQ(n.annotations.at("summary"), "p99 of checkout is 0.5s");
  // Still firing: deduplicated (no second notification before repeat_interval).
  clock_.AdvanceNs(kSec);
  Eval(P99(0.6));
  EXPECT_EQ(rec_->sent.size(), 1u);
  clock_.AdvanceNs(kSec);
  Eval(P99(0.1));
  EXPECT_TRUE(engine_->Alerts().empty());
  ASSERT_EQ(rec_->sent.size(), 2u);
  EXPECT_EQ(rec_->sent[1].status, AlertStatus::kResolved);
  EXPECT_EQ(rec_->sent[1].ends_at_ns, clock_.NowUnixNs());
  const auto h = engine_->History();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].to, AlertState::kPending);
  EXPECT_EQ(h[1].to, AlertState::kFiring);
  EXPECT_EQ(h[2].to, AlertState::kResolved);
  const std::string json = engine_->AlertsJson();
  EXPECT_NE(json.find("\"to\":\"resolved\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"defined_at\":\"a.yaml:2\""), std::string::npos) << json;
}

TEST_F(AlertEngineTest, PendingThatClearsNeverNotifies) {
  Build("rules: [{alert: Slow, expr: 'p99(http.server.duration) > 0.25', for: 10s}]");
  Eval(P99(0.3));
  clock_.AdvanceNs(5 * kSec);
  Eval(P99(0.2));
  EXPECT_TRUE(engine_->Alerts().empty());
  EXPECT_TRUE(rec_->sent.empty());
  EXPECT_EQ(engine_->History().back().to, AlertState::kInactive);
}

TEST_F(AlertEngineTest, RepeatIntervalAndCooldown) {
  Build(
      "rules: [{alert: Slow, expr: 'p99(http.server.duration) > 0.25', repeat_interval: 1m, "
      "cooldown: 30s}]");
  Eval(P99(0.3));  // for: 0 → fires at once
  EXPECT_EQ(rec_->sent.size(), 1u);
  clock_.AdvanceNs(59 * kSec);
  Eval(P99(0.3));
  EXPECT_EQ(rec_->sent.size(), 1u);
  clock_.AdvanceNs(kSec);
  Eval(P99(0.3));
  EXPECT_EQ(rec_->sent.size(), 2u);  // repeat after 1 m
  Eval(P99(0.1));
  EXPECT_EQ(rec_->sent.size(), 3u);  // resolved
  clock_.AdvanceNs(10 * kSec);
  Eval(P99(0.9));  // within cooldown: suppressed
  EXPECT_TRUE(engine_->Alerts().empty());
  EXPECT_EQ(rec_->sent.size(), 3u);
  clock_.AdvanceNs(21 * kSec);
  Eval(P99(0.9));
  EXPECT_EQ(rec_->sent.size(), 4u);
}

TEST_F(AlertEngineTest, OneInstancePerSeriesAndStaleSeriesResolve) {
  Build("staleness: 30s\nrules: [{alert: Slow, expr: 'p99(http.server.duration) > 0.25'}]");
  auto s = P99(0.3, "a");
  auto b = P99(0.4, "b");
  s.push_back(b[0]);
  Eval(s);
  EXPECT_EQ(engine_->Alerts().size(), 2u);
  EXPECT_EQ(rec_->sent.size(), 2u);
  clock_.AdvanceNs(31 * kSec);  // nobody updated the series
  Eval(s);
  EXPECT_TRUE(engine_->Alerts().empty());
  EXPECT_EQ(rec_->sent.size(), 4u);
}

TEST(NotifierTest, WebhookRetriesWithBackoffThenSucceeds) {
  testing::TestHttpServer server;
  server.ScriptStatuses({503, 503, 200});
  NotifierConfig c;
  c.type = NotifierType::kWebhook;
  c.url = server.Url("/hook");
  c.max_attempts = 5;
  c.initial_backoff_ns = 100;
  c.max_backoff_ns = 250;
  std::vector<uint64_t> waits;
  WebhookNotifier n(c, [&](uint64_t ns) { waits.push_back(ns); });
  Notification note;
  note.labels = {{"alertname", "X"}};
  note.annotations = {{"summary", "quote \" and newline \n"}};
  note.starts_at_ns = 1'700'000'000 * kSec;
  ASSERT_TRUE(n.Send({note}).ok());
  // base/retry.h: base 100 then 200 (capped at 250), each drawn from [base/2, base].
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_GE(waits[0], 50u);
  EXPECT_LE(waits[0], 100u);
  EXPECT_GE(waits[1], 100u);
  EXPECT_LE(waits[1], 200u);
  EXPECT_EQ(n.counters().retries.load(), 2u);
  EXPECT_EQ(n.counters().sent.load(), 1u);
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2].method, "POST");
  EXPECT_EQ(reqs[2].target, "/hook");
  EXPECT_NE(reqs[2].body.find("\"status\":\"firing\""), std::string::npos);
  EXPECT_NE(reqs[2].body.find("\"startsAt\":\"2023-11-14T22:13:20.000Z\""), std::string::npos)
      << reqs[2].body;
  EXPECT_NE(reqs[2].body.find(R"(quote \" and newline \n)"), std::string::npos);
}

TEST(NotifierTest, WebhookGivesUpOnPermanentErrorAndCounts) {
  testing::TestHttpServer server;
  server.ScriptStatuses({400});
  NotifierConfig c;
  c.type = NotifierType::kWebhook;
  c.url = server.Url("/hook");
  WebhookNotifier n(c, [](uint64_t) {});
  EXPECT_FALSE(n.Send({Notification{}}).ok());
  EXPECT_EQ(server.Requests().size(), 1u);
  EXPECT_EQ(n.counters().failed.load(), 1u);
}

TEST(NotifierTest, UnreachableEndpointExhaustsAttempts) {
  uint16_t port;
  {
    testing::TestHttpServer server;  // take a free port, then close it
    port = server.port();
  }
  NotifierConfig c;
  c.type = NotifierType::kWebhook;
  c.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  c.max_attempts = 3;
  int waits = 0;
  WebhookNotifier n(c, [&](uint64_t) { ++waits; });
  strobe::Status s = n.Send({Notification{}});
  EXPECT_EQ(s.code(), strobe::StatusCode::kUnavailable) << s.ToString();
  EXPECT_EQ(waits, 2);
}

TEST(NotifierTest, AlertmanagerBodyShape) {
  NotifierConfig c;
  c.type = NotifierType::kAlertmanager;
  c.url = "http://127.0.0.1:9093/";
  AlertmanagerNotifier n(c);
  Notification note;
  note.labels = {{"alertname", "Slow"}, {"service.name", "checkout"}};
  note.annotations = {{"summary", "s"}};
  note.starts_at_ns = 1'700'000'000 * kSec;
  note.ends_at_ns = 1'700'000'060 * kSec;
  note.generator_url = "http://127.0.0.1:9800/api/v1/alerts";
  EXPECT_EQ(n.Body({note}),
            R"([{"labels":{"alertname":"Slow","service_name":"checkout"},)"
            R"("annotations":{"summary":"s"},"startsAt":"2023-11-14T22:13:20.000Z",)"
            R"("endsAt":"2023-11-14T22:14:20.000Z",)"
            R"("generatorURL":"http://127.0.0.1:9800/api/v1/alerts"}])");
}

TEST_F(AlertEngineTest, NotifierWorkersDeliverAsynchronously) {
  testing::TestHttpServer server;
  AlertConfig c = AlertConfig::Parse(
      YAML::Load("rules: [{alert: Slow, expr: 'p99(http.server.duration) > 0.25'}]\n"
                 "notifiers: [{type: webhook, url: '" +
                 server.Url("/hook") + "'}]"),
      "a.yaml");
  ASSERT_TRUE(c.errors.empty());
  AlertEngine engine(std::move(c), clock_);
  engine.Start();
  engine.Evaluate(P99(0.5));
  ASSERT_TRUE(engine.WaitDelivered(10 * kSec));
  ASSERT_EQ(server.Requests().size(), 1u);
  engine.Stop();
  strobe::metrics::Registry registry;
  ASSERT_TRUE(RegisterAlertMetrics(registry, engine).ok());
  const std::string prom =
      strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(prom.find("strobe_alert_notifications_total{notifier=\"webhook\",result=\"sent\"} 1"),
            std::string::npos)
      << prom;
  EXPECT_NE(prom.find("strobe_alerts{state=\"firing\"} 1"), std::string::npos);
}

// --- PromQL rule groups (alerts.rule_files) ---

class PromRulesTest : public AlertEngineTest {
 protected:
  void BuildGroups(const std::string& rule_file) {
    RuleFiles files;
    ParseRuleFileText(rule_file, "r.yml", files);
    ASSERT_TRUE(files.errors.empty()) << files.errors[0].message();
    AlertConfig c;
    c.groups = std::move(files.groups);
    engine_ = std::make_unique<AlertEngine>(std::move(c), clock_);
    auto r = std::make_unique<Recorder>();
    rec_ = r.get();
    engine_->AddNotifier(std::move(r), 0);
  }
  // One round with the counter req{path="a"} = `value` (exposed as req_total).
  void Round(double value) {
    strobe::snapshot::Family f;
    f.name = "req";
    f.type = strobe::snapshot::MetricType::kCounter;
    f.label_names = {"path"};
    strobe::snapshot::Point p;
    p.labels = {{"path", "a"}};
    p.value = value;
    f.points.push_back(p);
    std::vector<strobe::snapshot::Family> families = {f};
    engine_->EvaluateRules(families);
  }
};

constexpr const char* kDoubleRules = R"yaml(groups:
  - name: g
    rules:
      - record: req:double
        expr: req_total * 2
        labels: {src: rule}
      - alert: High
        expr: req:double > 10
        for: 2s
        keep_firing_for: 3s
        labels: {severity: page, where: "{{ $labels.path }}"}
        annotations: {summary: "{{ $labels.path }} at {{ $value }}"}
)yaml";

TEST_F(PromRulesTest, RecordingRuleFeedsAlertInTheSameRoundAndStateMachineRuns) {
  BuildGroups(kDoubleRules);
  Round(3);  // req:double = 6
  EXPECT_TRUE(engine_->Alerts().empty());
  auto recorded = engine_->RecordedFamilies();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].name, "req:double");
  ASSERT_EQ(recorded[0].points.size(), 1u);
  EXPECT_EQ(recorded[0].points[0].value, 6);
  ASSERT_EQ(recorded[0].label_names, (std::vector<std::string>{"path", "src"}));

  clock_.AdvanceNs(kSec);
  Round(6);  // 12 > 10, seen by the alert rule in the same round: pending
  ASSERT_EQ(engine_->Alerts().size(), 1u);
  EXPECT_EQ(engine_->Alerts()[0].state, AlertState::kPending);
  EXPECT_EQ(engine_->Alerts()[0].labels, (std::map<std::string, std::string>{{"alertname", "High"},
                                                                             {"path", "a"},
                                                                             {"severity", "page"},
                                                                             {"src", "rule"},
                                                                             {"where", "a"}}));
  clock_.AdvanceNs(kSec);
  Round(6);
  EXPECT_EQ(engine_->Alerts()[0].state, AlertState::kPending);
  clock_.AdvanceNs(kSec);
  Round(7);  // held for 2 s: firing
  ASSERT_EQ(engine_->Alerts()[0].state, AlertState::kFiring);
  ASSERT_EQ(rec_->sent.size(), 1u);
  EXPECT_EQ(rec_->sent[0].annotations.at("summary"), "a at 14");
  // The condition stops; keep_firing_for: 3s keeps it firing for 3 s, then it resolves.
  for (int i = 0; i < 2; ++i) {
    clock_.AdvanceNs(kSec);
    Round(1);
    EXPECT_EQ(engine_->Alerts()[0].state, AlertState::kFiring) << i;
  }
  clock_.AdvanceNs(kSec);
  Round(1);
  EXPECT_TRUE(engine_->Alerts().empty());
  ASSERT_EQ(rec_->sent.size(), 2u);
  EXPECT_EQ(rec_->sent[1].status, AlertStatus::kResolved);

  const RuleStats stats = engine_->Stats();
  EXPECT_EQ(stats.rules, 2u);
  EXPECT_EQ(stats.evaluations, 14u);  // 7 rounds x 2 rules
  EXPECT_EQ(stats.failures, 0u);
  EXPECT_EQ(stats.history.series, 2u);  // req_total and req:double

  // The query API reads the same history.
  const int64_t now_ms = static_cast<int64_t>(clock_.NowUnixNs() / 1'000'000);
  QueryReply q = InstantQuery(*engine_, "req:double", std::nullopt, now_ms);
  EXPECT_EQ(q.status, 200);
  EXPECT_EQ(q.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
            "{\"__name__\":\"req:double\",\"path\":\"a\",\"src\":\"rule\"},\"value\":[1700000006,"
            "\"2\"]}]}}");
  q = InstantQuery(*engine_, "req_total", std::to_string(now_ms / 1000 - 3) + ".5", now_ms);
  EXPECT_EQ(q.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
            "{\"__name__\":\"req_total\",\"path\":\"a\"},\"value\":[1700000003.500,\"7\"]}]}}");
}

TEST_F(PromRulesTest, FailingRuleIsCountedAndKeepsItsAlerts) {
  // Both sides carry the same label set twice after `ignoring(path)`: many-to-many error.
  BuildGroups(R"yaml(groups:
  - name: g
    rules:
      - alert: Bad
        expr: req_total + ignoring(path) (req_total or vector(1))
)yaml");
  Round(1);
  const RuleStats stats = engine_->Stats();
  EXPECT_EQ(stats.evaluations, 1u);
  EXPECT_EQ(stats.failures, 1u);
  const std::string json = engine_->AlertsJson();
  EXPECT_NE(json.find("\"health\":\"err\",\"lastError\":"), std::string::npos) << json;
}

TEST_F(PromRulesTest, ScalarResultIsOneUnlabelledAlert) {
  BuildGroups("groups:\n  - name: g\n    rules:\n      - alert: Always\n        expr: 1 + 1\n");
  Round(1);
  ASSERT_EQ(engine_->Alerts().size(), 1u);
  EXPECT_EQ(engine_->Alerts()[0].labels,
            (std::map<std::string, std::string>{{"alertname", "Always"}}));
  EXPECT_EQ(engine_->Alerts()[0].value, 2);
}

TEST(InstantQueryTest, RefusesHostileInputAsBadData) {
  base::ManualWallClock clock{1'700'000'000 * kSec};
  AlertEngine engine(AlertConfig{}, clock);
  struct Case {
    std::optional<std::string> query;
    std::optional<std::string> time;
    int status;
    const char* error;
  };
  const Case cases[] = {
      {std::nullopt, std::nullopt, 400, "missing query"},
      {"", std::nullopt, 400, "missing query"},
      {std::string(kMaxQueryBytes + 1, 'x'), std::nullopt, 400, "longer than 8192 bytes"},
      {"sum(", std::nullopt, 400, "invalid parameter \\\"query\\\": 1:5:"},
      {"up[5m]", std::nullopt, 400, "range vector results are not supported"},
      {"1", "soon", 400, "invalid parameter \\\"time\\\""},
      {"1", "nan", 400, "invalid parameter \\\"time\\\""},
      {"1", "-5", 400, "invalid parameter \\\"time\\\""},
      {"1", "1e300", 400, "invalid parameter \\\"time\\\""},
      {"1", "2026-13-01T00:00:00Z", 400, "invalid parameter \\\"time\\\""},
  };
  for (const Case& c : cases) {
    QueryReply r = InstantQuery(engine, c.query, c.time, 1'000);
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_NE(r.body.find("\"errorType\":\"bad_data\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(c.error), std::string::npos) << r.body;
  }
  QueryReply r = InstantQuery(engine, "2 * 3 + 0.5", "1700000000.25", 0);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":"
            "[1700000000.250,\"6.5\"]}}");
  r = InstantQuery(engine, "nothing_here", std::nullopt, 5'000);
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}");
}

TEST(InstantQueryTest, TimesAndValuesAsPrometheusWritesThem) {
  EXPECT_EQ(*ParseQueryTime("1700000000"), 1'700'000'000'000);
  EXPECT_EQ(*ParseQueryTime("1700000000.123"), 1'700'000'000'123);
  EXPECT_EQ(*ParseQueryTime("2023-11-14T22:13:20Z"), 1'700'000'000'000);
  EXPECT_EQ(*ParseQueryTime("2023-11-14T22:13:20.5Z"), 1'700'000'000'500);
  EXPECT_EQ(*ParseQueryTime("2023-11-14T23:13:20+01:00"), 1'700'000'000'000);
  EXPECT_FALSE(ParseQueryTime("2023-11-14 22:13:20").ok());
  EXPECT_FALSE(ParseQueryTime("2023-11-14T22:13:20").ok());  // no zone
  EXPECT_EQ(PromValueText(0.1), "0.1");
  EXPECT_EQ(PromValueText(1e6), "1000000");
  EXPECT_EQ(PromValueText(-2.5), "-2.5");
  EXPECT_EQ(PromValueText(1.0 / 0.0), "+Inf");
  EXPECT_EQ(PromValueText(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(PromValueText(0.0 / 0.0), "NaN");
}

// The Prometheus HTTP API beyond instant queries: query_range, series, labels, label values,
// with Prometheus' response and error shapes.
class QueryApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(AlertConfig{}); }
  void Make(AlertConfig c) {
    engine_ = std::make_unique<AlertEngine>(std::move(c), clock_);
    first_ = static_cast<int64_t>(clock_.NowUnixNs() / kSec);
    // Three rounds, 1 s apart: req{path=a} 1 2 3 and req{path=b} 10 20 30 (req_total), and
    // a gauge temp{room=k} 5 from the second round on.
    for (int i = 1; i <= 3; ++i) {
      strobe::snapshot::Family f;
      f.name = "req";
      f.type = strobe::snapshot::MetricType::kCounter;
      f.label_names = {"path"};
      for (const auto& [path, mult] : {std::pair<std::string, double>{"a", 1}, {"b", 10}}) {
        strobe::snapshot::Point p;
        p.labels = {{"path", path}};
        p.value = i * mult;
        f.points.push_back(p);
      }
      std::vector<strobe::snapshot::Family> families = {f};
      if (i >= 2) {
        strobe::snapshot::Family g;
        g.name = "temp";
        g.type = strobe::snapshot::MetricType::kGauge;
        g.label_names = {"room"};
        strobe::snapshot::Point p;
        p.labels = {{"room", "k"}};
        p.value = 5;
        g.points.push_back(p);
        families.push_back(g);
      }
      engine_->EvaluateRules(families);
      clock_.AdvanceNs(kSec);
    }
  }
  static constexpr int64_t kT0 = 1'700'000'000;  // seconds of the first round
  base::ManualWallClock clock_{kT0 * kSec};
  int64_t first_ = kT0;  // seconds of the first round of the latest Make
  std::unique_ptr<AlertEngine> engine_;
};

TEST_F(QueryApiTest, RangeQueryAnswersAMatrix) {
  const std::string start = std::to_string(kT0);
  const std::string end = std::to_string(kT0 + 2);
  QueryReply r = RangeQuery(
      *engine_,
      {{"query", "req_total{path=\"a\"} * 2"}, {"start", start}, {"end", end}, {"step", "1"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":"
            "{\"path\":\"a\"},\"values\":[[1700000000,\"2\"],[1700000001,\"4\"],[1700000002,"
            "\"6\"]]}]}}");
  // Durations as steps; a scalar is one series without labels.
  r = RangeQuery(*engine_, {{"query", "1 + 1"}, {"start", start}, {"end", end}, {"step", "2s"}});
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":"
            "{},\"values\":[[1700000000,\"2\"],[1700000002,\"2\"]]}]}}");
  struct Case {
    QueryParams params;
    const char* error;
  };
  const Case cases[] = {
      {{{"query", "up"}, {"end", end}, {"step", "1"}}, "invalid parameter \\\"start\\\""},
      {{{"query", "up"}, {"start", end}, {"end", start}, {"step", "1"}},
       "end timestamp must not be before start time"},
      {{{"query", "up"}, {"start", start}, {"end", end}, {"step", "0"}},
       "zero or negative query resolution step widths are not accepted"},
      {{{"query", "up"}, {"start", start}, {"end", end}, {"step", "soon"}},
       "invalid parameter \\\"step\\\": cannot parse \\\"soon\\\" to a valid duration"},
      // 11,001 points: refused before any evaluation, as Prometheus.
      {{{"query", "up"}, {"start", "0"}, {"end", "11001"}, {"step", "1"}},
       "exceeded maximum resolution of 11,000 points per timeseries"},
      {{{"query", "up[5m]"}, {"start", start}, {"end", end}, {"step", "1"}},
       "invalid expression type \\\"range vector\\\" for range query"},
  };
  for (const Case& c : cases) {
    QueryReply e = RangeQuery(*engine_, c.params);
    EXPECT_EQ(e.status, 400) << e.body;
    EXPECT_NE(e.body.find("\"errorType\":\"bad_data\""), std::string::npos) << e.body;
    EXPECT_NE(e.body.find(c.error), std::string::npos) << e.body;
  }
  // 11,000 points exactly is allowed.
  EXPECT_EQ(RangeQuery(*engine_, {{"query", "1"}, {"start", "0"}, {"end", "11000"}, {"step", "1"}})
                .status,
            200);
}

TEST_F(QueryApiTest, SeriesLabelsAndValues) {
  QueryReply r = SeriesQuery(*engine_, {{"match[]", "req_total"}, {"match[]", "temp"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":[{\"__name__\":\"req_total\",\"path\":\"a\"},"
            "{\"__name__\":\"req_total\",\"path\":\"b\"},{\"__name__\":\"temp\",\"room\":\"k\"}]}");
  // A time range before temp existed leaves it out.
  r = SeriesQuery(*engine_, {{"match[]", "{__name__=~\"req_total|temp\"}"},
                             {"start", std::to_string(kT0)},
                             {"end", std::to_string(kT0) + ".5"}});
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":[{\"__name__\":\"req_total\",\"path\":\"a\"},"
            "{\"__name__\":\"req_total\",\"path\":\"b\"}]}");
  EXPECT_EQ(SeriesQuery(*engine_, {}).status, 400);
  EXPECT_NE(SeriesQuery(*engine_, {}).body.find("no match[] parameter provided"),
            std::string::npos);
  EXPECT_EQ(SeriesQuery(*engine_, {{"match[]", "rate(x[5m])"}}).status, 400);
  EXPECT_EQ(SeriesQuery(*engine_, {{"match[]", "{"}}).status, 400);

  r = LabelNamesQuery(*engine_, {{"match[]", "{__name__=~\"req_total|temp\"}"}});
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"__name__\",\"path\",\"room\"]}");
  r = LabelNamesQuery(*engine_, {{"match[]", "temp"}});
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"__name__\",\"room\"]}");
  r = LabelValuesQuery(*engine_, "path", {});
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"a\",\"b\"]}");
  r = LabelValuesQuery(*engine_, "__name__", {{"match[]", "{path=\"a\"}"}});
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"req_total\"]}");
  r = LabelValuesQuery(*engine_, "nope", {});
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[]}");
  r = LabelValuesQuery(*engine_, "9bad-name", {});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("invalid label name: \\\"9bad-name\\\""), std::string::npos) << r.body;
}

TEST_F(QueryApiTest, LimitsAnswerAsPrometheusAndAreCounted) {
  AlertConfig c;
  c.query_max_samples = 4;
  Make(std::move(c));
  const int64_t now_ms = static_cast<int64_t>(clock_.NowUnixNs() / 1'000'000);
  // As Prometheus counts (sample_accounting.h): one series' window (3) at a time plus the
  // points so far — 1 + 3, then 2 + 3 = 5 > 4.
  QueryReply r = InstantQuery(*engine_, {{"query", "count_over_time(req_total[1m])"}}, now_ms);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.body,
            "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"query processing would "
            "load too many samples into memory in query execution\"}");
  // Path a only: 1 + 3 = 4 is fine.
  r = InstantQuery(*engine_, {{"query", "count_over_time(req_total{path=\"a\"}[1m])"}}, now_ms);
  EXPECT_EQ(r.status, 200) << r.body;
  // A range query holds the selector's points of every step: 2 series x 3 steps = 6.
  r = RangeQuery(*engine_, {{"query", "req_total"},
                            {"start", std::to_string(first_)},
                            {"end", std::to_string(first_ + 2)},
                            {"step", "1"}});
  EXPECT_EQ(r.status, 422) << r.body;
  // A timeout (a request's own `timeout` shortens the configured one) is 503 "timeout".
  r = RangeQuery(*engine_, {{"query", "1"},
                            {"start", std::to_string(first_)},
                            {"end", std::to_string(first_ + 2)},
                            {"step", "1"},
                            {"timeout", "0.000001"}});
  // 0.000001 s rounds to 0 ms: no override; the configured 10 s applies and it succeeds.
  EXPECT_EQ(r.status, 200) << r.body;
  AlertConfig slow;
  slow.query_timeout_ns = 1;  // every evaluation is past its deadline at its first check
  Make(std::move(slow));
  r = RangeQuery(*engine_, {{"query", "req_total"},
                            {"start", std::to_string(first_)},
                            {"end", std::to_string(first_ + 2)},
                            {"step", "1"}});
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.body,
            "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in query "
            "execution\"}");
  const RuleStats stats = engine_->Stats();
  EXPECT_EQ(stats.queries_refused_timeout, 1u);
  EXPECT_EQ(stats.queries_refused_samples, 0u);
}

TEST_F(QueryApiTest, NativeHistogramsAsPrometheusWritesThem) {
  // A histogram family with exact exponential buckets at scale 0: zero 1, (1,2] 2, (2,4] 1.
  strobe::snapshot::Family f;
  f.name = "lat_seconds";
  f.type = strobe::snapshot::MetricType::kHistogram;
  strobe::snapshot::Point p;
  p.histogram.count = 4;
  p.histogram.sum = 5.5;
  p.histogram.scale = 0;
  p.histogram.zero_count = 1;
  p.histogram.positive_offset = 0;
  p.histogram.positive_counts = {2, 1};
  p.histogram.bounds = {2};
  p.histogram.bucket_counts = {3, 1};
  f.points.push_back(p);
  std::vector<strobe::snapshot::Family> families = {f};
  engine_->EvaluateRules(families);
  const int64_t now_ms = static_cast<int64_t>(clock_.NowUnixNs() / 1'000'000);
  QueryReply r = InstantQuery(*engine_, {{"query", "lat_seconds"}}, now_ms);
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
            "{\"__name__\":\"lat_seconds\"},\"histogram\":[1700000003,{\"count\":\"4\",\"sum\":"
            "\"5.5\",\"buckets\":[[3,\"-0\",\"0\",\"1\"],[0,\"1\",\"2\",\"2\"],[0,\"2\",\"4\","
            "\"1\"]]}]}]}}");
  // rank 2 of 4: the zero bucket holds 1, then 1 of 2 into (1,2]: 1.5.
  r = InstantQuery(*engine_, {{"query", "histogram_quantile(0.5, lat_seconds)"}}, now_ms);
  EXPECT_NE(r.body.find("\"value\":[1700000003,\"1.5\"]"), std::string::npos) << r.body;
  // The classic series are unchanged beside it.
  r = InstantQuery(*engine_, {{"query", "lat_seconds_bucket{le=\"2\"}"}}, now_ms);
  EXPECT_NE(r.body.find("\"value\":[1700000003,\"3\"]"), std::string::npos) << r.body;
}

TEST_F(PromRulesTest, ReloadAppliesTheAlertsSection) {
  AlertConfig c = AlertConfig::Parse(YAML::Load(R"yaml(
evaluation_interval: 2s
rules:
  - alert: Old
    expr: p99 > 1
)yaml"),
                                     "a.yaml");
  ASSERT_TRUE(c.errors.empty());
  engine_ = std::make_unique<AlertEngine>(std::move(c), clock_);
  EXPECT_EQ(engine_->EvaluationIntervalNs(), 2 * kSec);
  EXPECT_EQ(engine_->StrobeRuleCount(), 1u);
  // A section with an error is refused whole; the running one stays.
  AlertConfig bad = AlertConfig::Parse(
      YAML::Load("evaluation_interval: 5s\nrules:\n  - alert: X\n    expr: p99 >\n"), "a.yaml");
  ASSERT_FALSE(bad.errors.empty());
  EXPECT_FALSE(engine_->Reload(std::move(bad)).ok());
  EXPECT_EQ(engine_->EvaluationIntervalNs(), 2 * kSec);
  EXPECT_EQ(engine_->Stats().config_reloads_failed, 1u);
  AlertConfig next = AlertConfig::Parse(YAML::Load(R"yaml(
evaluation_interval: 500ms
query_max_samples: 3
rules:
  - alert: A
    expr: p99 > 1
  - alert: B
    expr: p99 > 2
)yaml"),
                                        "a.yaml");
  ASSERT_TRUE(next.errors.empty());
  EXPECT_TRUE(engine_->Reload(std::move(next)).ok());
  EXPECT_EQ(engine_->EvaluationIntervalNs(), kSec / 2);
  EXPECT_EQ(engine_->StrobeRuleCount(), 2u);
  EXPECT_EQ(engine_->Stats().config_reloads_ok, 1u);
  // query_max_samples applies to the next query.
  Round(1);
  Round(2);
  const int64_t now_ms = static_cast<int64_t>(clock_.NowUnixNs() / 1'000'000);
  EXPECT_EQ(InstantQuery(*engine_, {{"query", "count_over_time(req_total[1m])"}}, now_ms).status,
            200);  // 1 sample (both rounds at one clock time: the second is out of order)
  clock_.AdvanceNs(kSec);
  Round(3);
  clock_.AdvanceNs(kSec);
  Round(4);
  clock_.AdvanceNs(kSec);
  Round(5);
  EXPECT_EQ(
      InstantQuery(*engine_, {{"query", "count_over_time(req_total[1m])"}}, now_ms + 3000).status,
      422);  // its window of 4 samples plus its point: 5 > 3
}

}  // namespace
}  // namespace strobed::alert
