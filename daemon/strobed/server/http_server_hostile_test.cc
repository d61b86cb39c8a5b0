// Hostile clients against an in-process HttpServer (issue 14): requests that used to crash the
// process or lock out health checks. Each test drives raw bytes over a loopback socket, then
// proves the server still serves and counted what it refused.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/server/http_server.h"
#include "strobed/server/server_metrics.h"
#include "strobed/server/testing_client.h"

namespace strobed::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

using Client = testing::RawClient;

class HostileTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions o = {}) {
    o.port = 0;
    server_ = std::make_unique<HttpServer>(o, router_);
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->BoundPort();
  }
  void AddHealthRoutes() {
    router_.Handle("GET", "/healthz", [](const Request&) { return Response::Text(200, "ok"); },
                   {.require_auth = false});
    router_.Handle("POST", "/ingest", [](const Request& r) {
      return Response::Text(200, std::to_string(r.body.size()));
    });
  }
  void TearDown() override {
    if (server_) {
      EXPECT_TRUE(server_->Shutdown(std::chrono::seconds(5)).ok());
    }
  }
  Router router_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
};

std::string ChunkedWithTrailer(std::string_view head, std::string trailer_line) {
  return std::string(head) + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n" +
         trailer_line + "\r\n\r\n";
}

// Issue 14, hole 1: a trailer field of >= 64 KiB made Beast throw std::length_error out of the
// I/O thread (std::terminate). Now the connection gets 431 and is closed; the server serves on.
TEST_F(HostileTest, HugeTrailerValueIsRefusedAndServerKeepsServing) {
  AddHealthRoutes();
  ServerOptions o;
  o.auth = Authenticator::WithTokens({"secret"});
  StartServer(o);
  {
    Client c(port_);
    c.SendRaw(ChunkedWithTrailer("GET /healthz HTTP/1.1\r\nHost: x\r\n",
                                 "X-Big: " + std::string(70'000, 'a')));
    auto r = c.Read();
    EXPECT_EQ(r.result_int(), 431);
    EXPECT_TRUE(c.ClosedByPeer());
  }
  Client again(port_);
  EXPECT_EQ(again.Get("/healthz").result_int(), 200);
  EXPECT_EQ(server_->stats().header_too_large.load(), 1u);
}

TEST_F(HostileTest, HugeTrailerNameIsRefusedAndServerKeepsServing) {
  AddHealthRoutes();
  StartServer();
  {
    Client c(port_);
    c.SendRaw(ChunkedWithTrailer("POST /ingest HTTP/1.1\r\nHost: x\r\n",
                                 std::string(70'000, 'n') + ": v"));
    auto r = c.Read();
    EXPECT_EQ(r.result_int(), 431);
    EXPECT_TRUE(c.ClosedByPeer());
  }
  Client again(port_);
  EXPECT_EQ(again.Get("/healthz").result_int(), 200);
  EXPECT_EQ(server_->stats().header_too_large.load(), 1u);
}

// A trailer section that never ends must not grow the read buffer without bound either.
TEST_F(HostileTest, EndlessTrailerSectionIsCutOff) {
  AddHealthRoutes();
  StartServer();
  Client c(port_);
  std::string req =
      "POST /ingest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n";
  for (int i = 0; i < 20'000; ++i) req += "X-T" + std::to_string(i) + ": v\r\n";
  c.SendRaw(req);
  auto r = c.Read();
  EXPECT_EQ(r.result_int(), 431);
  Client again(port_);
  EXPECT_EQ(again.Get("/healthz").result_int(), 200);
}

// A handler whose response cannot be serialised (a header value Beast refuses) must not take
// the process down either.
TEST_F(HostileTest, UnserialisableResponseIs500) {
  AddHealthRoutes();
  router_.Handle("GET", "/bad", [](const Request&) {
    Response r = Response::Text(200, "x");
    r.headers.Set("X-Huge", std::string(70'000, 'v'));
    return r;
  });
  StartServer();
  Client c(port_);
  EXPECT_EQ(c.Get("/bad").result_int(), 500);
  Client again(port_);
  EXPECT_EQ(again.Get("/healthz").result_int(), 200);
  EXPECT_EQ(server_->stats().handler_exceptions.load(), 1u);
}

// Polls `done` until it holds or `limit` passes; true when it held.
template <typename F>
bool Eventually(F done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Issue 14, hole 9: max_connections idle sockets (no byte sent) locked /healthz out for the
// whole head timeout. Now the connection that has waited longest for a head is evicted.
TEST_F(HostileTest, IdleConnectionsAtTheLimitDoNotLockOutHealthChecks) {
  AddHealthRoutes();
  ServerOptions o;
  o.max_connections = 64;
  o.read_header_timeout = std::chrono::seconds(60);  // far beyond the bound asserted below
  StartServer(o);
  std::vector<std::unique_ptr<Client>> idle;
  for (uint32_t i = 0; i < o.max_connections; ++i) idle.push_back(std::make_unique<Client>(port_));
  const auto start = Clock::now();
  Client probe(port_, /*timeout_s=*/5);
  auto r = probe.Get("/healthz");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  // Ingest gets in too, and the evicted connections were closed and counted.
  Client ingest(port_, 5);
  ingest.SendRaw("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(ingest.Read().body(), "3");
  EXPECT_GE(server_->stats().connections_evicted.load(), 2u);
  EXPECT_TRUE(idle.front()->ClosedByPeer());  // the oldest went first
  EXPECT_LE(server_->stats().connections_open.load(), static_cast<int64_t>(o.max_connections));
}

// When every connection is busy with a request (nothing to evict), the reserved share still
// serves /healthz; other paths on a reserved slot get 503, counted.
TEST_F(HostileTest, ReservedShareServesHealthWhenAllConnectionsAreBusy) {
  AddHealthRoutes();
  ServerOptions o;
  o.max_connections = 8;
  o.reserved_connections = 2;
  StartServer(o);
  std::vector<std::unique_ptr<Client>> busy;
  for (int i = 0; i < 6; ++i) {
    busy.push_back(std::make_unique<Client>(port_));
    busy.back()->SendRaw("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab");
  }
  ASSERT_TRUE(Eventually([&] { return server_->InFlight() == 6; }));
  Client health(port_, 5);
  EXPECT_EQ(health.Get("/healthz").result_int(), 200);
  EXPECT_TRUE(health.ClosedByPeer());  // a reserved slot serves one request
  Client other(port_, 5);
  other.SendRaw("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  auto r = other.Read();
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_EQ(r[http::field::retry_after], "1");
  EXPECT_EQ(server_->stats().reserved_refused.load(), 1u);
  EXPECT_EQ(server_->stats().connections_evicted.load(), 0u);
  // The busy requests were not disturbed.
  busy[0]->SendRaw("cdefghij");
  EXPECT_EQ(busy[0]->Read().body(), "10");
}

TEST_F(HostileTest, PerClientLimitClosesExtraConnections) {
  AddHealthRoutes();
  ServerOptions o;
  o.max_connections_per_client = 2;
  StartServer(o);
  Client a(port_), b(port_);
  EXPECT_EQ(a.Get("/healthz").result_int(), 200);
  EXPECT_EQ(b.Get("/healthz").result_int(), 200);
  Client c(port_, 5);
  EXPECT_TRUE(c.ClosedByPeer());
  EXPECT_EQ(server_->stats().connections_per_client_rejected.load(), 1u);
  // A slot frees when a connection of that client closes.
  b.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(b.Read().result_int(), 200);
  ASSERT_TRUE(Eventually([&] { return server_->stats().connections_open.load() == 1; }));
  Client d(port_, 5);
  EXPECT_EQ(d.Get("/healthz").result_int(), 200);
}

TEST_F(HostileTest, DropsAndRefusalsAreExportedByReason) {
  AddHealthRoutes();
  strobe::metrics::Registry registry;
  ServerMetrics metrics(registry);
  ServerOptions o;
  o.max_connections = 4;
  o.reserved_connections = 1;
  o.port = 0;
  server_ = std::make_unique<HttpServer>(o, router_);
  metrics.Attach("api", *server_);  // before Start: it installs the request observer
  ASSERT_TRUE(server_->Start().ok());
  port_ = server_->BoundPort();
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 5; ++i) idle.push_back(std::make_unique<Client>(port_));
  ASSERT_TRUE(Eventually([&] { return server_->stats().connections_evicted.load() >= 2; }));
  {
    Client c(port_);
    c.SendRaw(ChunkedWithTrailer("POST /ingest HTTP/1.1\r\nHost: x\r\n",
                                 "X-Big: " + std::string(70'000, 'a')));
    EXPECT_EQ(c.Read().result_int(), 431);
  }
  std::string text =
      strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(text.find("strobe_http_dropped_connections_total{listener=\"api\",reason=\"evicted\"}"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          "strobe_http_rejected_requests_total{listener=\"api\",reason=\"header_too_large\"} 1"),
      std::string::npos)
      << text;
  // Stop the server before the registry and metrics (locals) go.
  EXPECT_TRUE(server_->Shutdown(std::chrono::seconds(5)).ok());
  metrics.Detach(*server_);
}

// Issue 14, hole 10: a 404 ignored Connection: close and HTTP/1.0 and kept the connection open.
TEST_F(HostileTest, NotFoundHonoursConnectionCloseAndHttp10) {
  AddHealthRoutes();
  StartServer();
  {
    Client c(port_);
    auto r = c.Get("/nope", "Connection: close\r\n");
    EXPECT_EQ(r.result_int(), 404);
    EXPECT_FALSE(r.keep_alive());
    EXPECT_TRUE(c.ClosedByPeer());
  }
  {
    Client c(port_);
    c.SendRaw("GET /nope HTTP/1.0\r\n\r\n");
    auto r = c.Read();
    EXPECT_EQ(r.result_int(), 404);
    EXPECT_EQ(r.version(), 10);
    EXPECT_TRUE(c.ClosedByPeer());
  }
  Client c(port_);  // keep-alive 404s keep the connection
  EXPECT_EQ(c.Get("/nope").result_int(), 404);
  EXPECT_EQ(c.Get("/healthz").result_int(), 200);
}

// server.max_body_bytes had no effect: routes that set no limit of their own now take the
// listener's.
TEST_F(HostileTest, ListenerBodyLimitAppliesToRoutesWithoutTheirOwn) {
  AddHealthRoutes();
  router_.Handle(
      "POST", "/big",
      [](const Request& r) { return Response::Text(200, std::to_string(r.body.size())); },
      {.max_body_bytes = 100});
  ServerOptions o;
  o.max_body_bytes = 10;
  StartServer(o);
  Client c(port_);
  c.SendRaw("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890");
  EXPECT_EQ(c.Read().result_int(), 413);
  Client d(port_);
  d.SendRaw("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890");
  EXPECT_EQ(d.Read().body(), "11");
}

TEST_F(HostileTest, ZeroTimeoutsAreRefusedAtStart) {
  ServerOptions o;
  o.port = 0;
  o.read_header_timeout = std::chrono::milliseconds(0);
  HttpServer s(o, router_);
  strobe::Status st = s.Start();
  EXPECT_EQ(st.code(), strobe::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("read_header_timeout"), std::string::npos) << st.message();
}

// The listener's error responder shapes every error the server answers itself.
TEST_F(HostileTest, ErrorResponderShapesServerErrors) {
  AddHealthRoutes();
  ServerOptions o;
  o.auth = Authenticator::WithTokens({"t"});
  o.error_responder = [](int status, std::string_view message, std::string_view ct) {
    return Response::Text(status, std::string(ct) + "|" + std::string(message));
  };
  StartServer(o);
  Client c(port_);
  auto r = c.Get("/nope", "Content-Type: application/json\r\n");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_EQ(r.body(), "application/json|no route for /nope");
  r = c.Get("/ingest");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(r[http::field::allow], "POST");
  c.SendRaw("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  r = c.Read();
  EXPECT_EQ(r.result_int(), 401);
  EXPECT_EQ(r.body(), "|missing bearer token (Authorization: Bearer <token>)");
}

}  // namespace
}  // namespace strobed::server
