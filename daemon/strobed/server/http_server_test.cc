#include "strobed/server/http_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <future>
#include <set>
#include <thread>

#include "strobed/server/testing_client.h"

namespace strobed::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using Client = testing::RawClient;

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions o = {}) {
    o.port = 0;
    server_ = std::make_unique<HttpServer>(o, router_);
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->BoundPort();
    ASSERT_NE(port_, 0);
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

TEST_F(HttpServerTest, ServesRoutesWithKeepAlive) {
  router_.Handle("GET", "/hello", [](const Request& r) {
    return Response::Text(200, "hi " + r.QueryParam("name").value_or("?") + " " + r.route);
  });
  StartServer();
  Client c(port_);
  auto a = c.Get("/hello?name=bob");
  EXPECT_EQ(a.result_int(), 200);
  EXPECT_EQ(a.body(), "hi bob /hello");
  EXPECT_TRUE(a.keep_alive());
  auto b = c.Get("/hello");  // same connection
  EXPECT_EQ(b.result_int(), 200);
  EXPECT_EQ(server_->stats().connections_accepted.load(), 1u);
  EXPECT_EQ(server_->stats().requests.load(), 2u);
}

TEST_F(HttpServerTest, HeadHasLengthButNoBody) {
  router_.Handle("GET", "/x", [](const Request&) { return Response::Text(200, "12345"); });
  StartServer();
  Client c(port_);
  c.SendRaw("HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n");
  auto head = c.ReadHeadResponse();
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[http::field::content_length], "5");
  EXPECT_EQ(c.Get("/x").body(), "12345");  // nothing was left on the wire by HEAD
}

TEST_F(HttpServerTest, UnknownPathIs404JsonAndWrongMethodIs405) {
  router_.Handle("POST", "/v1/traces", [](const Request&) { return Response::Text(200, ""); });
  StartServer();
  Client c(port_);
  auto a = c.Get("/nope");
  EXPECT_EQ(a.result_int(), 404);
  EXPECT_EQ(a[http::field::content_type], "application/json");
  EXPECT_NE(a.body().find("\"code\":404"), std::string::npos);
  EXPECT_NE(a.body().find("no route for /nope"), std::string::npos);
  auto b = c.Get("/v1/traces");
  EXPECT_EQ(b.result_int(), 405);
  EXPECT_EQ(b[http::field::allow], "POST");
}

TEST_F(HttpServerTest, BodyLimitByContentLengthAndByChunks) {
  router_.Handle(
      "POST", "/in",
      [](const Request& r) { return Response::Text(200, std::to_string(r.body.size())); },
      {.max_body_bytes = 10});
  StartServer();
  {
    Client c(port_);
    c.SendRaw("POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n");
    auto r = c.Read();
    EXPECT_EQ(r.result_int(), 413);
    EXPECT_NE(r.body().find("exceeds the limit of 10 bytes"), std::string::npos);
  }
  {
    Client c(port_);
    c.SendRaw(
        "POST /in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n");
    EXPECT_EQ(c.Read().result_int(), 413);
  }
  {
    Client c(port_);
    c.SendRaw(
        "POST /in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\nabcd\r\n5\r\nefghi\r\n0\r\n\r\n");
    auto r = c.Read();
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), "9");
  }
  EXPECT_EQ(server_->stats().body_too_large.load(), 2u);
}

TEST_F(HttpServerTest, LargeBodyRouteBesideSmallOne) {
  router_.Handle(
      "POST", "/big",
      [](const Request& r) { return Response::Text(200, std::to_string(r.body.size())); },
      {.max_body_bytes = 8 << 20});
  StartServer();
  Client c(port_);
  std::string body(3 << 20, 'x');
  c.SendRaw("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n\r\n" + body);
  auto r = c.Read();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), std::to_string(3 << 20));
}

