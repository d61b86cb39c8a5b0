#include "strobed/base/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "strobed/base/compression.h"

namespace strobed::base {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;

constexpr char kOk[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// A local HTTP server on its own thread that answers each request with the next scripted raw
// response (kOk when the script is empty) and records what it received.
class TestServer {
 public:
  struct Step {
    std::string response;
    bool close_after = false;  // close the connection after answering
  };
  struct Received {
    std::string method, target, body;
    std::string content_encoding, host, user_agent, custom;
  };

  explicit TestServer(const char* address = "127.0.0.1")
      : acceptor_(ioc_, tcp::endpoint(net::ip::make_address(address), 0)) {
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestServer() {
    ioc_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void Script(Step step) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(step));
  }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  int accepted() {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_;
  }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(TestServer& s, tcp::socket sock) : server(s), socket(std::move(sock)) {}
    void Read() {
      req = {};
      http::async_read(socket, buffer, req,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (!ec) self->Answer();
                       });
    }
    void Answer() {
      Step step{kOk, false};
      {
        std::lock_guard<std::mutex> lock(server.mu_);
        Received r{std::string(req.method_string()),
                   std::string(req.target()),
                   req.body(),
                   std::string(req[http::field::content_encoding]),
                   std::string(req[http::field::host]),
                   std::string(req[http::field::user_agent]),
                   std::string(req["X-Custom"])};
        server.received_.push_back(std::move(r));
        if (!server.script_.empty()) {
          step = std::move(server.script_.front());
          server.script_.pop_front();
        }
      }
      out = std::move(step.response);
      net::async_write(
          socket, net::buffer(out),
          [self = shared_from_this(), close = step.close_after](beast::error_code ec, std::size_t) {
            if (ec) return;
            if (close) {
              beast::error_code ignored;
              self->socket.shutdown(tcp::socket::shutdown_both, ignored);
              self->socket.close(ignored);
              return;
            }
            self->Read();
          });
    }
    TestServer& server;
    tcp::socket socket;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    std::string out;
  };

  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++accepted_;
      }
      std::make_shared<Session>(*this, std::move(socket))->Read();
      Accept();
    });
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::deque<Step> script_;
  std::vector<Received> received_;
  int accepted_ = 0;
};

// A request (designated initializers would trip g++ 12's -Wmissing-field-initializers).
HttpRequest Req(std::string_view target, std::string_view body = {},
                std::string_view method = "POST") {
  HttpRequest r;
  r.method = method;
  r.target = target;
  r.body = body;
  return r;
}

std::unique_ptr<HttpClient> ClientFor(const std::string& url, HttpClientOptions options = {}) {
  auto u = ParseUrl(url);
  EXPECT_TRUE(u.ok()) << u.status().ToString();
  auto c = HttpClient::Create(*u, std::move(options));
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

TEST(HttpClientTest, PostsWithHeadersAndReusesTheConnection) {
  TestServer server;
  auto client = ClientFor("http://127.0.0.1:" + std::to_string(server.port()));
  std::vector<HttpHeader> headers = {{"X-Custom", "v1"}};
  for (int i = 0; i < 3; ++i) {
    HttpRequest req = Req("/v1/traces", "payload");
    req.content_type = "application/x-protobuf";
    req.headers = headers;
    auto res = client->Send(req);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->status, 200);
    EXPECT_TRUE(res->ok());
    EXPECT_EQ(res->body, "ok");
    EXPECT_EQ(res->Header("content-length"), "2");  // case-insensitive lookup
  }
  EXPECT_EQ(client->connections_opened(), 1u);
  EXPECT_EQ(server.accepted(), 1);
  auto got = server.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/v1/traces");
  EXPECT_EQ(got[0].body, "payload");
  EXPECT_EQ(got[0].custom, "v1");
  EXPECT_EQ(got[0].user_agent, "strobe");
  EXPECT_EQ(got[0].host, "127.0.0.1:" + std::to_string(server.port()));
}

