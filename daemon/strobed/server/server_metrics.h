#pragma once

// strobed::server::ServerMetrics: exports the self-metrics of any number of HttpServer
// listeners into a metrics Registry, labelled by listener name:
//
//   strobe_http_requests_total{listener,code}            responses written, by status class
//   strobe_http_request_duration_seconds{listener,route} head received → response written
//   strobe_http_connections_open{listener}               gauge
//   strobe_http_connections_accepted_total{listener}
//   strobe_http_dropped_connections_total{listener,reason}
//                                   max_connections (closed at accept: every slot busy),
//                                   evicted (waited longest for a head; closed to make room),
//                                   per_client_limit, reserved_only (a reserved slot asked for
//                                   a path other than the priority paths: 503)
//   strobe_http_rejected_requests_total{listener,reason} unauthorized, body_too_large,
//                                                        header_too_large, bad_request,
//                                                        timeout, handler_exception,
//                                                        internal_error, memory (the
//                                                        ingress budget refused the
//                                                        body: 503 + Retry-After)
//   strobe_http_websocket_sessions_total{listener}
//   strobe_http_websocket_dropped_messages_total{listener}
//
//   ServerMetrics m(registry);
//   m.Attach("otlp_http", server);   // before server.Start(); installs the request observer
//   ...
//   m.Detach(server);                // before the server is destroyed
//
// Thread class: thread-safe.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "strobe/base/thread_annotations.h"
#include "strobed/server/http_server.h"

namespace strobe::metrics {
class Registry;
class Histogram;
template <typename T>
class Family;
}  // namespace strobe::metrics

namespace strobed::server {

class ServerMetrics {
 public:
  explicit ServerMetrics(strobe::metrics::Registry& registry);
  ~ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  void Attach(std::string listener, HttpServer& server);
  void Detach(const HttpServer& server);

 private:
  struct Entry {
    std::string listener;
    const HttpServer* server;
  };
  strobe::metrics::Registry& registry_;
  strobe::metrics::Family<strobe::metrics::Histogram>* durations_ = nullptr;
  std::shared_ptr<std::mutex> mu_;
  std::shared_ptr<std::vector<Entry>> entries_;  // guarded by *mu_ (shared with callbacks)
};

}  // namespace strobed::server