TEST_F(HttpServerTest, BearerTokenRequiredExceptOnOpenRoutes) {
  router_.Handle("GET", "/secret", [](const Request&) { return Response::Text(200, "s"); });
  router_.Handle("GET", "/healthz", [](const Request&) { return Response::Text(200, "ok"); },
                 {.require_auth = false});
  ServerOptions o;
  auto auth = Authenticator::WithTokens({"s3cret"});
  o.auth = auth;
  StartServer(o);
  Client c(port_);
  auto a = c.Get("/secret");
  EXPECT_EQ(a.result_int(), 401);
  EXPECT_EQ(a[http::field::www_authenticate], "Bearer realm=\"strobe\"");
  EXPECT_EQ(c.Get("/secret", "Authorization: Bearer wrong\r\n").result_int(), 401);
  EXPECT_EQ(c.Get("/secret", "Authorization: Bearer s3cret\r\n").result_int(), 200);
  EXPECT_EQ(c.Get("/secret", "Authorization: bearer s3cret\r\n").result_int(), 200);
  EXPECT_EQ(c.Get("/healthz").result_int(), 200);
  ASSERT_TRUE(auth->Set({}).ok());
  EXPECT_EQ(c.Get("/secret").result_int(), 200);
  EXPECT_EQ(server_->stats().unauthorized.load(), 2u);
}

TEST_F(HttpServerTest, OversizedHeadIs431AndGarbageIs400) {
  router_.Handle("GET", "/x", [](const Request&) { return Response::Text(200, ""); });
  ServerOptions o;
  o.max_header_bytes = 1024;
  StartServer(o);
  {
    Client c(port_);
    auto r = c.Get("/x", "X-Big: " + std::string(2000, 'a') + "\r\n");
    EXPECT_EQ(r.result_int(), 431);
  }
  {
    Client c(port_);
    c.SendRaw("NOT HTTP AT ALL\r\n\r\n");
    auto r = c.Read();
    EXPECT_EQ(r.result_int(), 400);
    EXPECT_NE(r.body().find("malformed HTTP request"), std::string::npos);
  }
}

TEST_F(HttpServerTest, HandlerExceptionIs500) {
  router_.Handle("GET", "/boom",
                 [](const Request&) -> Response { throw std::runtime_error("kaput"); });
  StartServer();
  Client c(port_);
  auto r = c.Get("/boom");
  EXPECT_EQ(r.result_int(), 500);
  EXPECT_NE(r.body().find("kaput"), std::string::npos);
  EXPECT_EQ(server_->stats().handler_exceptions.load(), 1u);
}

// A body that arrives in pieces (the server's buffer grows with what arrives) comes through
// byte for byte.
// An asynchronous route answers later from another thread; meanwhile the one I/O thread serves
// other connections. The first answer wins; a throwing async handler gets 500.
TEST_F(HttpServerTest, AsyncRouteAnswersLaterWithoutBlockingTheIoThread) {
  std::promise<Responder> pending;
  router_.HandleAsync("GET", "/slow", [&](const Request& r, Responder respond) {
    EXPECT_EQ(r.QueryParam("x").value_or(""), "1");
    pending.set_value(std::move(respond));
  });
  router_.HandleAsync("GET", "/throws",
                      [](const Request&, Responder) { throw std::runtime_error("boom"); });
  router_.Handle("GET", "/fast", [](const Request&) { return Response::Text(200, "fast"); });
  StartServer();  // threads = 1
  Client a(port_);
  a.SendRaw("GET /slow?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  Responder respond = pending.get_future().get();  // the handler ran and returned
  Client b(port_);
  EXPECT_EQ(b.Get("/fast").body(), "fast");  // not blocked by /slow
  std::thread later([&] {
    respond(Response::Text(200, "late"));
    respond(Response::Text(500, "ignored"));
  });
  later.join();
  auto r = a.Read();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "late");
  EXPECT_TRUE(r.keep_alive());
  EXPECT_EQ(a.Get("/fast").body(), "fast");  // the connection goes on
  EXPECT_EQ(b.Get("/throws").result_int(), 500);
  EXPECT_EQ(server_->stats().handler_exceptions.load(), 1u);
}

