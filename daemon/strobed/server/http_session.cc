// HTTP/1.1 connections of an HttpServer: request heads and bodies read under the listener's
// limits and timeouts, auth, routing, the handler call and the response, keep-alive, and the
// hand-off to websocket_session.cc on an upgrade (behaviour documented in http_server.h).
//
// Heads and chunked bodies are read by this file's own loop (ReadAndParse: read_some into a
// bounded buffer, then parser.put) rather than Beast's async_read: Beast's composed read calls
// put() inside its completion handler, so a std::length_error thrown by the parser (a trailer
// field over 64 KiB) would escape into io_context::run and terminate the process. Here every
// put() runs inside a try block, and the buffer is capped so a trailer section cannot grow it
// without bound.
//
// Body memory: both body paths (ReadBody for Content-Length, ReadAndParse for chunked) grow
// the body's buffer only through GrowStringCharged on body_lease_, so every byte of it is
// charged to ServerOptions::body_budget before it is allocated (with the old buffer while the
// bytes move); Beast's string_body then appends within the capacity reserved for it and never
// reallocates. The lease is given back after the handler returned (Dispatch) or when the
// connection ends.

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <exception>
#include <limits>
#include <optional>

#include "strobed/base/byte_budget.h"
#include "strobed/server/internal/server_state.h"

