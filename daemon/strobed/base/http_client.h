#pragma once

// strobed::base::HttpClient: the daemon's one HTTP/1.1 client (Boost.Beast), used by every
// exporter and notifier that speaks HTTP and by `strobe bench otlp`.
//
//   auto client = HttpClient::Create(*ParseUrl("http://127.0.0.1:4318"), options);
//   HttpRequest req{.target = "/v1/traces", .content_type = "application/x-protobuf",
//                   .body = bytes, .gzip_body = true};
//   strobe::Result<HttpResponse> res = (*client)->Send(req);
//
// One client talks to one origin (scheme, host, port) over one kept-alive connection: it
// connects on the first Send, reuses the connection while the server keeps it open, and
// reconnects once, transparently, when a reused connection turns out to have been closed by
// the server while idle (the request had not been answered). Name resolution happens on
// connect; resolved addresses are kept until a connect fails. getaddrinfo() cannot be
// cancelled, so resolution is outside the timeouts (IP literals never block).
//
// Timeouts: connecting is bounded by connect_timeout; writing the request and reading the
// whole response by the request's timeout (HttpRequest::timeout, else request_timeout). A
// timeout closes the connection and returns DeadlineExceeded.
//
// Bodies: `gzip_body` compresses the request body (zlib level 1) and sets
// Content-Encoding: gzip. A response with Content-Encoding gzip or deflate is inflated
// (bounded by max_response_bytes, like the raw body), so HttpResponse::body is always the
// decoded payload; its headers are as received. A 2xx body that does not decode is an
// error; a non-2xx one is dropped (the body is empty) and the status still returned.
//
// Errors (strobe::Status): Unavailable — resolve, connect or transport failure (the peer
// closed, reset, refused); DeadlineExceeded — a timeout; ResourceExhausted — the response is
// larger than max_response_bytes; InvalidArgument — a malformed request (bad method, header
// with CR/LF) or an undecodable 2xx response body; Unimplemented — an https:// origin. Any HTTP
// status (including 4xx/5xx) is a successful exchange: the caller decides what it means.
//
// TLS seam: the exchange (connect, write, read) runs against one stream object in
// http_client.cc (Connection); TLS adds a beast::ssl_stream<tcp::socket> alternative and a
// handshake after connect, without changing this interface.
//
// Cost: the request head is formatted once per request shape and written with the body in
// one gather write; the read buffer is reused; the exchange is synchronous (send, poll, recv)
// on the calling thread. Per request the client allocates only the response (Beast's parser,
// its fields and body). `strobe bench otlp` drives its load through this client: ~20 us of
// client CPU per 1-span request against ~17 us for the raw-socket client it replaced (an
// io_context with per-operation timers cost ~36 us); with 1,000-span requests the
// difference is lost in the server's ~1 ms per request (bench/RESULTS.md).
//
// Thread class: thread-compatible — one Send at a time per client (each exporter, notifier
// or bench connection owns its client); Cancel() may be called from any thread. Counters are
// relaxed atomics readable from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/base/url.h"

namespace strobed::base {

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpClientOptions {
  std::chrono::nanoseconds connect_timeout = std::chrono::seconds(5);
  std::chrono::nanoseconds request_timeout = std::chrono::seconds(10);
  std::string user_agent = "strobe";
  uint64_t max_response_bytes = uint64_t{16} << 20;  // raw and decoded body
  bool accept_gzip = false;  // send Accept-Encoding: gzip (responses are decoded either way)
  int gzip_level = 1;        // for gzip_body; 1 = fastest (bodies are mostly protobuf)
};

struct HttpRequest {
  std::string_view method = "POST";     // an HTTP/1.1 method (GET, POST, PUT, ...)
  std::string_view target = "/";        // path and query, starting with '/'
  std::string_view content_type;        // "" = no Content-Type header
  std::span<const HttpHeader> headers;  // extra headers, sent as given
  std::string_view body;
  bool gzip_body = false;  // compress `body` and send Content-Encoding: gzip
  // Write + read bound for this request; 0 = the client's request_timeout.
  std::chrono::nanoseconds timeout{0};
};

struct HttpResponse {
  int status = 0;
  std::vector<HttpHeader> headers;  // as received, in order
  std::string body;                 // decoded (see Content-Encoding above)

  bool ok() const noexcept { return status >= 200 && status < 300; }
  // The first header named `name` (case-insensitive); "" when absent.
  std::string_view Header(std::string_view name) const noexcept;
};

class HttpClient {
 public:
  // A client for `origin`'s scheme, host and port (its path is ignored: requests carry their
  // own target). Unimplemented for https:// (TLS is not built yet). Does not connect.
  static strobe::Result<std::unique_ptr<HttpClient>> Create(const Url& origin,
                                                            HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request` and reads the response (contract above). Blocks at most connect_timeout
  // plus the request timeout (plus name resolution). Owner thread.
  strobe::Result<HttpResponse> Send(const HttpRequest& request);

  // Closes the kept-alive connection (the next Send reconnects). Owner thread.
  void Close() noexcept;

  // Makes a Send in progress on another thread return promptly (Unavailable: connect or
  // transport "Operation canceled") instead of waiting for its timeouts, and every later Send
  // fail at once. One-way: used when a shutdown deadline passed while a backend does not
  // answer. Name resolution in progress is not interrupted (getaddrinfo). Any thread.
  void Cancel() noexcept;

  const Url& origin() const noexcept { return origin_; }
  // True while a kept-alive connection is open. Owner thread.
  bool connected() const noexcept;
  // Connections opened so far (keep-alive reuse shows as requests > connections). Any thread.
  uint64_t connections_opened() const noexcept {
    return connections_.load(std::memory_order_relaxed);
  }

 private:
  struct Connection;
  HttpClient(Url origin, HttpClientOptions options);
  strobe::Status Connect();
  strobe::Status Exchange(const HttpRequest& request, HttpResponse& response, bool& retryable);
  // Validates `request` and (re)builds head_ unless the previous request had the same shape.
  strobe::Status PrepareHead(const HttpRequest& request);

  Url origin_;
  HttpClientOptions options_;
  std::string host_header_;
  std::string gzip_buffer_;  // reused for gzip_body requests
  // The serialized request head (request line and headers, without Content-Length) of the
  // last request, and the shape it was built for: a load generator or exporter sending the
  // same kind of request again pays no header formatting or allocation.
  std::string head_;
  bool head_valid_ = false;
  std::string head_method_, head_target_, head_content_type_;
  bool head_gzip_ = false;
  std::vector<HttpHeader> head_headers_;
  std::unique_ptr<Connection> conn_;
  std::atomic<uint64_t> connections_{0};
  std::atomic<bool> cancelled_{false};  // set by Cancel(), never cleared
  int cancel_fd_ = -1;                  // eventfd written by Cancel(); polled with the socket
};

// Parses an HTTP Retry-After value: delay-seconds ("120") or an HTTP-date (IMF-fixdate
// "Sun, 06 Nov 1994 08:49:37 GMT", or the obsolete RFC 850 and asctime forms), the latter
// relative to `now`. A date in the past gives 0. nullopt for anything else (the caller then
// uses its own backoff). Thread-safe.
std::optional<std::chrono::nanoseconds> ParseRetryAfter(std::string_view value,
                                                        std::chrono::system_clock::time_point now);

}  // namespace strobed::base