TEST_F(HttpServerTest, BodyArrivingInPiecesIsIntact) {
  router_.Handle("POST", "/echo-sum",
                 [](const Request& r) {
                   uint64_t sum = 0;
                   for (size_t i = 0; i < r.body.size(); ++i) {
                     sum += static_cast<unsigned char>(r.body[i]) * (i % 251 + 1);
                   }
                   return Response::Text(200,
                                         std::to_string(r.body.size()) + " " + std::to_string(sum));
                 },
                 {.max_body_bytes = 8 << 20});
  StartServer();
  std::string body(1'500'000, '\0');
  uint64_t want = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>((i * 7 + i / 1000) & 0xff);
    want += static_cast<unsigned char>(body[i]) * (i % 251 + 1);
  }
  Client c(port_);
  c.SendRaw("POST /echo-sum HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n\r\n" + body.substr(0, 1000));
  for (size_t at = 1000; at < body.size(); at += 300'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    c.SendRaw(std::string_view(body).substr(at, 300'000));
  }
  auto r = c.Read();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), std::to_string(body.size()) + " " + std::to_string(want));
}

// Requests written back to back in one segment: each body ends where its Content-Length says
// and the next request is read from the bytes after it.
TEST_F(HttpServerTest, PipelinedRequestsWithBodies) {
  router_.Handle("POST", "/in",
                 [](const Request& r) { return Response::Text(200, "<" + r.body + ">"); });
  router_.Handle("GET", "/x", [](const Request&) { return Response::Text(200, "x"); });
  StartServer();
  Client c(port_);
  c.SendRaw(
      "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
      "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
      "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(c.Read().body(), "<hello>");
  EXPECT_EQ(c.Read().body(), "<abc>");
  EXPECT_EQ(c.Read().body(), "x");
  EXPECT_EQ(c.Read().body(), "<>");
  // The body's tail read from the socket (not from what came with the head) and the next
  // request in the same segment: the read stops at Content-Length.
  c.SendRaw("POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  c.SendRaw("cdefGET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.Read().body(), "<abcdef>");
  EXPECT_EQ(c.Read().body(), "x");
  EXPECT_EQ(server_->stats().requests.load(), 6u);
}

TEST_F(HttpServerTest, ExpectContinueGetsInterim100) {
  router_.Handle("POST", "/in",
                 [](const Request& r) { return Response::Text(200, "<" + r.body + ">"); });
  StartServer();
  Client c(port_);
  c.SendRaw("POST /in HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(c.ReadRawHead(), "HTTP/1.1 100 Continue\r\n\r\n");
  c.SendRaw("hello");
  EXPECT_EQ(c.Read().body(), "<hello>");
  // A body over the limit is refused without the go-ahead.
  router_.Handle("POST", "/small", [](const Request&) { return Response::Text(200, "x"); },
                 {.max_body_bytes = 4});
  Client d(port_);
  d.SendRaw("POST /small HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(d.Read().result_int(), 413);
  // HTTP/1.0 knows no 100: the expectation is ignored and the final response is the only one.
  Client e(port_);
  e.SendRaw("POST /in HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  e.SendRaw("hello");
  auto r = e.Read();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "<hello>");
}

TEST_F(HttpServerTest, SlowBodyGets408) {
  router_.Handle("POST", "/in", [](const Request& r) { return Response::Text(200, r.body); });
  ServerOptions o;
  o.body_timeout = std::chrono::milliseconds(500);
  StartServer(o);
  Client c(port_);
  c.SendRaw("POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  auto r = c.Read();
  EXPECT_EQ(r.result_int(), 408);
  EXPECT_NE(r.body().find("not received within the timeout"), std::string::npos);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_EQ(server_->stats().timeouts.load(), 1u);
  EXPECT_TRUE(c.ClosedByPeer());
  // A body that arrives in time leaves no timer behind: the keep-alive connection, quiet for
  // longer than body_timeout, serves its next request. The interim 100 says the server has
  // read the head and armed the body timer (a signal, not a sleep); the body follows at once.
  Client k(port_);
  k.SendRaw("POST /in HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  EXPECT_EQ(k.ReadRawHead(), "HTTP/1.1 100 Continue\r\n\r\n");
  k.SendRaw("abcd");
  EXPECT_EQ(k.Read().body(), "abcd");
  // Time itself must pass here (the timer would fire after body_timeout): not a synchronisation.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  k.SendRaw("POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nef");
  auto again = k.Read();
  EXPECT_EQ(again.result_int(), 200);
  EXPECT_EQ(again.body(), "ef");
  EXPECT_EQ(server_->stats().timeouts.load(), 1u);
}

// Each connection lives on one I/O thread; the acceptor deals them out in turn.
TEST_F(HttpServerTest, ConnectionsAreSpreadOverTheIoThreads) {
  router_.Handle("GET", "/who", [](const Request&) {
    return Response::Text(200,
                          std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())));
  });
  ServerOptions o;
  o.threads = 3;
  StartServer(o);
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<std::string> thread_of;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<Client>(port_));
    // Served before the next connects: the accept order is the connect order.
    auto r = clients.back()->Get("/who");
    EXPECT_EQ(r.result_int(), 200);
    thread_of.push_back(r.body());
  }
  EXPECT_EQ(std::set<std::string>(thread_of.begin(), thread_of.end()).size(), 3u);
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < clients.size(); ++i) {
      EXPECT_EQ(clients[i]->Get("/who").body(), thread_of[i]) << "connection " << i;
    }
  }
}

