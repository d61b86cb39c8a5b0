#pragma once

// Test-only: a blocking HTTP/1.1 client over one loopback connection, for the server's tests
// (raw writes, parsed responses). Reads give up after a timeout, so a server that never
// answers fails the test instead of hanging it. Not part of the daemon.
//
// Thread class: thread-compatible (one test thread per client).

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace strobed::server::testing {

class RawClient {
 public:
  explicit RawClient(uint16_t port, int timeout_s = 20) : socket_(ioc_) {
    socket_.connect(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    timeval tv{timeout_s, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  // Writes `bytes`; a write error is ignored (the server may close first after answering
  // early): the next read tells.
  void SendRaw(std::string_view bytes) {
    boost::beast::error_code ec;
    boost::asio::write(socket_, boost::asio::buffer(bytes), ec);
  }
  // Reads one response; status 0 when the connection closed first.
  boost::beast::http::response<boost::beast::http::string_body> Read() {
    boost::beast::http::response<boost::beast::http::string_body> res;
    boost::beast::error_code ec;
    boost::beast::http::read(socket_, buffer_, res, ec);
    if (ec) res.result(0);
    return res;
  }
  // Reads the response to a HEAD request (a head without a body).
  boost::beast::http::response<boost::beast::http::empty_body> ReadHeadResponse() {
    boost::beast::http::response_parser<boost::beast::http::empty_body> p;
    p.skip(true);
    boost::beast::error_code ec;
    boost::beast::http::read(socket_, buffer_, p, ec);
    auto res = p.release();
    if (ec) res.result(0);
    return res;
  }
  boost::beast::http::response<boost::beast::http::string_body> Get(std::string_view target,
                                                                    std::string_view extra = "") {
    SendRaw("GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra) +
            "\r\n");
    return Read();
  }
  // Reads raw bytes up to and including the first blank line (an interim response's head).
  std::string ReadRawHead() {
    std::string got;
    char c;
    boost::beast::error_code ec;
    while (got.size() < 4 || got.compare(got.size() - 4, 4, "\r\n\r\n") != 0) {
      if (socket_.read_some(boost::asio::buffer(&c, 1), ec) != 1 || ec) break;
      got.push_back(c);
    }
    return got;
  }
  // True when the server closed the connection (read returns EOF) within the read timeout.
  bool ClosedByPeer() {
    char c;
    boost::beast::error_code ec;
    socket_.read_some(boost::asio::buffer(&c, 1), ec);
    return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
  }
  boost::asio::ip::tcp::socket& socket() { return socket_; }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace strobed::server::testing