TEST(HttpClientTest, ReconnectsWhenTheServerClosesTheConnection) {
  TestServer server;
  auto client = ClientFor("http://127.0.0.1:" + std::to_string(server.port()));
  // First answer says Connection: close; the second closes silently after answering (a
  // server dropping an idle kept-alive connection): the third request reconnects by itself.
  server.Script({"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", true});
  server.Script({"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true});
  for (int i = 0; i < 3; ++i) {
    auto res = client->Send(Req("/", "x"));
    ASSERT_TRUE(res.ok()) << i << ": " << res.status().ToString();
    EXPECT_EQ(res->status, 200);
  }
  EXPECT_EQ(client->connections_opened(), 3u);
  EXPECT_EQ(server.received().size(), 3u);  // no request was sent twice
}

TEST(HttpClientTest, Ipv6Loopback) {
  std::unique_ptr<TestServer> server;
  try {
    server = std::make_unique<TestServer>("::1");
  } catch (const std::exception&) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  auto client = ClientFor("http://[::1]:" + std::to_string(server->port()) + "/base");
  auto res = client->Send(Req("/x", {}, "GET"));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(server->received()[0].host, "[::1]:" + std::to_string(server->port()));
}

TEST(HttpClientTest, StatusesAndHeadersAreReturnedNotErrors) {
  TestServer server;
  server.Script(
      {"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 4\r\n"
       "\r\nbusy"});
  auto client = ClientFor("http://127.0.0.1:" + std::to_string(server.port()));
  auto res = client->Send(Req("/"));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 503);
  EXPECT_FALSE(res->ok());
  EXPECT_EQ(res->body, "busy");
  EXPECT_EQ(res->Header("Retry-After"), "2");
  EXPECT_EQ(res->Header("X-Absent"), "");
}

TEST(HttpClientTest, GzipRequestAndResponseBodies) {
  TestServer server;
  const std::string text(10'000, 'a');
  const std::string packed = GzipCompress("decoded response", 6);
  server.Script({"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
                 std::to_string(packed.size()) + "\r\n\r\n" + packed});
  HttpClientOptions options;
  options.accept_gzip = true;
  auto client = ClientFor("http://127.0.0.1:" + std::to_string(server.port()), options);
  HttpRequest req = Req("/", text);
  req.gzip_body = true;
  auto res = client->Send(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->body, "decoded response");
  EXPECT_EQ(res->Header("Content-Encoding"), "gzip");  // headers as received
  auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].content_encoding, "gzip");
  EXPECT_LT(got[0].body.size(), text.size());
  auto inflated = Decompress(ContentEncoding::kGzip, got[0].body, 1 << 20);
  ASSERT_TRUE(inflated.ok());
  EXPECT_EQ(*inflated, text);
}

