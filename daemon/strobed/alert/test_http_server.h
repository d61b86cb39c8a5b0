#pragma once

// A minimal HTTP/1.1 server for tests (webhook receivers): binds 127.0.0.1:0, serves one
// request per connection on a background thread, records every request body and answers
// with the status codes a test scripts (default 200). Test-only (links Boost.Beast).
//
// Thread class: thread-safe.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace strobed::alert::testing {

class TestHttpServer {
 public:
  struct Request {
    std::string method;
    std::string target;
    std::string body;
  };

  TestHttpServer() : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Run(); });
  }
  ~TestHttpServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    // Wake the blocking accept with a connection of our own.
    boost::system::error_code ec;
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
  }

  uint16_t port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // The next responses' status codes, in order (then 200).
  void ScriptStatuses(std::vector<int> codes) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.assign(codes.begin(), codes.end());
  }
  std::vector<Request> Requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Waits until pred(requests) holds or `timeout` passes.
  bool WaitFor(const std::function<bool(const std::vector<Request>&)>& pred,
               std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(requests_); });
  }

 private:
  void Run() {
    namespace http = boost::beast::http;
    while (true) {
      boost::asio::ip::tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
      }
      if (ec) continue;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) continue;
      int code = 200;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(
            {std::string(req.method_string()), std::string(req.target()), req.body()});
        if (!script_.empty()) {
          code = script_.front();
          script_.pop_front();
        }
      }
      cv_.notify_all();
      http::response<http::string_body> res{static_cast<http::status>(code), 11};
      res.set(http::field::content_type, "application/json");
      res.body() = "{}";
      res.prepare_payload();
      http::write(socket, res, ec);
      socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    }
  }

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> requests_;
  std::deque<int> script_;
  bool stop_ = false;
};

}  // namespace strobed::alert::testing
