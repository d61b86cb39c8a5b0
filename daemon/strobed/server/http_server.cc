#include "strobed/server/http_server.h"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <exception>
#include <limits>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "strobe/base/check.h"
#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"

namespace strobed::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Compares in time independent of where the first difference is.
bool TokenMatches(std::string_view got, std::string_view want) {
  unsigned diff = got.size() == want.size() ? 0u : 1u;
  for (size_t i = 0; i < want.size(); ++i) {
    char g = i < got.size() ? got[i] : '\0';
    diff |= static_cast<unsigned>(static_cast<unsigned char>(g ^ want[i]));
  }
  return diff == 0;
}

std::string EndpointString(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  std::string host = addr.to_string();
  if (addr.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Asks the session to finish: idle connections close, busy ones close after their response.
  virtual void OnDrain() = 0;
  // Called on the control thread after the I/O threads stopped: closes the socket so the
  // pending operations complete (aborted) when the io_context runs once more.
  virtual void ForceClose() = 0;
  // Called after that final run, for sessions still held by someone (WebSocket holders).
  virtual void OnStopped() {}
};

}  // namespace

struct HttpServer::State {
  State(ServerOptions o, Router& r) : options(std::move(o)), router(r) {}

  ServerOptions options;
  Router& router;
  // One io_context per I/O thread, each run by its thread alone: a connection lives on one
  // context, so its handlers never run concurrently (no strands) and the threads never wake
  // each other through a shared scheduler (measured: with one shared context and a strand per
  // connection, futex wake/wait and executor bookkeeping took ~40 % of an ingest server's CPU).
  std::vector<std::unique_ptr<net::io_context>> iocs;
  size_t next_ioc = 0;  // round robin over iocs; touched only by the acceptor's handler
  // Keep each thread's run() going while its context has no connection yet.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  ServerStats stats;
  RequestObserver observer;
  std::atomic<bool> draining{false};
  std::atomic<int64_t> in_flight{0};

  strobe::Mutex token_mu;
  std::string token STROBE_GUARDED_BY(token_mu);

  strobe::Mutex sessions_mu;
  strobe::CondVar sessions_cv;
  std::unordered_set<SessionBase*> sessions STROBE_GUARDED_BY(sessions_mu);

  std::string Token() {
    strobe::MutexLock lock(token_mu);
    return token;
  }
  void Register(SessionBase* s) {
    strobe::MutexLock lock(sessions_mu);
    sessions.insert(s);
  }
  void Unregister(SessionBase* s) {
    {
      strobe::MutexLock lock(sessions_mu);
      sessions.erase(s);
    }
    sessions_cv.NotifyAll();
  }
};

namespace {

using StatePtr = std::shared_ptr<HttpServer::State>;

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

class WsSession : public SessionBase,
                  public WebSocketConnection,
                  public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(StatePtr st, tcp::socket socket, std::shared_ptr<const WebSocketHandlers> handlers)
      : st_(std::move(st)), ws_(std::move(socket)), h_(std::move(handlers)) {
    beast::error_code ec;
    auto ep = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
    if (!ec) remote_ = EndpointString(ep);
    st_->Register(this);
  }
  ~WsSession() override {
    st_->stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
    st_->Unregister(this);
  }

