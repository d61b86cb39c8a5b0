#include "strobed/base/http_client.h"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <exception>

#include "strobed/base/compression.h"

namespace strobed::base {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

// Boost 1.74's beast::string_view is boost::string_view, not std::string_view.
beast::string_view Sv(std::string_view s) noexcept { return {s.data(), s.size()}; }

bool HasLineBreak(std::string_view s) noexcept {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

strobe::Status TransportError(std::string_view what, const beast::error_code& ec) {
  if (ec == beast::error::timeout) {
    return strobe::DeadlineExceeded(std::string(what) + ": timed out");
  }
  return strobe::Unavailable(std::string(what) + ": " + ec.message());
}

}  // namespace

// One connection and the io_context that drives it. Every operation is asynchronous (Beast
// applies tcp_stream timeouts to asynchronous operations only) and run to completion on the
// calling thread, so the client needs no thread of its own.
struct HttpClient::Connection {
  net::io_context ioc{1};
  beast::tcp_stream stream{ioc};         // TLS seam: beast::ssl_stream<beast::tcp_stream> goes here
  beast::flat_buffer buffer;             // kept across responses (pipelined bytes, capacity)
  std::vector<tcp::endpoint> endpoints;  // resolved on first connect
  bool open = false;

  void Close() noexcept {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
    open = false;
    buffer.clear();
  }

