// WebSocket connections of an HttpServer: the handshake on a socket an HTTP session handed
// over, then reads dispatched to the route's handlers and a bounded outgoing queue that
// SendText fills from any thread (docs in websocket.h; the listener in http_server.cc).

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <exception>

#include "strobed/server/internal/server_state.h"

namespace strobed::server::internal {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

class WsSession : public SessionBase,
                  public WebSocketConnection,
                  public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(StatePtr st, tcp::socket socket, ConnectionSlot slot,
            std::shared_ptr<const WebSocketHandlers> handlers, bool require_auth)
      : st_(std::move(st)),
        slot_(std::move(slot)),
        ws_(std::move(socket)),
        h_(std::move(handlers)),
        auth_(require_auth ? st_->options.auth : nullptr) {
    beast::error_code ec;
    auto ep = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
    if (!ec) remote_ = EndpointString(ep);
    st_->Register(this);
  }
  ~WsSession() override { st_->Unregister(this); }

  void Accept(http::request<http::string_body> req) {
    if (auth_) {
      auto a = req[http::field::authorization];
      authorization_.assign(a.data(), a.size());
    }
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(h_->max_message_bytes);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "strobe"); }));
    ws_.async_accept(req, beast::bind_front_handler(&WsSession::OnAccept, shared_from_this()));
  }

  bool SendText(std::string message) override {
    return SendShared(std::make_shared<const std::string>(std::move(message)));
  }

  bool SendShared(std::shared_ptr<const std::string> message) override {
    strobe::MutexLock lock(mu_);
    if (closed_ || queued_bytes_ + message->size() > h_->max_queued_bytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);  // read by dropped_messages() only
      st_->stats.websocket_dropped_messages.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queued_bytes_ += message->size();
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
  uint64_t queued_bytes() const override {
    strobe::MutexLock lock(mu_);
    return queued_bytes_;
  }

  std::shared_ptr<SessionBase> Lock() override { return weak_from_this().lock(); }
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
    if (!StillAuthorized()) return;
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
    if (!StillAuthorized()) {
      strobe::MutexLock lock(mu_);
      writing_ = false;
      return;
    }
    const std::string* front = nullptr;
    {
      strobe::MutexLock lock(mu_);
      if (queue_.empty() || closed_) {
        writing_ = false;
        return;
      }
      front = queue_.front().get();  // owned by the queue until OnWrite pops it
    }
    ws_.text(true);
    ws_.async_write(net::buffer(*front),
                    beast::bind_front_handler(&WsSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t /*n*/) {
    {
      strobe::MutexLock lock(mu_);
      queued_bytes_ -= queue_.front()->size();
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

  // The upgrade was authenticated against the tokens of its time; after a rotation the same
  // header is checked against the new set, and a stream whose token was revoked is closed
  // (1008 policy violation) instead of streaming on. One acquire load per message otherwise.
  // I/O thread.
  bool StillAuthorized() {
    if (revoked_) return false;
    if (!auth_ || auth_->generation() == auth_generation_) return true;
    const Authenticator::Verdict v = auth_->Check(authorization_, auth_cache_);
    auth_generation_ = auth_cache_.snapshot->generation;
    if (v == Authenticator::Verdict::kAllowed) return true;
    revoked_ = true;
    st_->stats.unauthorized.fetch_add(1, std::memory_order_relaxed);
    if (!closing_) {
      closing_ = true;
      ws_.async_close(websocket::close_reason(websocket::close_code::policy_error, "token revoked"),
                      [self = shared_from_this()](beast::error_code) { self->NotifyClosed(); });
    }
    return false;
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
  ConnectionSlot slot_;  // after st_: released before the state
  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<const WebSocketHandlers> h_;
  beast::flat_buffer in_;
  std::string remote_;
  bool closing_ = false;                             // I/O thread only
  const std::shared_ptr<const Authenticator> auth_;  // null: the route needs no auth
  std::string authorization_;                        // the upgrade request's Authorization header
  // The token generation last checked; the first message checks whatever is current (the
  // upgrade may have been checked against an older set). I/O thread, like auth_cache_.
  uint64_t auth_generation_ = UINT64_MAX;
  Authenticator::Cache auth_cache_;
  bool revoked_ = false;  // the token was revoked: the stream is closing
  std::atomic<uint64_t> dropped_{0};

  mutable strobe::Mutex mu_;
  std::deque<std::shared_ptr<const std::string>> queue_ STROBE_GUARDED_BY(mu_);
  uint64_t queued_bytes_ STROBE_GUARDED_BY(mu_) = 0;
  bool writing_ STROBE_GUARDED_BY(mu_) = false;
  bool open_ STROBE_GUARDED_BY(mu_) = false;
  bool closed_ STROBE_GUARDED_BY(mu_) = false;
  bool notified_ STROBE_GUARDED_BY(mu_) = false;
};

}  // namespace

void StartWebSocketSession(StatePtr st, tcp::socket socket, ConnectionSlot slot,
                           std::shared_ptr<const WebSocketHandlers> handlers,
                           http::request<http::string_body> request, bool require_auth) {
  HttpServer::State& state = *st;  // kept alive by the session
  auto ws = std::make_shared<WsSession>(std::move(st), std::move(socket), std::move(slot),
                                        std::move(handlers), require_auth);
  ws->Accept(std::move(request));
  if (state.draining.load()) ws->OnDrain();
}

}  // namespace strobed::server::internal
