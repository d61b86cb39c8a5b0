// Integration: stream windows → alert rule → AlertmanagerNotifier → real Alertmanager
// (prometheus-alertmanager, Debian) → webhook served by this test. Checks that the firing
// alert and then its resolution arrive, with the labels and annotations strobe set.

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "strobed/alert/alert_engine.h"
#include "strobed/alert/test_http_server.h"
#include "strobed/event/batch.h"
#include "strobed/stream/engine.h"

extern char** environ;

namespace strobed::alert {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";

uint16_t FreePort() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

int HttpGetStatus(uint16_t port, const std::string& target) {
  namespace http = boost::beast::http;
  try {
    boost::asio::io_context ioc;
    boost::beast::tcp_stream s(ioc);
    s.expires_after(std::chrono::seconds(2));
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return static_cast<int>(res.result_int());
  } catch (const std::exception&) {
    return 0;
  }
}

class AlertmanagerProcess {
 public:
  AlertmanagerProcess(const fs::path& dir, uint16_t port, const std::string& webhook_url) {
    const fs::path config = dir / "alertmanager.yml";
    std::ofstream(config) << "route:\n"
                             "  receiver: test\n"
                             "  group_by: ['alertname']\n"
                             "  group_wait: 0s\n"
                             "  group_interval: 1s\n"
                             "  repeat_interval: 1h\n"
                             "receivers:\n"
                             "  - name: test\n"
                             "    webhook_configs:\n"
                             "      - url: '"
                          << webhook_url
                          << "'\n"
                             "        send_resolved: true\n";
    std::vector<std::string> args = {kAlertmanager,
                                     "--config.file=" + config.string(),
                                     "--storage.path=" + (dir / "data").string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                     "--cluster.listen-address=",
                                     "--log.level=warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, kAlertmanager, nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
  }
  ~AlertmanagerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

// Feeds one batch of `n` spans of `seconds` duration ending now for service "checkout".
void Feed(stream::StreamEngine& engine, double seconds, int n) {
  event::Batch batch(nullptr, 4096, 1 << 20);
  static const event::Attribute attrs[] = {
      {event::keys::kServiceName, event::Value::String("checkout")}};
  const uint64_t now = base::WallClock::System().NowUnixNs();
  for (int i = 0; i < n; ++i) {
    event::Span& s = batch.AddSpan();
    s.name = "http.server.duration";
    s.end_ns = now;
    s.start_ns = now - static_cast<uint64_t>(seconds * 1e9);
    s.attributes = attrs;
  }
  engine.Consume(batch);
}

bool HasAlert(const std::vector<testing::TestHttpServer::Request>& reqs, const char* status) {
  for (const auto& r : reqs) {
    if (r.body.find(std::string("\"status\":\"") + status + "\"") != std::string::npos &&
        r.body.find("\"alertname\":\"HighLatency\"") != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST(AlertmanagerIntegrationTest, FiringAndResolvedReachWebhookThroughAlertmanager) {
  ASSERT_TRUE(fs::exists(kAlertmanager))
      << kAlertmanager << " missing: run scripts/bootstrap (prometheus-alertmanager)";
  char tmpl[] = "/tmp/strobe-am-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;

  testing::TestHttpServer webhook;
  const uint16_t am_port = FreePort();
  {
    AlertmanagerProcess am(dir, am_port, webhook.Url("/hook"));
    ASSERT_TRUE(am.started());
    auto deadline = Clock::now() + std::chrono::seconds(20);
    while (HttpGetStatus(am_port, "/-/ready") != 200) {
      ASSERT_LT(Clock::now(), deadline) << "alertmanager not ready on port " << am_port;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }

    const YAML::Node stream_cfg = YAML::Load(R"(
windows:
  - name: http
    match: http.server.duration
    type: tumbling
    size: 1s
    idle_timeout: 200ms
    group_by: [service.name]
    aggregations: [count, rate, p99]
)");
    auto engine = stream::StreamEngine::Create(stream_cfg, "stream.yaml", event::KeyTable::Global(),
                                               base::WallClock::System());
    ASSERT_TRUE(engine->config_errors().empty()) << engine->config_errors()[0].message();
    AlertConfig cfg = AlertConfig::Parse(
        YAML::Load("generator_url: http://127.0.0.1:9800/api/v1/alerts\n"
                   "rules:\n"
                   "  - alert: HighLatency\n"
                   "    expr: p99(http.server.duration) > 250ms\n"
                   "    severity: critical\n"
                   "    labels: {team: shop}\n"
                   "    annotations: {summary: 'p99 of {{ $labels.service.name }} is {{ "
                   "$value }}s'}\n"
                   "notifiers:\n"
                   "  - type: alertmanager\n"
                   "    url: http://127.0.0.1:" +
                   std::to_string(am_port) + "\n"),
        "alerts.yaml");
    ASSERT_TRUE(cfg.errors.empty()) << cfg.errors[0].message();
    AlertEngine alerts(std::move(cfg), base::WallClock::System());
    alerts.Start();

    auto step = [&](double latency) {
      Feed(*engine, latency, 50);
      engine->Tick();
      alerts.Evaluate(engine->SnapshotSeries());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    };

    // Slow requests: p99 = 0.4 s > 250 ms → firing → Alertmanager → webhook.
    deadline = Clock::now() + std::chrono::seconds(30);
    while (!webhook.WaitFor([](const auto& r) { return HasAlert(r, "firing"); },
                            std::chrono::milliseconds(1))) {
      ASSERT_LT(Clock::now(), deadline)
          << "no firing notification; alerts: " << alerts.AlertsJson();
      step(0.4);
    }
    // Fast requests: the next window's p99 = 10 ms → resolved → webhook.
    deadline = Clock::now() + std::chrono::seconds(30);
    while (!webhook.WaitFor([](const auto& r) { return HasAlert(r, "resolved"); },
                            std::chrono::milliseconds(1))) {
      ASSERT_LT(Clock::now(), deadline)
          << "no resolved notification; alerts: " << alerts.AlertsJson();
      step(0.01);
    }
    alerts.Stop();

    // The payload Alertmanager forwarded carries what strobe sent.
    std::string firing;
    for (const auto& r : webhook.Requests()) {
      if (HasAlert({r}, "firing")) firing = r.body;
    }
    EXPECT_NE(firing.find("\"version\":\"4\""), std::string::npos) << firing;
    EXPECT_NE(firing.find("\"service_name\":\"checkout\""), std::string::npos) << firing;
    EXPECT_NE(firing.find("\"severity\":\"critical\""), std::string::npos) << firing;
    EXPECT_NE(firing.find("\"team\":\"shop\""), std::string::npos) << firing;
    EXPECT_NE(firing.find("p99 of checkout is 0.4"), std::string::npos) << firing;
    EXPECT_NE(firing.find("\"generatorURL\":\"http://127.0.0.1:9800/api/v1/alerts\""),
              std::string::npos)
        << firing;
    const std::string json = alerts.AlertsJson();
    EXPECT_NE(json.find("\"to\":\"resolved\""), std::string::npos) << json;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace strobed::alert
