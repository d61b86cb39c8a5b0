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

#include "strobed/server/http_server.h"

namespace strobed::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// A blocking test client: one connection, raw writes, parsed responses.
class Client {
 public:
  explicit Client(uint16_t port, int timeout_s = 20) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    // Reads give up after the timeout: a server that never answers fails the test instead of
    // hanging it.
    timeval tv{timeout_s, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  void SendRaw(std::string_view bytes) {
    beast::error_code ec;  // the server may close first (it answered early); reads tell
    net::write(socket_, net::buffer(bytes), ec);
  }
  // Reads one response; status 0 when the connection closed first.
  http::response<http::string_body> Read() {
    http::response<http::string_body> res;
    beast::error_code ec;
    http::read(socket_, buffer_, res, ec);
    if (ec) res.result(0);
    return res;
  }
  http::response<http::string_body> Get(std::string_view target, std::string_view extra = "") {
    SendRaw("GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra) +
            "\r\n");
    return Read();
  }
  // True when the server closed the connection (read returns EOF) within the socket timeout.
  bool ClosedByPeer() {
    char c;
    beast::error_code ec;
    socket_.read_some(net::buffer(&c, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

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
  o.auth_token = "secret";
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

}  // namespace
}  // namespace strobed::server