TEST(HttpClientTest, RefusesOversizedAndCorruptResponses) {
  TestServer server;
  server.Script({"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x')});
  server.Script({"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nbad"});
  server.Script({"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nbad"});
  // A refusal keeps its status although its text cannot be read: a 503 is retried, not
  // mistaken for a malformed exchange (found by otlp_http_response_fuzz_test in CI).
  server.Script({"HTTP/1.1 503 Busy\r\nContent-Encoding: g d\r\nContent-Length: 3\r\n\r\nbad"});
  server.Script({"HTTP/1.1 429 Slow\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nbad"});
  HttpClientOptions options;
  options.max_response_bytes = 10;
  auto client = ClientFor("http://127.0.0.1:" + std::to_string(server.port()), options);
  auto big = client->Send(Req("/"));
  EXPECT_EQ(big.status().code(), strobe::StatusCode::kResourceExhausted)
      << big.status().ToString() << (big.ok() ? big->body : "");
  auto corrupt = client->Send(Req("/"));
  EXPECT_EQ(corrupt.status().code(), strobe::StatusCode::kInvalidArgument)
      << corrupt.status().ToString();
  auto unknown = client->Send(Req("/"));
  EXPECT_EQ(unknown.status().code(), strobe::StatusCode::kInvalidArgument)
      << unknown.status().ToString();
  for (int want : {503, 429}) {
    auto refused = client->Send(Req("/"));
    ASSERT_TRUE(refused.ok()) << refused.status().ToString();
    EXPECT_EQ(refused->status, want);
    EXPECT_EQ(refused->body, "");
  }
}

TEST(HttpClientTest, RefusesHeaderInjectionAndHttps) {
  TestServer server;
  auto client = ClientFor("http://127.0.0.1:" + std::to_string(server.port()));
  std::vector<HttpHeader> bad = {{"X-A", "v\r\nX-Injected: 1"}};
  HttpRequest req = Req("/");
  req.headers = bad;
  auto res = client->Send(req);
  EXPECT_EQ(res.status().code(), strobe::StatusCode::kInvalidArgument);
  EXPECT_TRUE(server.received().empty());
  auto https = HttpClient::Create(*ParseUrl("https://127.0.0.1:1/"));
  EXPECT_EQ(https.status().code(), strobe::StatusCode::kUnimplemented);
}

TEST(HttpClientTest, RefusedConnectionIsUnavailable) {
  uint16_t port;
  {
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens on `port` now
  auto client = ClientFor("http://127.0.0.1:" + std::to_string(port));
  auto res = client->Send(Req("/"));
  EXPECT_EQ(res.status().code(), strobe::StatusCode::kUnavailable) << res.status().ToString();
  EXPECT_EQ(client->connections_opened(), 0u);
}

TEST(HttpClientTest, RequestTimeoutAgainstAServerThatNeverAnswers) {
  // A listening socket that never accepts: the kernel completes the handshake (backlog) and
  // takes the small request, and no answer ever comes.
  net::io_context ioc;
  tcp::acceptor silent(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  HttpClientOptions options;
  options.request_timeout = milliseconds(200);
  auto client =
      ClientFor("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()), options);
  auto start = std::chrono::steady_clock::now();
  auto res = client->Send(Req("/", "hello"));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(res.status().code(), strobe::StatusCode::kDeadlineExceeded) << res.status().ToString();
  EXPECT_GE(elapsed, milliseconds(190));
  EXPECT_LT(elapsed, milliseconds(5000));
  // A per-request timeout overrides the client's.
  start = std::chrono::steady_clock::now();
  HttpRequest quick = Req("/");
  quick.timeout = milliseconds(50);
  res = client->Send(quick);
  elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(res.status().code(), strobe::StatusCode::kDeadlineExceeded);
  EXPECT_LT(elapsed, milliseconds(190));
}

// Cancel() from another thread ends a Send that waits on a server that never answers (the
// shutdown of an exporter whose backend hangs), and every later Send fails at once.
TEST(HttpClientTest, CancelEndsASendWaitingForAnAnswer) {
  net::io_context ioc;
  tcp::acceptor silent(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  HttpClientOptions options;
  options.request_timeout = std::chrono::seconds(30);
  auto client =
      ClientFor("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()), options);
  std::atomic<bool> sending{false};
  strobe::Status result;
  auto start = std::chrono::steady_clock::now();
  std::thread sender([&] {
    sending = true;
    result = client->Send(Req("/", "hello")).status();
  });
  while (!sending.load()) std::this_thread::yield();
  // Whether Cancel lands before the connect, during it or in the wait for the answer, Send
  // returns promptly: each of those checks the flag or polls the eventfd.
  client->Cancel();
  sender.join();
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.code(), strobe::StatusCode::kUnavailable) << result.ToString();
  EXPECT_LT(elapsed, milliseconds(5000));  // not the 30 s request timeout
  start = std::chrono::steady_clock::now();
  auto again = client->Send(Req("/"));
  EXPECT_EQ(again.status().code(), strobe::StatusCode::kUnavailable);
  EXPECT_NE(again.status().message().find("cancelled"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
}

TEST(RetryAfterTest, SecondsAndHttpDates) {
  using std::chrono::seconds;
  // 1994-11-06T08:49:37Z
  const auto now = std::chrono::system_clock::time_point(seconds(784111777));
  EXPECT_EQ(ParseRetryAfter("120", now), seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), seconds(0));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:39 GMT", now), seconds(2));
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:50:37 GMT", now), seconds(60));
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:47 1994", now), seconds(10));
  EXPECT_EQ(ParseRetryAfter("Sat, 05 Nov 1994 08:49:37 GMT", now), seconds(0));  // past
  EXPECT_EQ(ParseRetryAfter("Mon, 07 Nov 1994 08:49:37 GMT", now), seconds(86400));
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", now)->count() > 0, true);  // saturates
  for (const char* bad :
       {"", "-1", "1.5", "soon", "Sun, 06 Nov 1994 08:49:37 CET", "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "12abc"}) {
    EXPECT_FALSE(ParseRetryAfter(bad, now).has_value()) << bad;
  }
}

}  // namespace
}  // namespace strobed::base
