#pragma once

// strobed::server::HttpServer: one HTTP/1.1 listener (Boost.Beast inside, not in this header)
// serving a Router. The daemon runs one for its API (--http); a receiver (OTLP/HTTP) creates
// its own with its own Router and limits. Several servers may run in one process.
//
//   server::Router router;  router.Handle(...);
//   server::ServerOptions o;  o.name = "otlp_http"; o.host = "127.0.0.1"; o.port = 4318;
//   server::HttpServer http(o, router);
//   STROBE_RETURN_IF_ERROR(http.Start());          // binds; port 0 picks a free one
//   LOG("listening on " + http.BoundAddress());    // "127.0.0.1:4318"
//   ...
//   http.Shutdown(std::chrono::seconds(5));        // drain, then stop
//
// Protocol: HTTP/1.1 keep-alive (and 1.0), Content-Length or chunked request bodies,
// WebSocket upgrade on routes registered with HandleWebSocket.
//
// Threads: each of `threads` I/O threads runs its own event loop; the acceptor (on the first)
// deals new connections out in turn, and a connection stays on its thread for life, so its
// handlers run one at a time without locks, and a handler that blocks delays only the
// connections of its own thread (and, on the first thread, new accepts). Content-Length bodies
// are read straight into the request's string in as few reads as the socket allows.
//
// Limits and timeouts (slowloris-safe): every request head must arrive completely within
// read_header_timeout (from accept for the first request; from its first byte for later
// requests on a keep-alive connection) and be at most max_header_bytes (else 431; the trailer
// section of a chunked body has the same bound); a keep-alive connection with no new request
// for idle_timeout is closed; the body must arrive within body_timeout; a body over the route's
// max_body_bytes (or the listener's, for routes that set none) gets 413 (checked against
// Content-Length before reading, and against the running total for chunked bodies). Nothing a
// client sends and nothing a handler returns can throw out of a connection: an exception while
// parsing gives 431 (a field Beast cannot hold) or 400, one from a handler or while
// serialising its response gives 500; the connection is closed and the event counted.
//
// Memory: every request body buffer is charged to options.body_budget (when set) before it is
// allocated, step by step as it grows (64 KiB, then doubling), never the announced
// Content-Length up front, so a client that announces 20 MiB and sends little costs little.
// When the budget refuses a step, the request gets 503 with Retry-After and the listener's
// error shape, the connection is closed and the refusal counted (Stats::memory_refused); the
// charge is given back once the handler has returned. A handler that answers with
// "Connection: close" (as the OTLP receiver does when decompression is refused) ends the
// connection after its response. The head buffer of a connection is
// capped at max_header_bytes + 64 KiB (not charged: part of the per-connection overhead).
//
// Connection limit: at most max_connections connections are open. When all but
// reserved_connections are taken, a new connection first evicts the connection that has waited
// longest for a request head (idle keep-alive, nothing sent yet, or a partial head), so idle
// sockets cannot lock the listener out; when every connection is busy with a request, the new
// one takes one of the reserved_connections slots, which serve one request to priority_paths
// (/healthz, /readyz, /metrics by default; anything else gets 503) and then close; past that
// it is closed at accept. max_connections_per_client (0: off) bounds the connections of one
// client address. Every drop and refusal is counted in Stats.
//
// Auth: when options.auth (an Authenticator, auth.h, shared by every listener of the daemon)
// holds tokens, every route with require_auth answers 401 with WWW-Authenticate: Bearer unless
// the request carries `Authorization: Bearer <an accepted token>`. The comparison is
// constant-time. The owner of the Authenticator changes the tokens while the listeners run
// (Authenticator::Set); a connection checks the current set on every request, and a WebSocket
// stream re-checks its upgrade's token after a rotation and closes (1008) once it is revoked.
//
// Shutdown(grace): stops accepting, closes idle keep-alive connections, lets requests whose
// head has arrived complete (their response carries Connection: close), waits for them until
// the grace period ends, then closes what is left and joins the I/O threads.
//
// Thread class: thread-safe. Start/Shutdown from the control thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/server/auth.h"
#include "strobed/server/router.h"

namespace strobed::base {
class ByteBudget;
}  // namespace strobed::base

