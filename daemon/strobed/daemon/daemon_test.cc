#include "strobed/daemon/daemon.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <future>
#include <vector>

#include "strobe/metrics/registry.h"

namespace strobed::daemon {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

struct Reply {
  int status = 0;
  std::string body;
};

Reply Get(const std::string& address, const std::string& target) {
  size_t colon = address.rfind(':');
  net::io_context ioc;
  net::ip::tcp::socket s(ioc);
  s.connect({net::ip::make_address(address.substr(0, colon)),
             static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))});
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, "x");
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  return {static_cast<int>(res.result_int()), res.body()};
}

// A component whose readiness and start result the test controls; records the call order.
class FakeComponent : public Component {
 public:
  FakeComponent(std::string name, std::vector<std::string>* log)
      : name_(std::move(name)), log_(log) {}
  std::string Name() const override { return name_; }
  strobe::Status Start(const ComponentContext& ctx) override {
    log_->push_back("start " + name_);
    ctx.api.Handle("GET", "/fake/" + name_,
                   [this](const server::Request&) { return server::Response::Text(200, name_); });
    return fail_start ? strobe::Unavailable("port busy") : strobe::OkStatus();
  }
  strobe::Status Shutdown(Deadline) override {
    log_->push_back("stop " + name_);
    return strobe::OkStatus();
  }
  strobe::Status Reload(const config::Config& next) override {
    if (fail_reload) return strobe::InvalidArgument("rule file broken");
    reload_interval = next.host.interval;
    return strobe::OkStatus();
  }
  Readiness Ready() const override {
    return ready.load() ? Readiness{} : Readiness{false, "warming up"};
  }
  std::string StatusJson() const override { return "{\"fake\":true}"; }

  std::atomic<bool> ready{true};
  bool fail_start = false;
  bool fail_reload = false;
  std::chrono::milliseconds reload_interval{0};

 private:
  std::string name_;
  std::vector<std::string>* log_;
};

DaemonOptions Options(strobe::metrics::Registry& registry) {
  DaemonOptions o;
  o.config.http = *config::ListenAddress::Parse(":0");
  o.config.grace_period = std::chrono::seconds(5);
  o.registry = &registry;
  o.load.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  return o;
}