TEST_F(HttpServerTest, SlowHeadIsCutOffByTimeout) {
  ServerOptions o;
  o.read_header_timeout = std::chrono::milliseconds(200);
  StartServer(o);
  Client c(port_);
  c.SendRaw("GET / HTTP/1.1\r\nHost: x\r\n");  // never finishes the head
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByPeer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // Beast's stream closes the socket when its timer fires, before the read handler that
  // counts the timeout has run: the client can see the close first.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server_->stats().timeouts.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(server_->stats().timeouts.load(), 1u);
}

TEST_F(HttpServerTest, SlowSecondHeadOnKeepAliveIsCutOffToo) {
  router_.Handle("GET", "/x", [](const Request&) { return Response::Text(200, "x"); });
  ServerOptions o;
  o.read_header_timeout = std::chrono::milliseconds(200);
  o.idle_timeout = std::chrono::seconds(60);
  StartServer(o);
  Client c(port_);
  EXPECT_EQ(c.Get("/x").result_int(), 200);
  c.SendRaw("GET /x HTTP/1.1\r\nHost:");  // starts the next head, never finishes it
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByPeer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  router_.Handle("GET", "/x", [](const Request&) { return Response::Text(200, "x"); });
  ServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(200);
  StartServer(o);
  Client c(port_);
  EXPECT_EQ(c.Get("/x").result_int(), 200);
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(HttpServerTest, ShutdownLetsInFlightRequestFinish) {
  std::promise<void> entered;
  std::promise<void> release;
  auto release_future = release.get_future().share();
  router_.Handle("GET", "/slow", [&](const Request&) {
    entered.set_value();
    release_future.wait();
    return Response::Text(200, "done");
  });
  ServerOptions o;
  o.threads = 2;  // one thread is held by the handler; the other closes the idle connection
  StartServer(o);
  Client idle(port_);  // an idle keep-alive connection: closed by the drain
  auto result = std::async(std::launch::async, [&] {
    Client c(port_);
    return c.Get("/slow");
  });
  entered.get_future().wait();
  EXPECT_EQ(server_->InFlight(), 1);
  auto shutdown =
      std::async(std::launch::async, [&] { return server_->Shutdown(std::chrono::seconds(10)); });
  EXPECT_TRUE(idle.ClosedByPeer());
  release.set_value();
  auto res = result.get();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "done");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(shutdown.get().ok());
  server_.reset();
}

TEST_F(HttpServerTest, ShutdownReportsRequestsPastTheGracePeriod) {
  std::promise<void> entered;
  std::promise<void> release;
  auto release_future = release.get_future().share();
  router_.Handle("GET", "/stuck", [&](const Request&) {
    entered.set_value();
    release_future.wait();
    return Response::Text(200, "late");
  });
  StartServer();
  auto result = std::async(std::launch::async, [&] {
    Client c(port_);
    return c.Get("/stuck");
  });
  entered.get_future().wait();
  auto shutdown = std::async(std::launch::async,
                             [&] { return server_->Shutdown(std::chrono::milliseconds(1)); });
  // The handler holds its I/O thread; Shutdown can join only after it returns, but it must
  // report that the grace period was exceeded.
  // Shutdown only has to reach its wait within this margin; no result depends on the exact time.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  release.set_value();
  strobe::Status s = shutdown.get();
  EXPECT_EQ(s.code(), strobe::StatusCode::kDeadlineExceeded) << s.ToString();
  result.get();
  server_.reset();
}