  void Accept(http::request<http::string_body> req) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(h_->max_message_bytes);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "strobe"); }));
    ws_.async_accept(req, beast::bind_front_handler(&WsSession::OnAccept, shared_from_this()));
  }

  bool SendText(std::string message) override {
    strobe::MutexLock lock(mu_);
    if (closed_ || queued_bytes_ + message.size() > h_->max_queued_bytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);  // read by dropped_messages() only
      st_->stats.websocket_dropped_messages.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queued_bytes_ += message.size();
    queue_.push_back(std::move(message));
    if (!writing_ && open_) {
      writing_ = true;
      net::post(ws_.get_executor(), [self = shared_from_this()] { self->DoWrite(); });
    }
    return true;
  }

  void Close() override {
    {
      // After shutdown nothing runs the executor: a posted handler would never run and would
      // keep this session (and the server state) alive.
      strobe::MutexLock lock(mu_);
      if (closed_) return;
    }
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      if (self->closing_ || !self->IsOpen()) return;
      self->closing_ = true;
      self->ws_.async_close(websocket::close_code::normal,
                            [self](beast::error_code /*ec*/) { self->NotifyClosed(); });
    });
  }

  uint64_t dropped_messages() const override { return dropped_.load(std::memory_order_relaxed); }
  std::string remote_address() const override { return remote_; }

  void OnDrain() override { Close(); }
  void ForceClose() override {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }
  void OnStopped() override { NotifyClosed(); }

 private:
  void OnAccept(beast::error_code ec) {
    if (ec) return;
    st_->stats.websocket_sessions.fetch_add(1, std::memory_order_relaxed);
    {
      strobe::MutexLock lock(mu_);
      open_ = true;
      if (!queue_.empty() && !writing_) {
        writing_ = true;
        net::post(ws_.get_executor(), [self = shared_from_this()] { self->DoWrite(); });
      }
    }
    if (h_->on_open) {
      try {
        h_->on_open(shared_from_this());
      } catch (const std::exception&) {
        st_->stats.handler_exceptions.fetch_add(1, std::memory_order_relaxed);
      }
    }
    DoRead();
  }

  void DoRead() {
    ws_.async_read(in_, beast::bind_front_handler(&WsSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t /*n*/) {
    if (ec) {
      NotifyClosed();
      return;
    }
    std::string text = beast::buffers_to_string(in_.data());
    in_.consume(in_.size());
    if (h_->on_message) {
      try {
        h_->on_message(*this, text);
      } catch (const std::exception&) {
        st_->stats.handler_exceptions.fetch_add(1, std::memory_order_relaxed);
      }
    }
    DoRead();
  }

  void DoWrite() {
    const std::string* front = nullptr;
    {
      strobe::MutexLock lock(mu_);
      if (queue_.empty() || closed_) {
        writing_ = false;
        return;
      }
      front = &queue_.front();  // deque: stays valid while others push_back
    }
    ws_.text(true);
    ws_.async_write(net::buffer(*front),
                    beast::bind_front_handler(&WsSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t /*n*/) {
    {
      strobe::MutexLock lock(mu_);
      queued_bytes_ -= queue_.front().size();
      queue_.pop_front();
      if (ec) {
        closed_ = true;
        queue_.clear();
        queued_bytes_ = 0;
        writing_ = false;
        return;
      }
      if (queue_.empty()) {
        writing_ = false;
        return;
      }
    }
    DoWrite();
  }

  // open_ is written on the I/O thread (OnAccept) under mu_; reading it under mu_ too keeps the
  // analysis exact at the cost of an uncontended lock on a control path.
  bool IsOpen() {
    strobe::MutexLock lock(mu_);
    return open_;
  }

  void NotifyClosed() {
    {
      strobe::MutexLock lock(mu_);
      closed_ = true;
      if (notified_) return;
      notified_ = true;
    }
    if (h_->on_close) {
      try {
        h_->on_close(*this);
      } catch (const std::exception&) {
        st_->stats.handler_exceptions.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  StatePtr st_;
  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<const WebSocketHandlers> h_;
  beast::flat_buffer in_;
  std::string remote_;
  bool closing_ = false;  // I/O thread only
  std::atomic<uint64_t> dropped_{0};

  strobe::Mutex mu_;
  std::deque<std::string> queue_ STROBE_GUARDED_BY(mu_);
  uint64_t queued_bytes_ STROBE_GUARDED_BY(mu_) = 0;
  bool writing_ STROBE_GUARDED_BY(mu_) = false;
  bool open_ STROBE_GUARDED_BY(mu_) = false;
  bool closed_ STROBE_GUARDED_BY(mu_) = false;
  bool notified_ STROBE_GUARDED_BY(mu_) = false;
};

class HttpSession : public SessionBase, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(StatePtr st, tcp::socket socket)
      : st_(std::move(st)), stream_(std::move(socket)), idle_timer_(stream_.get_executor()) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = EndpointString(ep);
    st_->Register(this);
  }
  ~HttpSession() override {
    EndRequest();
    if (!handed_off_) st_->stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
    st_->Unregister(this);
  }

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&HttpSession::ReadHead, shared_from_this()));
  }

  void OnDrain() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->reading_head_) self->stream_.cancel();
    });
  }
  void ForceClose() override {
    beast::error_code ec;
    stream_.socket().close(ec);
  }

 private:
  const ServerOptions& opts() const { return st_->options; }

  void ReadHead() {
    if (st_->draining.load()) return Close();
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
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&HttpSession::OnHead, shared_from_this()));
  }

  void OnHead(beast::error_code ec, std::size_t /*n*/) {
    reading_head_ = false;
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
    method_ = std::string(req.method_string());
    std::string_view target(req.target().data(), req.target().size());
    size_t q = target.find('?');
    std::string path(target.substr(0, q));
    if (path.empty() || path[0] != '/') {
      st_->stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
      return SendError(400, "request target must be an absolute path", false);
    }
    Router::Match m = st_->router.Find(method_, path);
    const bool body_pending = !parser_->is_done();
    if (m.status == 404) return SendError(404, "no route for " + path, !body_pending);
    if (m.status == 405) {
      Response r = Response::Error(
          405, "method " + method_ + " not allowed for " + path + " (allowed: " + m.allow + ")");
      r.headers.Set("Allow", m.allow);
      return Write(std::move(r), req.keep_alive() && !body_pending);
    }
    route_ = m.route;
    route_pattern_ =
        route_->prefix ? route_->pattern + (route_->pattern == "/" ? "*" : "/*") : route_->pattern;
    if (route_->options.require_auth) {
      std::string token = st_->Token();
      if (!token.empty()) {
        auto auth = req[http::field::authorization];
        std::string_view got(auth.data(), auth.size());
        constexpr std::string_view kBearer = "Bearer ";
        bool ok = got.size() > kBearer.size() &&
                  EqualsIgnoreCase(got.substr(0, kBearer.size()), kBearer) &&
                  TokenMatches(got.substr(kBearer.size()), token);
        if (!ok) {
          st_->stats.unauthorized.fetch_add(1, std::memory_order_relaxed);
          Response r = Response::Error(
              401, got.empty() ? "missing bearer token (Authorization: Bearer <token>)"
                               : "invalid bearer token");
          r.headers.Set("WWW-Authenticate", "Bearer realm=\"strobe\"");
          return Write(std::move(r), req.keep_alive() && !body_pending);
        }
      }
    }
    if (route_->websocket) {
      if (!websocket::is_upgrade(req)) {
        Response r = Response::Error(426, path + " is a WebSocket endpoint");
        r.headers.Set("Upgrade", "websocket");
        return Write(std::move(r), req.keep_alive() && !body_pending);
      }
      return HandOffToWebSocket();
    }
    const uint64_t limit = route_->options.max_body_bytes;
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

  void ReadBodyStart() {
    if (auto cl = parser_->content_length(); cl && !parser_->chunked()) return ReadBody(*cl);
    stream_.expires_after(opts().body_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, std::size_t /*n*/) {
    if (ec) {
      if (ec == http::error::body_limit) {
        st_->stats.body_too_large.fetch_add(1, std::memory_order_relaxed);
        return SendError(413,
                         "request body exceeds the limit of " +
                             std::to_string(route_->options.max_body_bytes) + " bytes for " +
                             route_pattern_,
                         false);
      }
      if (ec == beast::error::timeout) {
        st_->stats.timeouts.fetch_add(1, std::memory_order_relaxed);
        return SendError(408, "request body not received within the timeout", false);
      }
      if (ec == http::error::partial_message || ec == net::error::eof ||
          ec == net::error::connection_reset || ec == net::error::operation_aborted) {
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
    body_.resize(static_cast<size_t>(
        std::min<uint64_t>(length, std::max<uint64_t>(buffer_.size(), kBodyStart))));
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
      body_.resize(static_cast<size_t>(std::min<uint64_t>(body_length_, 2 * body_.size())));
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

  // The body read by ReadBody becomes the message's body, as if the parser had read it.
  void DispatchBody() {
    parser_->get().body() = std::move(body_);
    body_ = {};
    Dispatch();
  }

  void Dispatch() {
    auto& req = parser_->get();
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
    Response resp;
    try {
      resp = route_->handler(r);
    } catch (const std::exception& e) {
      st_->stats.handler_exceptions.fetch_add(1, std::memory_order_relaxed);
      resp = Response::Error(500, "handler for " + route_pattern_ + " failed: " + e.what());
    } catch (...) {
      st_->stats.handler_exceptions.fetch_add(1, std::memory_order_relaxed);
      resp = Response::Error(500, "handler for " + route_pattern_ + " failed");
    }
    Write(std::move(resp), req.keep_alive());
  }

  void HandOffToWebSocket() {
    handed_off_ = true;
    EndRequest();
    stream_.expires_never();
    auto ws = std::make_shared<WsSession>(st_, stream_.release_socket(), route_->websocket);
    ws->Accept(parser_->release());
    if (st_->draining.load()) ws->OnDrain();
  }

  void SendError(int status, const std::string& message, bool keep_alive) {
    Write(Response::Error(status, message), keep_alive);
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

  void Write(Response resp, bool keep_alive) {
    keep_alive = keep_alive && !st_->draining.load();
    status_ = resp.status;
    res_ = {};
    res_.version(parser_ && parser_->get().version() == 10 ? 10 : 11);
    res_.result(static_cast<unsigned>(resp.status));
    for (auto& [name, value] : resp.headers.entries()) res_.insert(name, value);
    res_.set(http::field::server, "strobe");
    const bool head = method_ == "HEAD";
    const size_t body_size = resp.body.size();
    if (!head) res_.body() = std::move(resp.body);
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    if (head) res_.content_length(body_size);
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
  beast::tcp_stream stream_;
  net::steady_timer idle_timer_;  // keep-alive wait, and the body timeout (I/O thread)
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  static constexpr uint64_t kBodyStart = 64 * 1024;
  std::string body_;  // a Content-Length body being read (ReadBody)
  uint64_t body_length_ = 0;
  size_t body_filled_ = 0;
  bool reading_body_ = false;
  bool body_timed_out_ = false;
  http::response<http::string_body> res_;
  std::shared_ptr<const Router::Route> route_;
  std::string route_pattern_;
  std::string method_;
  std::string remote_;
  Clock::time_point head_time_;
  int status_ = 0;
  bool first_ = true;
  bool reading_head_ = false;
  bool request_open_ = false;
  bool handed_off_ = false;
};

void DoAccept(const StatePtr& st) {
  net::io_context& home = *st->iocs[st->next_ioc];
  st->next_ioc = (st->next_ioc + 1) % st->iocs.size();
  st->acceptor->async_accept(home, [st](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !st->acceptor->is_open()) return;
      // Out of file descriptors or similar: back off briefly instead of spinning.
      auto timer = std::make_shared<net::steady_timer>(st->acceptor->get_executor(),
                                                       std::chrono::milliseconds(50));
      timer->async_wait([st, timer](beast::error_code) {
        if (st->acceptor->is_open()) DoAccept(st);
      });
      return;
    }
    if (st->draining.load()) return;
    auto open = st->stats.connections_open.load(std::memory_order_relaxed);
    if (open >= static_cast<int64_t>(st->options.max_connections)) {
      st->stats.connections_rejected.fetch_add(1, std::memory_order_relaxed);
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      st->stats.connections_accepted.fetch_add(1, std::memory_order_relaxed);
      st->stats.connections_open.fetch_add(1, std::memory_order_relaxed);
      std::make_shared<HttpSession>(st, std::move(socket))->Run();
    }
    DoAccept(st);
  });
}

// Strong references to every session still alive (skips those being destroyed).
std::vector<std::shared_ptr<SessionBase>> LiveSessions(HttpServer::State& st) {
  std::vector<std::shared_ptr<SessionBase>> live;
  strobe::MutexLock lock(st.sessions_mu);
  for (SessionBase* s : st.sessions) {
    if (auto* h = dynamic_cast<HttpSession*>(s)) {
      if (auto p = h->weak_from_this().lock()) live.push_back(std::move(p));
    } else if (auto* w = dynamic_cast<WsSession*>(s)) {
      if (auto p = w->weak_from_this().lock()) live.push_back(std::move(p));
    }
  }
  return live;
}

}  // namespace

HttpServer::HttpServer(ServerOptions options, Router& router)
    : state_(std::make_shared<State>(std::move(options), router)) {
  strobe::MutexLock lock(state_->token_mu);
  state_->token = state_->options.auth_token;
}

HttpServer::~HttpServer() {
  if (started_ && !stopped_) (void)Shutdown(std::chrono::milliseconds(0));
}

void HttpServer::SetRequestObserver(RequestObserver observer) {
  state_->observer = std::move(observer);
}

strobe::Status HttpServer::Start() {
  STROBE_CHECK(!started_);
  auto& st = *state_;
  const std::string where = st.options.host + ":" + std::to_string(st.options.port);
  if (st.options.threads < 1 || st.options.threads > 64) {
    return strobe::InvalidArgument("cannot listen for " + st.options.name +
                                   ": threads must be 1..64");
  }
  st.iocs.clear();
  for (int i = 0; i < st.options.threads; ++i) {
    st.iocs.push_back(std::make_unique<net::io_context>(1));
  }
  beast::error_code ec;
  net::ip::address addr = net::ip::make_address(st.options.host, ec);
  if (ec) {
    tcp::resolver resolver(*st.iocs[0]);
    auto results = resolver.resolve(st.options.host, std::to_string(st.options.port), ec);
    if (ec || results.empty()) {
      return strobe::InvalidArgument("cannot listen for " + st.options.name + " on " + where +
                                     ": cannot resolve host '" + st.options.host + "'");
    }
    addr = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(addr, st.options.port);
  st.acceptor.emplace(*st.iocs[0]);
  auto fail = [&](std::string_view what) {
    std::string msg = "cannot listen for " + st.options.name + " on " + where + ": " +
                      std::string(what) + ": " + ec.message();
    if (ec == net::error::address_in_use) {
      msg += " (is another strobe serve running? choose another port with --" + st.options.name +
             "=HOST:PORT or disable it with --" + st.options.name + "=off)";
      return strobe::Unavailable(msg);
    }
    return strobe::Unavailable(msg);
  };
  st.acceptor->open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  st.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("setsockopt");
  st.acceptor->bind(endpoint, ec);
  if (ec) return fail("bind");
  st.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  bound_port_.store(st.acceptor->local_endpoint().port());
  started_ = true;
  DoAccept(state_);
  for (auto& ioc : st.iocs) {
    st.work.push_back(net::make_work_guard(*ioc));
    st.threads.emplace_back([ioc = ioc.get()] { ioc->run(); });
  }
  return strobe::OkStatus();
}

std::string HttpServer::BoundAddress() const {
  if (!started_) return "";
  std::string host = state_->options.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(bound_port_.load());
}

void HttpServer::SetAuthToken(std::string token) {
  strobe::MutexLock lock(state_->token_mu);
  state_->token = std::move(token);
}

strobe::Status HttpServer::Shutdown(std::chrono::milliseconds grace) {
  if (!started_ || stopped_) return strobe::OkStatus();
  stopped_ = true;
  auto& st = *state_;
  const auto deadline = Clock::now() + grace;
  st.draining.store(true);
  net::post(st.acceptor->get_executor(), [s = state_] {
    beast::error_code ec;
    s->acceptor->close(ec);
  });
  std::vector<std::shared_ptr<SessionBase>> live = LiveSessions(st);
  for (auto& s : live) s->OnDrain();
  live.clear();
  bool drained = false;
  {
    strobe::MutexLock lock(st.sessions_mu);
    drained =
        st.sessions_cv.WaitUntil(st.sessions_mu, deadline, [&st]() STROBE_REQUIRES(st.sessions_mu) {
          return st.in_flight.load() == 0 && st.sessions.empty();
        });
  }
  const int64_t left = st.in_flight.load();
  for (auto& ioc : st.iocs) ioc->stop();
  for (auto& t : st.threads) t.join();
  st.work.clear();
  st.threads.clear();
  // Close what is left and run the io_context once more so every pending operation completes
  // (aborted) and releases its session. Afterwards no handler holds a session, so sessions
  // still referenced by WebSocket holders keep the State (and its io_context) alive through
  // their StatePtr and are destroyed safely whenever the holders let go.
  {
    std::vector<std::shared_ptr<SessionBase>> rest = LiveSessions(st);
    for (auto& s : rest) s->ForceClose();
  }
  {
    beast::error_code ec;
    if (st.acceptor) st.acceptor->close(ec);
  }
  for (auto& ioc : st.iocs) {
    ioc->restart();
    ioc->run_for(std::chrono::seconds(2));
  }
  for (auto& s : LiveSessions(st)) s->OnStopped();  // WebSocket holders: on_close
  if (!drained && left > 0) {
    return strobe::DeadlineExceeded(std::to_string(left) + " " + st.options.name +
                                    " request(s) still in flight after the grace period");
  }
  return strobe::OkStatus();
}

int64_t HttpServer::InFlight() const { return state_->in_flight.load(); }

const ServerStats& HttpServer::stats() const { return state_->stats; }

}  // namespace strobed::server
