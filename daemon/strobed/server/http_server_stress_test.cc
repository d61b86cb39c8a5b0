// Concurrency stress for HttpServer (label `stress`, run under TSan): several I/O threads,
// many keep-alive clients, WebSocket broadcasts from a foreign thread, routes added while
// serving, auth token swapped while serving, and a graceful shutdown under load.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "strobed/server/http_server.h"

namespace strobed::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

TEST(HttpServerStressTest, ManyClientsBroadcastsAndShutdown) {
  Router router;
  std::atomic<uint64_t> handled{0};
  router.Handle("POST", "/echo", [&](const Request& r) {
    handled.fetch_add(1);
    return Response::Text(200, r.body);
  });
  std::mutex clients_mu;
  std::set<std::shared_ptr<WebSocketConnection>> clients;
  WebSocketHandlers ws;
  ws.on_open = [&](std::shared_ptr<WebSocketConnection> c) {
    std::lock_guard lock(clients_mu);
    clients.insert(std::move(c));
  };
  ws.on_close = [&](WebSocketConnection& c) {
    std::lock_guard lock(clients_mu);
    for (auto it = clients.begin(); it != clients.end(); ++it) {
      if (it->get() == &c) {
        clients.erase(it);
        break;
      }
    }
  };
  ws.max_queued_bytes = 4096;  // small: slow readers drop, counted
  router.HandleWebSocket("/live", ws);

  ServerOptions o;
  o.port = 0;
  o.threads = 3;
  auto auth = Authenticator::WithTokens({"t"});
  o.auth = auth;
  HttpServer server(o, router);
  ASSERT_TRUE(server.Start().ok());
  const uint16_t port = server.BoundPort();

  std::atomic<bool> stop{false};
  std::thread broadcaster([&] {
    int n = 0;
    while (!stop.load()) {
      std::vector<std::shared_ptr<WebSocketConnection>> copy;
      {
        std::lock_guard lock(clients_mu);
        copy.assign(clients.begin(), clients.end());
      }
      for (auto& c : copy) c->SendText("tick " + std::to_string(n));
      ++n;
      std::this_thread::yield();
    }
  });
  std::thread ws_client([&] {
    net::io_context ioc;
    beast::websocket::stream<tcp::socket> s(ioc);
    s.next_layer().connect({net::ip::make_address("127.0.0.1"), port});
    s.set_option(beast::websocket::stream_base::decorator([](beast::websocket::request_type& req) {
      req.set(http::field::authorization, "Bearer t");
    }));
    s.handshake("127.0.0.1", "/live");
    beast::flat_buffer buf;
    for (int i = 0; i < 200; ++i) {
      s.read(buf);
      buf.consume(buf.size());
    }
    s.close(beast::websocket::close_code::normal);
  });
  std::thread mutator([&] {
    for (int i = 0; i < 50 && !stop.load(); ++i) {
      router.Handle("GET", "/extra/" + std::to_string(i),
                    [](const Request&) { return Response::Text(200, "x"); });
      // Rotations under load: "t" stays accepted throughout, the set around it changes.
      (void)auth->Set(i % 2 == 0 ? std::vector<std::string>{"t"}
                                 : std::vector<std::string>{"t", "u" + std::to_string(i)});
      std::this_thread::yield();
    }
  });

  constexpr int kClients = 6;
  constexpr int kRequests = 150;
  std::atomic<int> ok{0};
  std::vector<std::thread> workers;
  for (int c = 0; c < kClients; ++c) {
    workers.emplace_back([&, c] {
      net::io_context ioc;
      tcp::socket s(ioc);
      s.connect({net::ip::make_address("127.0.0.1"), port});
      beast::flat_buffer buf;
      for (int i = 0; i < kRequests; ++i) {
        http::request<http::string_body> req(http::verb::post, "/echo", 11);
        req.set(http::field::host, "x");
        req.set(http::field::authorization, "Bearer t");
        req.body() = "client " + std::to_string(c) + " request " + std::to_string(i);
        req.prepare_payload();
        http::write(s, req);
        http::response<http::string_body> res;
        http::read(s, buf, res);
        if (res.result_int() == 200 && res.body() == req.body()) ok.fetch_add(1);
      }
    });
  }
  for (auto& w : workers) w.join();
  ws_client.join();
  mutator.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  EXPECT_EQ(handled.load(), static_cast<uint64_t>(kClients * kRequests));

  // Shut down while the broadcaster is still sending and a client is mid-conversation.
  std::thread late([&] {
    try {
      net::io_context ioc;
      tcp::socket s(ioc);
      s.connect({net::ip::make_address("127.0.0.1"), port});
      beast::flat_buffer buf;
      for (int i = 0; i < 1000; ++i) {
        http::request<http::string_body> req(http::verb::post, "/echo", 11);
        req.set(http::field::host, "x");
        req.set(http::field::authorization, "Bearer t");
        req.body() = "late";
        req.prepare_payload();
        http::write(s, req);
        http::response<http::string_body> res;
        http::read(s, buf, res);
        if (!res.keep_alive()) break;
      }
    } catch (const std::exception&) {
      // the connection was closed by the drain: expected
    }
  });
  EXPECT_TRUE(server.Shutdown(std::chrono::seconds(10)).ok());
  stop.store(true);
  broadcaster.join();
  late.join();
  std::lock_guard lock(clients_mu);
  EXPECT_TRUE(clients.empty());  // every WebSocket holder was told on_close
}

}  // namespace
}  // namespace strobed::server