namespace strobed::server {

// Builds the body of an error the server answers itself (400, 401, 404, 405, 408, 413, 426,
// 431, 500, 503) from its status and message and the request's Content-Type ("" when the head
// could not be parsed). Must not throw. Lets a listener speak its protocol's error shape (the
// OTLP receiver answers google.rpc.Status); the default is Response::Error.
using ErrorResponder =
    std::function<Response(int status, std::string_view message, std::string_view content_type)>;

struct ServerOptions {
  std::string name = "http";  // for logs and errors ("cannot listen for http on ...")
  std::string host = "127.0.0.1";
  uint16_t port = 9800;  // 0 picks a free port; see BoundAddress()
  int threads = 1;       // I/O threads (event loops) running handlers
  uint64_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds read_header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  uint32_t max_connections = 1024;
  // Of max_connections, kept for requests to priority_paths when the rest are busy.
  uint32_t reserved_connections = 16;
  std::vector<std::string> priority_paths = {"/healthz", "/readyz", "/metrics"};
  uint32_t max_connections_per_client = 0;  // per client address; 0: no limit
  // Body limit of routes whose RouteOptions::max_body_bytes is 0.
  uint64_t max_body_bytes = kDefaultMaxBodyBytes;
  // The bearer-token check (auth.h); null or without tokens: no auth. Shared: the daemon hands
  // the same one to every listener and rotates its tokens on SIGHUP.
  std::shared_ptr<const Authenticator> auth;
  ErrorResponder error_responder;  // empty: Response::Error
  // Charged for request bodies as they are read (see "Memory" above); may be shared by every
  // listener of the process and by decompression. Null: bodies are not charged. Must outlive
  // the server.
  base::ByteBudget* body_budget = nullptr;
};

// Checks `o` (timeouts positive, limits non-zero, reserved_connections < max_connections);
// InvalidArgument naming the field otherwise. HttpServer::Start calls it.
strobe::Status ValidateServerOptions(const ServerOptions& o);

// Counters of one listener. Relaxed atomics: each is an independent monotonic count read by
// the metrics collection; no ordering with other memory is implied.
struct ServerStats {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_rejected{0};  // closed at accept: over max_connections
  std::atomic<uint64_t> connections_evicted{0};   // waiting for a head, closed to make room
  std::atomic<uint64_t> connections_per_client_rejected{0};  // over max_connections_per_client
  std::atomic<uint64_t> reserved_refused{0};  // on a reserved slot, not a priority path (503)
  std::atomic<int64_t> connections_open{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> responses_2xx{0};
  std::atomic<uint64_t> responses_3xx{0};
  std::atomic<uint64_t> responses_4xx{0};
  std::atomic<uint64_t> responses_5xx{0};
  std::atomic<uint64_t> unauthorized{0};
  std::atomic<uint64_t> body_too_large{0};
  std::atomic<uint64_t> header_too_large{0};
  std::atomic<uint64_t> bad_requests{0};        // unparseable HTTP
  std::atomic<uint64_t> timeouts{0};            // connections closed by a timeout mid-request
  std::atomic<uint64_t> handler_exceptions{0};  // a handler threw, or its response could not
                                                // be serialised (500)
  std::atomic<uint64_t> internal_errors{0};     // an exception escaped a connection's code (closed)
  std::atomic<uint64_t> memory_refused{0};      // body_budget refused a body buffer's growth (503)
  std::atomic<uint64_t> websocket_sessions{0};
  std::atomic<uint64_t> websocket_dropped_messages{0};
};

// Called after each response is written (or failed), on the I/O thread: the route pattern
// ("" when none matched), the method, the status and the time from head received to
// response written. Must be cheap and thread-safe (it records a histogram).
using RequestObserver = std::function<void(std::string_view route, std::string_view method,
                                           int status, double seconds)>;

class HttpServer {
 public:
  HttpServer(ServerOptions options, Router& router);
  ~HttpServer();  // Shutdown(0) if still running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Installs the observer; call before Start.
  void SetRequestObserver(RequestObserver observer);

  // Binds and starts the I/O threads. Errors: Unavailable when the address is in use
  // ("cannot listen for http on 127.0.0.1:9800: address already in use (another strobe
  // serve running?)"), InvalidArgument for an unparseable host. Call once.
  strobe::Status Start();

  // "host:port" actually bound (the real port when options.port was 0); "" before Start.
  std::string BoundAddress() const;
  uint16_t BoundPort() const { return bound_port_.load(); }

  // Graceful stop; see the header comment. Returns DeadlineExceeded (after closing them) when
  // requests were still in flight at the deadline. Idempotent.
  strobe::Status Shutdown(std::chrono::milliseconds grace);

  // Requests whose head has been read and whose response is not yet written.
  int64_t InFlight() const;
  const ServerStats& stats() const;

  struct State;  // Beast/Asio internals (internal/server_state.h)

 private:
  std::shared_ptr<State> state_;
  std::atomic<uint16_t> bound_port_{0};
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace strobed::server
