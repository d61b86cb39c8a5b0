#pragma once

// strobed::server::Router: the table of HTTP routes one HttpServer listener serves.
//
//   server::Router router;
//   router.Handle("GET", "/api/v1/status", [](const server::Request& r) { ... });
//   router.Handle("POST", "/v1/traces", handler, {.max_body_bytes = 64 << 20});
//   router.Handle("GET", "/debug/*", handler);                // prefix route
//   router.Handle("GET", "/healthz", handler, {.require_auth = false});
//   router.HandleWebSocket("/api/v1/stream", ws_handlers);
//
// Patterns are exact paths, or a prefix ending in "/*" (matches the prefix itself and
// everything below it). The longest matching pattern wins. A path that matches a pattern
// registered only for other methods gives 405 with an Allow header; no match gives 404.
// HEAD is served by the GET handler with the body dropped.
//
// Handlers run on the server's I/O threads: they must not block for long (no waiting on
// the network or on a pipeline queue with a long deadline). A handler that throws gets a
// 500 error; the exception is counted, never propagated. A request whose answer takes long by
// nature (/debug/pprof/profile?seconds=30) uses HandleAsync: its handler returns at once and
// answers later, from any thread, through the Responder it was given.
//
// Thread class: thread-safe. Routes may be added while the server runs (a shared mutex
// guards the table; lookups take it shared).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/server/http.h"
#include "strobed/server/websocket.h"

namespace strobed::server {

using Handler = std::function<Response(const Request&)>;
// Answers an asynchronous request. Thread-safe; the first call wins, later ones are ignored.
// A Responder dropped uncalled leaves the connection waiting until the server shuts down, so
// every path of an AsyncHandler must call it.
using Responder = std::function<void(Response)>;
// Starts answering `request` (which it must copy what it keeps of: the Request dies when the
// handler returns) and returns without blocking; calls the Responder later. Runs on an I/O
// thread like Handler; a throw answers 500 (if the Responder was not called yet).
using AsyncHandler = std::function<void(const Request&, Responder)>;

inline constexpr uint64_t kDefaultMaxBodyBytes = uint64_t{1} << 20;  // 1 MiB

struct RouteOptions {
  // Largest accepted request body (Content-Length or the de-chunked total); larger → 413.
  // 0: the listener's ServerOptions::max_body_bytes (server.max_body_bytes for the API).
  uint64_t max_body_bytes = 0;
  // When the listener has a bearer token configured, requests without it get 401.
  bool require_auth = true;
};

class Router {
 public:
  struct Route {
    std::string method;  // "" for WebSocket routes (GET upgrade)
    std::string pattern;
    bool prefix = false;
    Handler handler;             // set for plain routes
    AsyncHandler async_handler;  // set for HandleAsync routes instead of `handler`
    std::shared_ptr<const WebSocketHandlers> websocket;  // set for WebSocket routes
    RouteOptions options;
  };

  // The outcome of Find(). `route` is set when status == 200.
  struct Match {
    int status = 404;   // 200 found, 404 no such path, 405 path exists, other method
    std::string allow;  // for 405: "GET, POST"
    std::shared_ptr<const Route> route;
  };

  // Registers `handler` for `method` ("GET", "POST", ...) and `pattern`. Registering the same
  // method and pattern twice replaces the earlier handler.
  void Handle(std::string method, std::string pattern, Handler handler, RouteOptions options = {});

  // Registers an asynchronous handler (see AsyncHandler); otherwise as Handle().
  void HandleAsync(std::string method, std::string pattern, AsyncHandler handler,
                   RouteOptions options = {});

  // Registers a WebSocket endpoint at `pattern` (exact). A plain GET without an Upgrade header
  // on that path gets 426 Upgrade Required.
  void HandleWebSocket(std::string pattern, WebSocketHandlers handlers, RouteOptions options = {});

  // Looks up `method` and `path`. Thread-safe.
  Match Find(std::string_view method, std::string_view path) const;

  // Every registered route (for /api/v1/status and docs). Thread-safe.
  std::vector<std::shared_ptr<const Route>> Routes() const;

  // The largest max_body_bytes any route sets (0 for routes using the listener's default).
  uint64_t MaxBodyBytes() const;

 private:
  void Add(std::shared_ptr<Route> route, std::string pattern);

  mutable strobe::SharedMutex mu_;
  std::vector<std::shared_ptr<const Route>> routes_ STROBE_GUARDED_BY(mu_);
};

}  // namespace strobed::server
