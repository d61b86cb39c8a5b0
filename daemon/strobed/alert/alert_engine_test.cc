#include "strobed/alert/alert_engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/alert/alert_metrics.h"
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
  clock_.AdvanceNs(5 * kSec);
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

}  // namespace
}  // namespace strobed::alert
