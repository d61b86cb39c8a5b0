#pragma once

// Private to strobed/server: what the listener (http_server.cc), the HTTP connections
// (http_session.cc) and the WebSocket connections (websocket_session.cc) share. One
// HttpServer::State per listener, held by shared_ptr by the server and by every session, so a
// session that outlives Shutdown (a WebSocket still referenced by its holder) keeps the state
// and its io_contexts alive.
//
// Who calls what: the acceptor (http_server.cc) hands each accepted socket to
// StartHttpSession; an HTTP session whose route is a WebSocket endpoint hands its socket and
// upgrade request to StartWebSocketSession. Every session registers itself in State::sessions
// so Shutdown can drain and close it.
//
// Thread class: State's members are documented one by one; sessions run on the I/O thread of
// their io_context, except the SessionBase calls made by Shutdown on the control thread.

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
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
};

// "host:port" of a peer ("[::1]:port" for IPv6).
inline std::string EndpointString(const boost::asio::ip::tcp::endpoint& ep) {
  const auto addr = ep.address();
  std::string host = addr.to_string();
  if (addr.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

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

  strobe::Mutex token_mu;
  std::string token STROBE_GUARDED_BY(token_mu);

  strobe::Mutex sessions_mu;
  strobe::CondVar sessions_cv;
  std::unordered_set<internal::SessionBase*> sessions STROBE_GUARDED_BY(sessions_mu);

  std::string Token() {
    strobe::MutexLock lock(token_mu);
    return token;
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

using StatePtr = std::shared_ptr<HttpServer::State>;

// Serves HTTP on an accepted socket (http_session.cc). The caller counted the connection in
// stats.connections_open; the session uncounts it when it ends (or hands it to a WebSocket).
// On the socket's I/O thread.
void StartHttpSession(StatePtr st, boost::asio::ip::tcp::socket socket);

// Completes the WebSocket handshake for `request` on `socket` and runs the session with
// `handlers` (websocket_session.cc); the session takes over the connection's count in
// stats.connections_open. On the socket's I/O thread.
void StartWebSocketSession(StatePtr st, boost::asio::ip::tcp::socket socket,
                           std::shared_ptr<const WebSocketHandlers> handlers,
                           boost::beast::http::request<boost::beast::http::string_body> request);

}  // namespace internal
}  // namespace strobed::server