namespace strobed::server::internal {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

void CountStatus(ServerStats& stats, int status) {
  // Relaxed: independent counters read by metrics collection (see ServerStats).
  if (status < 300) {
    stats.responses_2xx.fetch_add(1, std::memory_order_relaxed);
  } else if (status < 400) {
    stats.responses_3xx.fetch_add(1, std::memory_order_relaxed);
  } else if (status < 500) {
    stats.responses_4xx.fetch_add(1, std::memory_order_relaxed);
  } else {
    stats.responses_5xx.fetch_add(1, std::memory_order_relaxed);
  }
}

class HttpSession : public SessionBase, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(StatePtr st, tcp::socket socket, ConnectionSlot slot, bool reserved)
      : st_(std::move(st)),
        slot_(std::move(slot)),
        body_lease_(st_->options.body_budget),
        stream_(std::move(socket)),
        idle_timer_(stream_.get_executor()),
        buffer_(HeadBufferCap(st_->options)),
        reserved_(reserved) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = EndpointString(ep);
    // Evictable from the start: a connection that sends nothing is the first to go.
    waiting_since.store(NowNs(), std::memory_order_relaxed);
  }
  ~HttpSession() override {
    EndRequest();
    st_->Unregister(this);
  }

  // Registers the session with the server (so drain and shutdown can find it) and starts
  // reading. Registered here, not in the constructor: Lock() calls weak_from_this(), which is
  // only set once make_shared has returned (TSan reported the race with LiveSessions()).
  void Run() {
    st_->Register(this);
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&HttpSession::ReadHead, shared_from_this()));
  }

  std::shared_ptr<SessionBase> Lock() override { return weak_from_this().lock(); }
  void OnDrain() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->reading_head_) self->stream_.cancel();
    });
  }
  void ForceClose() override {
    beast::error_code ec;
    stream_.socket().close(ec);
  }
  void Evict() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->Close(); });
  }

 private:
  const ServerOptions& opts() const { return st_->options; }

  // The most buffer_ ever holds: a head (or trailer section, or chunk-size line) up to the
  // limit plus one read. Also its flat_buffer limit, so its capacity never exceeds this.
  static size_t HeadBufferCap(const ServerOptions& o) {
    return static_cast<size_t>(o.max_header_bytes) + kReadSize;
  }

  static int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
  }

  // Waiting for a request head from here: the acceptor may evict this connection. Fails (and
  // the connection must close) when the acceptor claimed it already.
  bool MarkWaiting() {
    int64_t cur = waiting_since.load(std::memory_order_relaxed);
    if (cur == kClaimed) return false;
    return waiting_since.compare_exchange_strong(cur, NowNs(), std::memory_order_relaxed);
  }
  // The head is complete: no longer evictable. False when the acceptor claimed it first.
  bool MarkBusy() { return waiting_since.exchange(0, std::memory_order_relaxed) != kClaimed; }

  void ReadHead() {
    if (st_->draining.load()) return Close();
    if (!MarkWaiting()) return Close();
    reading_head_ = true;
    if (first_ || buffer_.size() > 0) return ReadHeadNow();
    // A keep-alive connection: wait up to idle_timeout for the next request to begin, then
    // give its head the strict read_header_timeout like a fresh connection's (slowloris).
    idle_timer_.expires_after(opts().idle_timeout);
    idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->stream_.socket().cancel();  // idle too long: the wait below aborts
    });
    stream_.socket().async_wait(tcp::socket::wait_read,
                                [self = shared_from_this()](beast::error_code ec) {
                                  self->idle_timer_.cancel();
                                  if (ec)
                                    return self->Close();  // idle timeout, drain, or peer gone
                                  self->ReadHeadNow();
                                });
  }

  void ReadHeadNow() {
    if (st_->draining.load() && buffer_.size() == 0 && !first_) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opts().max_header_bytes));
    // Checked against the route's limit once the head is known (boost::none would make Beast
    // 1.74 reject every Content-Length: its optional comparison treats none as smallest).
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    reading_head_ = true;
    stream_.expires_after(opts().read_header_timeout);
    ReadAndParse(Phase::kHead);
  }

  enum class Phase { kHead, kBody };

  // Parses what is buffered and reads more until the parser has the head (kHead) or the whole
  // message (kBody), then calls OnHead or OnBody. Reads go through stream_, whose deadline the
  // caller set. An exception from the parser becomes an error code: std::length_error (a field
  // Beast cannot store) header_limit, anything else bad_value.
  void ReadAndParse(Phase phase) {
    for (;;) {
      beast::error_code ec;
      if (buffer_.size() > 0) {
        if (phase == Phase::kBody && !ReserveChunkedBody()) return RefuseMemory();
        size_t used = 0;
        try {
          used = parser_->put(buffer_.data(), ec);
        } catch (const std::length_error&) {
          ec = http::error::header_limit;
        } catch (...) {
          ec = http::error::bad_value;
        }
        buffer_.consume(used);
        if (!ec) {
          if (phase == Phase::kHead ? parser_->is_header_done() : parser_->is_done()) {
            return Parsed(phase, ec);
          }
          if (buffer_.size() > 0 && used > 0) continue;
        } else if (ec != http::error::need_more) {
          return Parsed(phase, ec);
        }
      }
      // The buffer holds at most a head (or a trailer section, or a chunk-size line) plus one
      // read: Beast's header_limit bounds heads; this cap bounds the rest.
      const size_t cap = HeadBufferCap(opts());
      if (buffer_.size() >= cap) return Parsed(phase, http::error::header_limit);
      const size_t room = std::min(kReadSize, cap - buffer_.size());
      stream_.async_read_some(buffer_.prepare(room),
                              [self = shared_from_this(), phase](beast::error_code rec, size_t n) {
                                self->OnRead(phase, rec, n);
                              });
      return;
    }
  }

  void OnRead(Phase phase, beast::error_code ec, size_t n) {
    buffer_.commit(n);
    if (ec == net::error::eof) {
      if (!parser_->got_some()) return Parsed(phase, http::error::end_of_stream);
      beast::error_code eof_ec;
      try {
        parser_->put_eof(eof_ec);
      } catch (...) {
        eof_ec = http::error::partial_message;
      }
      if (!eof_ec && (phase == Phase::kHead || parser_->is_done())) return Parsed(phase, eof_ec);
      return Parsed(phase, eof_ec ? eof_ec : beast::error_code(http::error::partial_message));
    }
    if (ec) return Parsed(phase, ec);
    ReadAndParse(phase);
  }

  void Parsed(Phase phase, beast::error_code ec) {
    if (phase == Phase::kHead) return OnHead(ec);
    OnBody(ec);
  }

  // The request's Content-Type once its head is parsed, for error bodies.
  std::string_view ContentType() const {
    if (!parser_ || !parser_->is_header_done()) return {};
    auto ct = parser_->get()[http::field::content_type];
    return {ct.data(), ct.size()};
  }

  void OnHead(beast::error_code ec) {
    reading_head_ = false;
    if (!MarkBusy()) return Close();  // evicted while its head arrived
    if (ec) {
      if (ec == http::error::header_limit) {
        st_->stats.header_too_large.fetch_add(1, std::memory_order_relaxed);
        BeginRequest();
        return SendError(
            431, "request head larger than " + std::to_string(opts().max_header_bytes) + " bytes",
            false);
      }
      if (ec == beast::error::timeout) {
        // A fresh connection that sends nothing or a partial head within the limit counts
        // (slowloris); a keep-alive connection cut while idle between requests does not.
        if (first_ || buffer_.size() > 0 || parser_->got_some()) {
          st_->stats.timeouts.fetch_add(1, std::memory_order_relaxed);
        }
        return Close();
      }
      if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
          ec == net::error::eof || ec == net::error::connection_reset ||
          ec == net::error::broken_pipe || !parser_->got_some()) {
        return Close();
      }
      st_->stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
      BeginRequest();
      return SendError(400, "malformed HTTP request: " + ec.message(), false);
    }
    first_ = false;
    BeginRequest();
    auto& req = parser_->get();
    // A reserved connection serves one request (its slot frees at once).
    const bool keep_alive = req.keep_alive() && !reserved_;
    method_ = std::string(req.method_string());
    std::string_view target(req.target().data(), req.target().size());
    size_t q = target.find('?');
    std::string path(target.substr(0, q));
    if (path.empty() || path[0] != '/') {
      st_->stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
      return SendError(400, "request target must be an absolute path", false);
    }
    const bool body_pending = !parser_->is_done();
    if (reserved_ && std::find(opts().priority_paths.begin(), opts().priority_paths.end(), path) ==
                         opts().priority_paths.end()) {
      // Accepted into the share kept for health and metrics while every other slot was busy.
      st_->stats.reserved_refused.fetch_add(1, std::memory_order_relaxed);
      Response r = ErrorResponse(503, "too many connections; retry later");
      r.headers.Set("Retry-After", "1");
      return Write(std::move(r), false);
    }
    Router::Match m = st_->router.Find(method_, path);
    if (m.status == 404) return SendError(404, "no route for " + path, keep_alive && !body_pending);
    if (m.status == 405) {
      Response r = ErrorResponse(
          405, "method " + method_ + " not allowed for " + path + " (allowed: " + m.allow + ")");
      r.headers.Set("Allow", m.allow);
      return Write(std::move(r), keep_alive && !body_pending);
    }
    route_ = m.route;
    route_pattern_ =
        route_->prefix ? route_->pattern + (route_->pattern == "/" ? "*" : "/*") : route_->pattern;
    if (route_->options.require_auth && opts().auth) {
      auto auth = req[http::field::authorization];
      const Authenticator::Verdict verdict =
          opts().auth->Check(std::string_view(auth.data(), auth.size()), auth_cache_);
      if (verdict != Authenticator::Verdict::kAllowed) {
        st_->stats.unauthorized.fetch_add(1, std::memory_order_relaxed);
        Response r = ErrorResponse(401, verdict == Authenticator::Verdict::kMissing
                                            ? "missing bearer token (Authorization: Bearer <token>)"
                                            : "invalid bearer token");
        r.headers.Set("WWW-Authenticate", "Bearer realm=\"strobe\"");
        return Write(std::move(r), keep_alive && !body_pending);
      }
    }
    if (route_->websocket) {
      if (!websocket::is_upgrade(req)) {
        Response r = ErrorResponse(426, path + " is a WebSocket endpoint");
        r.headers.Set("Upgrade", "websocket");
        return Write(std::move(r), keep_alive && !body_pending);
      }
      return HandOffToWebSocket();
    }
    const uint64_t limit = BodyLimit();
    if (auto cl = parser_->content_length(); cl && *cl > limit) {
      st_->stats.body_too_large.fetch_add(1, std::memory_order_relaxed);
      return SendError(413,
                       "request body of " + std::to_string(*cl) + " bytes exceeds the limit of " +
                           std::to_string(limit) + " bytes for " + route_pattern_,
                       false);
    }
    parser_->body_limit(limit);
    if (!body_pending) return Dispatch();
    auto expect = req[http::field::expect];
    if (req.version() >= 11 &&  // HTTP/1.0 clients do not know 100 (RFC 9110 10.1.1)
        EqualsIgnoreCase(std::string_view(expect.data(), expect.size()), "100-continue") &&
        buffer_.size() == 0) {
      // The client waits for a go-ahead before it sends the body (curl does for large ones).
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(opts().write_timeout);
      return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                              [self = shared_from_this()](beast::error_code wec, std::size_t) {
                                if (wec) return self->Close();
                                self->ReadBodyStart();
                              });
    }
    ReadBodyStart();
  }

  uint64_t BodyLimit() const {
    return route_->options.max_body_bytes != 0 ? route_->options.max_body_bytes
                                               : opts().max_body_bytes;
  }

  void ReadBodyStart() {
    if (auto cl = parser_->content_length(); cl && !parser_->chunked()) return ReadBody(*cl);
    stream_.expires_after(opts().body_timeout);
    parser_->eager(true);  // chunks as they arrive, not one put() per chunk
    ReadAndParse(Phase::kBody);
  }

  void OnBody(beast::error_code ec) {
    if (ec) {
      if (ec == http::error::body_limit) {
        st_->stats.body_too_large.fetch_add(1, std::memory_order_relaxed);
        return SendError(413,
                         "request body exceeds the limit of " + std::to_string(BodyLimit()) +
                             " bytes for " + route_pattern_,
                         false);
      }
      if (ec == http::error::header_limit) {
        // A chunk-size line or trailer section past the head limit, or a trailer field Beast
        // cannot hold (it threw std::length_error).
        st_->stats.header_too_large.fetch_add(1, std::memory_order_relaxed);
        return SendError(431,
                         "chunked body trailer or chunk line larger than " +
                             std::to_string(opts().max_header_bytes) + " bytes",
                         false);
      }
      if (ec == beast::error::timeout) {
        st_->stats.timeouts.fetch_add(1, std::memory_order_relaxed);
        return SendError(408, "request body not received within the timeout", false);
      }
      if (ec == http::error::partial_message || ec == http::error::end_of_stream ||
          ec == net::error::eof || ec == net::error::connection_reset ||
          ec == net::error::operation_aborted) {
        return Close();
      }
      st_->stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
      return SendError(400, "malformed HTTP request body: " + ec.message(), false);
    }
    Dispatch();
  }

  // A Content-Length body (the OTLP case: one large protobuf per request) is read straight
  // into the request's string with as few reads as the socket allows, under one timer for the
  // whole body. Beast's reader would take it in pieces of at most 64 KiB, each through the
  // stream's per-operation timer. The string grows with what arrives (doubling, from 64 KiB),
  // so a client that announces a large body and sends little costs little memory.
  void ReadBody(uint64_t length) {
    body_length_ = length;
    body_.clear();
    const auto first = static_cast<size_t>(
        std::min<uint64_t>(length, std::max<uint64_t>(buffer_.size(), kBodyStart)));
    if (!base::GrowStringCharged(body_lease_, body_, first)) return RefuseMemory();
    body_.resize(first);
    body_filled_ = net::buffer_copy(net::buffer(body_), buffer_.data());
    buffer_.consume(body_filled_);
    if (body_filled_ == body_length_) return DispatchBody();
    reading_body_ = true;
    body_timed_out_ = false;
    stream_.expires_never();
    idle_timer_.expires_after(opts().body_timeout);
    idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      // A timer that expired just as the body completed finds reading_body_ false.
      if (ec || !self->reading_body_) return;
      self->body_timed_out_ = true;
      self->stream_.socket().cancel();
    });
    ReadMoreBody();
  }

  void ReadMoreBody() {
    if (body_filled_ == body_.size()) {
      const auto next = static_cast<size_t>(std::min<uint64_t>(body_length_, 2 * body_.size()));
      if (!base::GrowStringCharged(body_lease_, body_, next)) {
        reading_body_ = false;
        idle_timer_.cancel();
        return RefuseMemory();
      }
      body_.resize(next);
    }
    stream_.socket().async_read_some(
        net::buffer(body_.data() + body_filled_, body_.size() - body_filled_),
        beast::bind_front_handler(&HttpSession::OnBodyBytes, shared_from_this()));
  }

  void OnBodyBytes(beast::error_code ec, std::size_t n) {
    body_filled_ += n;
    const bool done = !ec && body_filled_ >= body_length_;
    // The timer decides, not the cancelled read: it may have fired while no read was pending
    // (between a completion and the next read), when cancel() has nothing to abort.
    if (!done && !ec && !body_timed_out_) return ReadMoreBody();
    reading_body_ = false;
    idle_timer_.cancel();
    const bool timed_out = body_timed_out_;
    body_timed_out_ = false;
    if (done) return DispatchBody();
    if (timed_out) {
      st_->stats.timeouts.fetch_add(1, std::memory_order_relaxed);
      return SendError(408, "request body not received within the timeout", false);
    }
    Close();  // peer gone, reset, or shutdown closed the socket
  }

  // Before the parser appends what buffer_ holds to a chunked body: gives the body room for
  // all of it (doubling, from 64 KiB, up to the route's limit, past which the parser refuses
  // anyway), charged first. False when the budget refuses.
  bool ReserveChunkedBody() {
    std::string& body = parser_->get().body();
    const size_t need = body.size() + buffer_.size();
    if (need <= body.capacity()) return true;
    const auto limit = static_cast<size_t>(std::min<uint64_t>(BodyLimit(), SIZE_MAX / 4));
    size_t cap = std::max({need, 2 * body.capacity(), static_cast<size_t>(kBodyStart)});
    cap = std::min(cap, std::max(need, limit));
    return base::GrowStringCharged(body_lease_, body, cap);
  }

  // The ingress budget refused to let this request's body grow: free what it holds, answer
  // 503 + Retry-After (the client may retry once memory is free) and close.
  void RefuseMemory() {
    st_->stats.memory_refused.fetch_add(1, std::memory_order_relaxed);
    std::string().swap(body_);
    if (parser_) std::string().swap(parser_->get().body());
    body_lease_.Reset();
    Response r = ErrorResponse(503,
                               "request body refused: the server's memory budget for request "
                               "bodies is exhausted; retry later");
    r.headers.Set("Retry-After", "1");
    Write(std::move(r), false);
  }

  // The body read by ReadBody becomes the message's body, as if the parser had read it.
  void DispatchBody() {
    parser_->get().body() = std::move(body_);
    body_ = {};
    Dispatch();
  }

  void Dispatch() {
    auto& req = parser_->get();
    Response resp;
    const bool async = static_cast<bool>(route_->async_handler);
    // Shared by the Responder and the catch below: the first answer wins.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    try {  // `r` (holding the body) is destroyed at the end of this block
      Request r;
      r.method = method_;
      r.target = std::string(req.target());
      size_t q = r.target.find('?');
      r.path = r.target.substr(0, q);
      if (q != std::string::npos) r.query = r.target.substr(q + 1);
      for (const auto& f : req) {
        r.headers.Add(std::string(f.name_string()), std::string(f.value()));
      }
      r.body = std::move(req.body());
      r.remote_address = remote_;
      r.route = route_pattern_;
      if (async) {
        // The answer comes back on this session's executor, from whatever thread; nothing reads
        // the socket meanwhile (no head is read before the response is written).
        route_->async_handler(r, [self = shared_from_this(), answered](Response later) {
          if (answered->exchange(true)) return;
          net::post(self->stream_.get_executor(),
                    [self, later = std::move(later)]() mutable { self->Finish(std::move(later)); });
        });
      } else {
        resp = route_->handler(r);
      }
    } catch (const std::exception& e) {
      st_->stats.handler_exceptions.fetch_add(1, std::memory_order_relaxed);
      resp = ErrorResponse(500, "handler for " + route_pattern_ + " failed: " + e.what());
      if (async && answered->exchange(true)) return;  // answered before it threw
      return Finish(std::move(resp));
    } catch (...) {
      st_->stats.handler_exceptions.fetch_add(1, std::memory_order_relaxed);
      resp = ErrorResponse(500, "handler for " + route_pattern_ + " failed");
      if (async && answered->exchange(true)) return;
      return Finish(std::move(resp));
    }
    if (async) {
      std::string().swap(req.body());
      body_lease_.Reset();  // the body is freed while the answer is prepared
      return;
    }
    Finish(std::move(resp));
  }

  // Writes the handler's answer (on this session's executor).
  void Finish(Response resp) {
    auto& req = parser_->get();
    std::string().swap(req.body());  // moved from; the charge below covered its buffer
    body_lease_.Reset();             // the body is freed: give its charge back
    // A handler may end the connection with "Connection: close" (a refusal under load).
    auto conn = resp.headers.Get("Connection");
    const bool handler_closes = conn && EqualsIgnoreCase(*conn, "close");
    Write(std::move(resp), req.keep_alive() && !reserved_ && !handler_closes);
  }

  void HandOffToWebSocket() {
    EndRequest();
    stream_.expires_never();
    StartWebSocketSession(st_, stream_.release_socket(), std::move(slot_), route_->websocket,
                          parser_->release(), route_->options.require_auth);
  }

  Response ErrorResponse(int status, std::string_view message) {
    return st_->ErrorResponse(status, message, ContentType());
  }

  void SendError(int status, const std::string& message, bool keep_alive) {
    Write(ErrorResponse(status, message), keep_alive);
  }

  void BeginRequest() {
    if (request_open_) return;
    request_open_ = true;
    head_time_ = Clock::now();
    st_->in_flight.fetch_add(1);
    st_->stats.requests.fetch_add(1, std::memory_order_relaxed);
  }

  void EndRequest() {
    if (!request_open_) return;
    request_open_ = false;
    st_->in_flight.fetch_sub(1);
    // Shutdown() tests in_flight under sessions_mu before it blocks; without taking the mutex
    // here the wake-up could fall between its test and its wait (and it would sleep until the
    // grace deadline). Before draining is set nobody waits: the seq_cst draining load orders
    // this fetch_sub before Shutdown's test.
    if (st_->draining.load()) {
      strobe::MutexLock lock(st_->sessions_mu);
    }
    st_->sessions_cv.NotifyAll();
  }

  // Serialises `resp` into res_. Throws what Beast throws for fields it cannot hold (a header
  // value over 64 KiB) or an invalid status.
  void BuildResponse(Response& resp, bool keep_alive) {
    status_ = resp.status;
    res_ = {};
    res_.version(parser_ && parser_->is_header_done() && parser_->get().version() == 10 ? 10 : 11);
    res_.result(static_cast<unsigned>(resp.status));
    for (auto& [name, value] : resp.headers.entries()) res_.insert(name, value);
    res_.set(http::field::server, "strobe");
    const bool head = method_ == "HEAD";
    const size_t body_size = resp.body.size();
    if (!head) res_.body() = std::move(resp.body);
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    if (head) res_.content_length(body_size);
  }

  void Write(Response resp, bool keep_alive) {
    keep_alive = keep_alive && !st_->draining.load();
    try {
      BuildResponse(resp, keep_alive);
    } catch (...) {
      st_->stats.handler_exceptions.fetch_add(1, std::memory_order_relaxed);
      keep_alive = false;
      Response fallback = Response::Error(500, "response could not be serialised");
      try {
        BuildResponse(fallback, false);
      } catch (...) {
        st_->stats.internal_errors.fetch_add(1, std::memory_order_relaxed);
        EndRequest();
        return Close();
      }
    }
    stream_.expires_after(opts().write_timeout);
    http::async_write(
        stream_, res_,
        beast::bind_front_handler(&HttpSession::OnWrite, shared_from_this(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, std::size_t /*n*/) {
    CountStatus(st_->stats, status_);
    if (st_->observer) {
      double seconds = std::chrono::duration<double>(Clock::now() - head_time_).count();
      st_->observer(route_pattern_, method_, status_, seconds);
    }
    EndRequest();
    route_.reset();
    route_pattern_.clear();
    method_.clear();
    if (ec || !keep_alive) return Close();
    ReadHead();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  StatePtr st_;
  ConnectionSlot slot_;         // after st_: released before the state
  base::ByteLease body_lease_;  // body_'s or the parser body's capacity; before them: freed after
  beast::tcp_stream stream_;
  net::steady_timer idle_timer_;  // keep-alive wait, and the body timeout (I/O thread)
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  static constexpr uint64_t kBodyStart = 64 * 1024;
  static constexpr size_t kReadSize = 64 * 1024;  // one read_some into buffer_
  std::string body_;                              // a Content-Length body being read (ReadBody)
  uint64_t body_length_ = 0;
  size_t body_filled_ = 0;
  bool reading_body_ = false;
  bool body_timed_out_ = false;
  http::response<http::string_body> res_;
  std::shared_ptr<const Router::Route> route_;
  Authenticator::Cache auth_cache_;  // the token set this connection checked last
  std::string route_pattern_;
  std::string method_;
  std::string remote_;
  Clock::time_point head_time_;
  int status_ = 0;
  bool first_ = true;
  bool reading_head_ = false;
  bool request_open_ = false;
  const bool reserved_;  // accepted into the reserved share: one priority-path request
};

}  // namespace

void StartHttpSession(StatePtr st, tcp::socket socket, ConnectionSlot slot, bool reserved) {
  std::make_shared<HttpSession>(std::move(st), std::move(socket), std::move(slot), reserved)->Run();
}

}  // namespace strobed::server::internal