TEST_F(HttpServerTest, SecondServerOnSamePortFailsClearly) {
  StartServer();
  ServerOptions o;
  o.port = port_;
  HttpServer second(o, router_);
  strobe::Status s = second.Start();
  EXPECT_EQ(s.code(), strobe::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("already in use"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("another strobe serve"), std::string::npos);
}

TEST_F(HttpServerTest, WebSocketEcho) {
  std::atomic<int> opened{0};
  std::atomic<int> closed{0};
  WebSocketHandlers h;
  h.on_open = [&](std::shared_ptr<WebSocketConnection> c) {
    ++opened;
    c->SendText("welcome");
  };
  h.on_message = [](WebSocketConnection& c, std::string_view text) {
    c.SendText("echo:" + std::string(text));
  };
  h.on_close = [&](WebSocketConnection&) { ++closed; };
  router_.HandleWebSocket("/ws", h);
  StartServer();
  {
    Client plain(port_);
    EXPECT_EQ(plain.Get("/ws").result_int(), 426);
  }
  net::io_context ioc;
  beast::websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  ws.handshake("127.0.0.1", "/ws");
  beast::flat_buffer buf;
  ws.read(buf);
  EXPECT_EQ(beast::buffers_to_string(buf.data()), "welcome");
  buf.consume(buf.size());
  ws.write(net::buffer(std::string("ping")));
  ws.read(buf);
  EXPECT_EQ(beast::buffers_to_string(buf.data()), "echo:ping");
  ws.close(beast::websocket::close_code::normal);
  EXPECT_EQ(opened.load(), 1);
  EXPECT_TRUE(server_->Shutdown(std::chrono::seconds(5)).ok());
  EXPECT_EQ(closed.load(), 1);
  server_.reset();
}

// A WebSocket stream authenticated at its upgrade must not outlive its token: after a rotation
// that revokes it, the next message in either direction closes the stream (1008), counted as
// unauthorized; a stream whose token stays accepted is not disturbed by the rotation.
TEST_F(HttpServerTest, WebSocketClosesWhenItsTokenIsRevoked) {
  WebSocketHandlers h;
  h.on_message = [](WebSocketConnection& c, std::string_view text) {
    c.SendText("echo:" + std::string(text));
  };
  router_.HandleWebSocket("/ws", h);
  ServerOptions o;
  auto auth = Authenticator::WithTokens({"old", "kept"});
  o.auth = auth;
  StartServer(o);
  net::io_context ioc;
  auto open = [&](const std::string& token) {
    auto ws = std::make_unique<beast::websocket::stream<tcp::socket>>(ioc);
    ws->next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    ws->set_option(
        beast::websocket::stream_base::decorator([token](beast::websocket::request_type& req) {
          req.set(http::field::authorization, "Bearer " + token);
        }));
    ws->handshake("127.0.0.1", "/ws");
    return ws;
  };
  auto revoked = open("old");
  auto kept = open("kept");
  beast::flat_buffer buf;
  revoked->write(net::buffer(std::string("a")));
  revoked->read(buf);
  EXPECT_EQ(beast::buffers_to_string(buf.data()), "echo:a");
  buf.consume(buf.size());

  ASSERT_TRUE(auth->Set({"kept"}).ok());
  revoked->write(net::buffer(std::string("b")));
  beast::error_code ec;
  revoked->read(buf, ec);
  EXPECT_EQ(ec, beast::websocket::error::closed);
  EXPECT_EQ(revoked->reason().code, beast::websocket::close_code::policy_error);
  EXPECT_EQ(server_->stats().unauthorized.load(), 1u);

  kept->write(net::buffer(std::string("c")));
  kept->read(buf);
  EXPECT_EQ(beast::buffers_to_string(buf.data()), "echo:c");
  kept->close(beast::websocket::close_code::normal);
  EXPECT_TRUE(server_->Shutdown(std::chrono::seconds(5)).ok());
  server_.reset();
}

}  // namespace
}  // namespace strobed::server