  // Starts an operation with `start(handler)` and runs the io_context until it completes.
  template <typename Start>
  beast::error_code Run(Start start) {
    beast::error_code result = net::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }
};

std::string_view HttpResponse::Header(std::string_view name) const noexcept {
  for (const HttpHeader& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return {};
}

strobe::Result<std::unique_ptr<HttpClient>> HttpClient::Create(const Url& origin,
                                                               HttpClientOptions options) {
  if (origin.scheme == UrlScheme::kHttps) {
    return strobe::Unimplemented("'" + origin.ToString() +
                                 "': https is not supported yet (use http://)");
  }
  if (origin.host.empty() || origin.port == 0) {
    return strobe::InvalidArgument("HTTP client needs a host and port");
  }
  return std::unique_ptr<HttpClient>(new HttpClient(origin, std::move(options)));
}

HttpClient::HttpClient(Url origin, HttpClientOptions options)
    : origin_(std::move(origin)),
      options_(std::move(options)),
      host_header_(origin_.HostHeader()),
      conn_(std::make_unique<Connection>()) {}

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() noexcept { conn_->Close(); }

bool HttpClient::connected() const noexcept { return conn_->open; }

strobe::Status HttpClient::Connect() {
  Connection& c = *conn_;
  if (c.endpoints.empty()) {
    tcp::resolver resolver(c.ioc);
    beast::error_code ec;
    auto results = resolver.resolve(origin_.host, origin_.PortString(), ec);
    if (ec) return strobe::Unavailable("resolve " + origin_.host + ": " + ec.message());
    for (const auto& r : results) c.endpoints.push_back(r.endpoint());
    if (c.endpoints.empty()) return strobe::Unavailable("resolve " + origin_.host + ": no address");
  }
  c.stream.expires_after(options_.connect_timeout);
  beast::error_code ec =
      c.Run([&](auto handler) { c.stream.async_connect(c.endpoints, std::move(handler)); });
  if (ec) {
    c.Close();
    c.endpoints.clear();  // re-resolve next time: the address may have moved
    return TransportError("connect " + origin_.host + ":" + origin_.PortString(), ec);
  }
  beast::error_code ignored;
  c.stream.socket().set_option(tcp::no_delay(true), ignored);
  c.open = true;
  connections_.fetch_add(1, std::memory_order_relaxed);
  return strobe::OkStatus();
}

strobe::Status HttpClient::Exchange(const HttpRequest& request, HttpResponse& response,
                                    bool& retryable) {
  Connection& c = *conn_;
  const bool reused = c.open;
  retryable = false;
  if (!c.open) STROBE_RETURN_IF_ERROR(Connect());

  const http::verb verb = http::string_to_verb(Sv(request.method));
  if (verb == http::verb::unknown) {
    return strobe::InvalidArgument("unknown HTTP method '" + std::string(request.method) + "'");
  }
  std::string_view body = request.body;
  if (request.gzip_body) {
    gzip_buffer_ = GzipCompress(body, options_.gzip_level);
    body = gzip_buffer_;
  }
  http::request<http::span_body<const char>> req{verb, Sv(request.target), 11};
  req.set(http::field::host, host_header_);
  req.set(http::field::user_agent, options_.user_agent);
  if (!request.content_type.empty()) req.set(http::field::content_type, Sv(request.content_type));
  if (request.gzip_body) req.set(http::field::content_encoding, "gzip");
  if (options_.accept_gzip) req.set(http::field::accept_encoding, "gzip");
  for (const HttpHeader& h : request.headers) {
    if (h.name.empty() || HasLineBreak(h.name) || HasLineBreak(h.value)) {
      return strobe::InvalidArgument("bad HTTP header '" + h.name + "'");
    }
    req.set(h.name, h.value);
  }
  req.body() = std::span<const char>(body.data(), body.size());
  req.prepare_payload();

  const auto timeout = request.timeout.count() > 0 ? request.timeout : options_.request_timeout;
  c.stream.expires_after(timeout);
  beast::error_code ec =
      c.Run([&](auto handler) { http::async_write(c.stream, req, std::move(handler)); });
  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.max_response_bytes);
  // The header first: with Boost 1.74 the parser's body_limit alone did not stop an
  // oversized Content-Length body read by async_read (tested), so the client checks it.
  if (!ec) {
    ec = c.Run([&](auto handler) {
      http::async_read_header(c.stream, c.buffer, parser, std::move(handler));
    });
  }
  if (!ec && parser.content_length() && *parser.content_length() > options_.max_response_bytes) {
    ec = http::error::body_limit;
  }
  if (!ec && !parser.is_done()) {
    ec = c.Run(
        [&](auto handler) { http::async_read(c.stream, c.buffer, parser, std::move(handler)); });
  }
  if (!ec && parser.get().body().size() > options_.max_response_bytes) {
    ec = http::error::body_limit;  // a chunked body past the limit
  }
  if (ec) {
    c.Close();
    // A kept-alive connection the server closed while idle fails on write or with EOF before
    // any response byte; that request was never processed and may be sent again.
    retryable = reused && ec != beast::error::timeout && !parser.got_some();
    if (ec == http::error::body_limit) {
      return strobe::ResourceExhausted("response larger than " +
                                       std::to_string(options_.max_response_bytes) + " bytes");
    }
    return TransportError(std::string(request.method) + " " + std::string(request.target), ec);
  }
  auto& res = parser.get();
  response.status = static_cast<int>(res.result_int());
  response.headers.clear();
  for (const auto& f : res) {
    response.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  }
  response.body = std::move(res.body());
  if (!res.keep_alive()) c.Close();
  ContentEncoding encoding = ParseContentEncoding(response.Header("Content-Encoding"));
  if (encoding == ContentEncoding::kUnknown) {
    return strobe::InvalidArgument("response has an unsupported Content-Encoding '" +
                                   std::string(response.Header("Content-Encoding")) + "'");
  }
  if (encoding != ContentEncoding::kIdentity) {
    auto decoded = Decompress(encoding, response.body, options_.max_response_bytes);
    if (!decoded.ok()) return decoded.status().WithContext("response body");
    response.body = std::move(decoded).value();
  }
  return strobe::OkStatus();
}

strobe::Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  HttpResponse response;
  try {
    bool retryable = false;
    strobe::Status s = Exchange(request, response, retryable);
    if (!s.ok() && retryable) s = Exchange(request, response, retryable);
    if (!s.ok()) return s;
  } catch (const std::exception& e) {
    // Beast/Asio throw only on resource exhaustion (e.g. no file descriptors).
    conn_->Close();
    return strobe::Unavailable(std::string("HTTP client: ") + e.what());
  }
  return response;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool Literal(std::string_view lit) {
    if (s_.substr(0, lit.size()) != lit) return false;
    s_.remove_prefix(lit.size());
    return true;
  }
  void Spaces() {
    while (!s_.empty() && s_.front() == ' ') s_.remove_prefix(1);
  }
  // Exactly `min..max` digits.
  bool Number(int min_digits, int max_digits, int& out) {
    int n = 0;
    out = 0;
    while (n < max_digits && n < static_cast<int>(s_.size()) && s_[n] >= '0' && s_[n] <= '9') {
      out = out * 10 + (s_[n] - '0');
      ++n;
    }
    if (n < min_digits) return false;
    s_.remove_prefix(static_cast<std::size_t>(n));
    return true;
  }
  bool Month(unsigned& out) {
    static constexpr std::array<std::string_view, 12> kMonths = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (unsigned i = 0; i < kMonths.size(); ++i) {
      if (Literal(kMonths[i])) {
        out = i + 1;
        return true;
      }
    }
    return false;
  }
  bool SkipWord() {  // day name
    std::size_t n = 0;
    while (n < s_.size() && ((s_[n] >= 'A' && s_[n] <= 'Z') || (s_[n] >= 'a' && s_[n] <= 'z'))) {
      ++n;
    }
    s_.remove_prefix(n);
    return n >= 3;
  }
  bool Time(int& h, int& m, int& sec) {
    return Number(2, 2, h) && Literal(":") && Number(2, 2, m) && Literal(":") &&
           Number(2, 2, sec) && h < 24 && m < 60 && sec <= 60;
  }
  bool Done() const { return s_.empty(); }