TEST(DaemonTest, ServesHealthReadinessStatusAndMetrics) {
  strobe::metrics::Registry registry;
  std::vector<std::string> log;
  Daemon d(Options(registry));
  auto a = std::make_unique<FakeComponent>("a", &log);
  FakeComponent* a_ptr = a.get();
  d.AddComponent(std::move(a));
  d.AddComponent(std::make_unique<FakeComponent>("b", &log));
  a_ptr->ready = false;
  ASSERT_TRUE(d.Start().ok());
  const std::string addr = d.HttpAddress();
  EXPECT_EQ(Get(addr, "/healthz").status, 200);
  Reply r = Get(addr, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("not ready: a: warming up"), std::string::npos) << r.body;
  a_ptr->ready = true;
  EXPECT_EQ(Get(addr, "/readyz").status, 200);
  EXPECT_EQ(Get(addr, "/fake/b").body, "b");  // components mount routes
  r = Get(addr, "/api/v1/status");
  EXPECT_NE(r.body.find("\"listeners\":{\"http\":\"" + addr + "\"}"), std::string::npos) << r.body;
  EXPECT_NE(
      r.body.find(
          "{\"name\":\"a\",\"state\":\"running\",\"ready\":true,\"details\":{\"fake\":true}}"),
      std::string::npos)
      << r.body;
  r = Get(addr, "/metrics");
  EXPECT_NE(r.body.find("strobe_component_up{component=\"a\"} 1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("strobe_uptime_seconds"), std::string::npos);
  r = Get(addr, "/api/v1/metrics?name=strobe_component");
  EXPECT_NE(r.body.find("\"name\":\"strobe_component_up\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("strobe_uptime"), std::string::npos);

  d.RequestStop();
  EXPECT_EQ(d.Run(), 0);
  EXPECT_EQ(log, (std::vector<std::string>{"start a", "start b", "stop b", "stop a"}));
}

TEST(DaemonTest, FailedComponentStopsTheOthers) {
  strobe::metrics::Registry registry;
  std::vector<std::string> log;
  Daemon d(Options(registry));
  d.AddComponent(std::make_unique<FakeComponent>("a", &log));
  auto b = std::make_unique<FakeComponent>("b", &log);
  b->fail_start = true;
  d.AddComponent(std::move(b));
  d.AddComponent(std::make_unique<FakeComponent>("c", &log));
  strobe::Status s = d.Start();
  EXPECT_EQ(s.code(), strobe::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "component b: port busy");
  EXPECT_EQ(log, (std::vector<std::string>{"start a", "start b", "stop a"}));
}

TEST(DaemonTest, ReloadAppliesReloadableKeysAndKeepsOthers) {
  strobe::metrics::Registry registry;
  std::vector<std::string> log;
  DaemonOptions o = Options(registry);
  o.load.file = "strobe.yaml";
  o.load.text = "host:\n  interval: 250ms\nlisten:\n  wire: off\n";
  Daemon d(std::move(o));
  auto a = std::make_unique<FakeComponent>("a", &log);
  FakeComponent* a_ptr = a.get();
  d.AddComponent(std::move(a));
  ASSERT_TRUE(d.Start().ok());
  ASSERT_TRUE(d.Reload().ok());
  EXPECT_EQ(a_ptr->reload_interval, std::chrono::milliseconds(250));
  config::Config c = d.CurrentConfig();
  EXPECT_EQ(c.host.interval, std::chrono::milliseconds(250));
  EXPECT_TRUE(c.wire.enabled);  // needs a restart: the running value stays
  EXPECT_TRUE(d.Shutdown().ok());
}

// SIGHUP after the config path became a directory used to kill the daemon (an exception out
// of yaml-cpp). Now the reload fails, the running configuration stays, and the failure is
// counted in strobe_config_reloads_total{result="error"} and shown in the status.
TEST(DaemonTest, FailedReloadKeepsTheRunningConfigAndIsCounted) {
  strobe::metrics::Registry registry;
  std::vector<std::string> log;
  const std::string path = ::testing::TempDir() + "strobe_reload_" + std::to_string(getpid());
  { std::ofstream(path) << "host:\n  interval: 250ms\n"; }
  DaemonOptions o = Options(registry);
  o.load.file = path;
  o.config = *config::Load(o.load);
  Daemon d(std::move(o));
  d.AddComponent(std::make_unique<FakeComponent>("a", &log));
  ASSERT_TRUE(d.Start().ok());
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  strobe::Status s = d.Reload();
  EXPECT_EQ(s.message(), path + ": cannot read: is a directory");
  EXPECT_EQ(d.CurrentConfig().host.interval, std::chrono::milliseconds(250));
  Reply r = Get(d.HttpAddress(), "/metrics");
  EXPECT_NE(r.body.find("strobe_config_reloads_total{result=\"error\"} 1"), std::string::npos)
      << r.body;
  r = Get(d.HttpAddress(), "/api/v1/status");
  EXPECT_NE(r.body.find("\"last_reload\":\"error: " + path + ": cannot read: is a directory\""),
            std::string::npos)
      << r.body;
  ::rmdir(path.c_str());
  EXPECT_TRUE(d.Shutdown().ok());
}

// A component that refuses the new configuration makes the reload a failure: counted as an
// error (not ok), Reload() returns the component's error and the status names it; the other
// components still get the new configuration.
TEST(DaemonTest, ComponentReloadFailureIsCountedAsError) {
  strobe::metrics::Registry registry;
  std::vector<std::string> log;
  DaemonOptions o = Options(registry);
  o.load.file = "strobe.yaml";
  o.load.text = "host:\n  interval: 250ms\n";
  Daemon d(std::move(o));
  auto a = std::make_unique<FakeComponent>("a", &log);
  auto b = std::make_unique<FakeComponent>("b", &log);
  a->fail_reload = true;
  FakeComponent* b_ptr = b.get();
  d.AddComponent(std::move(a));
  d.AddComponent(std::move(b));
  ASSERT_TRUE(d.Start().ok());
  strobe::Status s = d.Reload();
  EXPECT_EQ(s.code(), strobe::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "component a: rule file broken");
  EXPECT_EQ(b_ptr->reload_interval, std::chrono::milliseconds(250));
  Reply r = Get(d.HttpAddress(), "/metrics");
  EXPECT_NE(r.body.find("strobe_config_reloads_total{result=\"error\"} 1"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("strobe_config_reloads_total{result=\"ok\"} 0"), std::string::npos)
      << r.body;
  r = Get(d.HttpAddress(), "/api/v1/status");
  EXPECT_NE(r.body.find("\"reloads_ok\":0,\"reloads_failed\":1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"last_reload\":\"error: component a: rule file broken\""),
            std::string::npos)
      << r.body;
  EXPECT_TRUE(d.Shutdown().ok());
}

}  // namespace
}  // namespace strobed::daemon
