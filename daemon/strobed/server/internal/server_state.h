#pragma once

// Private to strobed/server: what the listener (http_server.cc), the HTTP connections
// (http_session.cc) and the WebSocket connections (websocket_session.cc) share. One
// HttpServer::State per listener, held by shared_ptr by the server and by every session, so a
// session that outlives Shutdown (a WebSocket still referenced by its holder) keeps the state
// and its io_contexts alive.
//
// Who calls what: the acceptor (http_server.cc) hands each accepted socket to
// StartHttpSession together with its ConnectionSlot; an HTTP session whose route is a WebSocket
// endpoint hands its socket, slot and upgrade request to StartWebSocketSession. Every session
// registers itself in State::sessions so Shutdown can drain and close it, and so the acceptor
// can evict the connection that has waited longest for a request head when the listener is
// full (SessionBase::waiting_since).
//
// Thread class: State's members are documented one by one; sessions run on the I/O thread of
// their io_context, except the SessionBase calls made by Shutdown on the control thread.

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/server/http_server.h"
#include "strobed/server/router.h"
#include "strobed/server/websocket.h"

namespace strobed::server {
namespace internal {

// One connection, as the listener sees it during Shutdown.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // A strong reference, or nullptr when the session is being destroyed (its destructor may be
  // running on an I/O thread while Shutdown walks State::sessions under sessions_mu).
  virtual std::shared_ptr<SessionBase> Lock() = 0;
  // Asks the session to finish: idle connections close, busy ones close after their response.
  virtual void OnDrain() = 0;
  // Called on the control thread after the I/O threads stopped: closes the socket so the
  // pending operations complete (aborted) when the io_context runs once more.
  virtual void ForceClose() = 0;
  // Called after that final run, for sessions still held by someone (WebSocket holders).
  virtual void OnStopped() {}
  // Closes the connection on its own I/O thread. Called by the acceptor (any thread) only
  // after it claimed the session (waiting_since: a timestamp -> kClaimed).
  virtual void Evict() {}

  // Steady-clock nanoseconds since the session began waiting for a request head (a fresh
  // connection, a keep-alive connection between requests, or one whose head is still partial);
  // 0 while a request is being served (or for a WebSocket); kClaimed once the acceptor chose it
  // for eviction. The session moves it between a timestamp and 0 with CAS/exchange on its own
  // I/O thread, once per request; the acceptor claims with CAS only from a timestamp, so a
  // session serving a request is never evicted, and a claimed one closes at its next step.
  static constexpr int64_t kClaimed = -1;
  std::atomic<int64_t> waiting_since{0};
};

// "host:port" of a peer ("[::1]:port" for IPv6).
inline std::string EndpointString(const boost::asio::ip::tcp::endpoint& ep) {
  const auto addr = ep.address();
  std::string host = addr.to_string();
  if (addr.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

// A counted connection: connections_open (and, with max_connections_per_client, the count of
// its client address) is released when the slot is destroyed. Move-only; the HTTP session
// moves it into the WebSocket session on an upgrade. Declare it after the StatePtr it points
// into, so it is destroyed first.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  ConnectionSlot(HttpServer::State* st, boost::asio::ip::address client, bool per_client)
      : st_(st), client_(std::move(client)), per_client_(per_client) {}
  ConnectionSlot(ConnectionSlot&& o) noexcept
      : st_(std::exchange(o.st_, nullptr)), client_(o.client_), per_client_(o.per_client_) {}
  ConnectionSlot& operator=(ConnectionSlot&& o) noexcept {
    if (this != &o) {
      Release();
      st_ = std::exchange(o.st_, nullptr);
      client_ = o.client_;
      per_client_ = o.per_client_;
    }
    return *this;
  }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot() { Release(); }

 private:
  void Release();  // defined after State
  HttpServer::State* st_ = nullptr;
  boost::asio::ip::address client_;
  bool per_client_ = false;
};

}  // namespace internal

struct HttpServer::State {
  State(ServerOptions o, Router& r) : options(std::move(o)), router(r) {}

  ServerOptions options;
  Router& router;
  // One io_context per I/O thread, each run by its thread alone: a connection lives on one
  // context, so its handlers never run concurrently (no strands) and the threads never wake
  // each other through a shared scheduler (measured: with one shared context and a strand per
  // connection, futex wake/wait and executor bookkeeping took ~40 % of an ingest server's CPU).
  std::vector<std::unique_ptr<boost::asio::io_context>> iocs;
  size_t next_ioc = 0;  // round robin over iocs; touched only by the acceptor's handler
  // Keep each thread's run() going while its context has no connection yet.
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  ServerStats stats;
  RequestObserver observer;
  std::atomic<bool> draining{false};
  std::atomic<int64_t> in_flight{0};

  strobe::Mutex sessions_mu;
  strobe::CondVar sessions_cv;
  std::unordered_set<internal::SessionBase*> sessions STROBE_GUARDED_BY(sessions_mu);

  // Open connections by client address; maintained only when max_connections_per_client > 0
  // (at accept and close, never per request).
  strobe::Mutex clients_mu;
  std::map<boost::asio::ip::address, uint32_t> clients STROBE_GUARDED_BY(clients_mu);

  // The body of an error the server itself answers (options.error_responder, or the daemon's
  // JSON error). `content_type` is the request's Content-Type ("" when unknown).
  Response ErrorResponse(int status, std::string_view message, std::string_view content_type) {
    if (options.error_responder) return options.error_responder(status, message, content_type);
    return Response::Error(status, message);
  }

  void Register(internal::SessionBase* s) {
    strobe::MutexLock lock(sessions_mu);
    sessions.insert(s);
  }
  void Unregister(internal::SessionBase* s) {
    {
      strobe::MutexLock lock(sessions_mu);
      sessions.erase(s);
    }
    sessions_cv.NotifyAll();
  }
};

namespace internal {

inline void ConnectionSlot::Release() {
  if (st_ == nullptr) return;
  st_->stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
  if (per_client_) {
    strobe::MutexLock lock(st_->clients_mu);
    auto it = st_->clients.find(client_);
    if (it != st_->clients.end() && --it->second == 0) st_->clients.erase(it);
  }
  st_ = nullptr;
}

using StatePtr = std::shared_ptr<HttpServer::State>;

// Serves HTTP on an accepted socket (http_session.cc). The caller counted the connection in
// `slot`; the session releases it when it ends (or hands it to a WebSocket). `reserved`: the
// connection was accepted into the share kept for options.priority_paths, so it serves one
// request to those paths (anything else gets 503) and then closes. Any thread.
void StartHttpSession(StatePtr st, boost::asio::ip::tcp::socket socket, ConnectionSlot slot,
                      bool reserved);

// Completes the WebSocket handshake for `request` on `socket` and runs the session with
// `handlers` (websocket_session.cc); the session takes over the connection's `slot`. With
// `require_auth` (the route's option) the session checks the upgrade's Authorization header
// again whenever options.auth rotates and closes itself (1008, counted as unauthorized) once
// the token is no longer accepted. On the socket's I/O thread.
void StartWebSocketSession(StatePtr st, boost::asio::ip::tcp::socket socket, ConnectionSlot slot,
                           std::shared_ptr<const WebSocketHandlers> handlers,
                           boost::beast::http::request<boost::beast::http::string_body> request,
                           bool require_auth);

}  // namespace internal
}  // namespace strobed::server