 private:
  std::string_view s_;
};

// IMF-fixdate, RFC 850 or asctime (RFC 9110 section 5.6.7); seconds since the epoch.
std::optional<int64_t> ParseHttpDate(std::string_view v) {
  int day = 0, year = 0, h = 0, m = 0, s = 0;
  unsigned month = 0;
  auto imf_fixdate = [&] {  // Sun, 06 Nov 1994 08:49:37 GMT
    Scanner sc(v);
    return sc.SkipWord() && sc.Literal(", ") && sc.Number(2, 2, day) && sc.Literal(" ") &&
           sc.Month(month) && sc.Literal(" ") && sc.Number(4, 4, year) && sc.Literal(" ") &&
           sc.Time(h, m, s) && sc.Literal(" GMT") && sc.Done();
  };
  auto rfc850 = [&] {  // Sunday, 06-Nov-94 08:49:37 GMT
    Scanner sc(v);
    if (!(sc.SkipWord() && sc.Literal(", ") && sc.Number(2, 2, day) && sc.Literal("-") &&
          sc.Month(month) && sc.Literal("-") && sc.Number(2, 2, year) && sc.Literal(" ") &&
          sc.Time(h, m, s) && sc.Literal(" GMT") && sc.Done())) {
      return false;
    }
    year += year < 70 ? 2000 : 1900;  // a date-only heuristic; only Retry-After uses it
    return true;
  };
  auto asctime = [&] {  // Sun Nov  6 08:49:37 1994
    Scanner sc(v);
    if (!(sc.SkipWord() && sc.Literal(" ") && sc.Month(month) && sc.Literal(" "))) return false;
    sc.Spaces();
    return sc.Number(1, 2, day) && sc.Literal(" ") && sc.Time(h, m, s) && sc.Literal(" ") &&
           sc.Number(4, 4, year) && sc.Done();
  };
  if (!imf_fixdate() && !rfc850() && !asctime()) return std::nullopt;
  if (day < 1 || day > 31) return std::nullopt;
  return DaysFromCivil(year, month, static_cast<unsigned>(day)) * 86400 + h * 3600 + m * 60 + s;
}

}  // namespace

std::optional<std::chrono::nanoseconds> ParseRetryAfter(std::string_view value,
                                                        std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range)
      seconds = INT64_MAX;
    else if (ec != std::errc() || end != value.data() + value.size())
      return std::nullopt;
    // Saturate far beyond any cap a caller applies, without overflowing nanoseconds.
    constexpr int64_t kMaxSeconds = int64_t{100} * 365 * 86400;
    return std::chrono::seconds(std::min(seconds, kMaxSeconds));
  }
  std::optional<int64_t> at = ParseHttpDate(value);
  if (!at) return std::nullopt;
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return std::chrono::seconds(std::max<int64_t>(*at - now_s, 0));
}

}  // namespace strobed::base
