#pragma once

// The `otlp_http` receiver: OTLP/HTTP on POST /v1/traces, /v1/metrics and /v1/logs (default
// 127.0.0.1:4318; port 0 picks a free one), as the OTLP specification describes:
//
//   Content-Type       application/x-protobuf or application/json (OTLP/JSON); anything
//                      else → 415.
//   Content-Encoding   gzip, deflate or identity (every member of a multi-member gzip
//                      body); anything else → 415. Inflated size is bounded by
//                      max_decompressed_bytes → 413.
//   Memory             the body being read (by the HTTP server) and the inflated output are
//                      charged to the process's ingress budget (ingress_budget, shared with
//                      every HTTP listener) as they grow, before they are allocated; when it
//                      refuses: 503 + Retry-After, reason `memory`.
//   Body               Content-Length or chunked (the OpenTelemetry JS SDK sends chunked
//                      bodies without Content-Length); above max_body_bytes → 413.
//   Success            200 with an Export*ServiceResponse in the request's encoding; when the
//                      pipeline's drop policy discarded the data, partial_success carries the
//                      rejected count and a message.
//   Bad data           400 with a google.rpc.Status body (code 3, the decoder's message).
//   Errors             every error on this port, whether the handler or the HTTP server
//                      answers it (400, 401, 404, 405, 408, 413, 415, 431, 500, 503), has a
//                      google.rpc.Status body: JSON when the request's Content-Type is
//                      application/json, protobuf otherwise (OtlpErrorResponse).
//   Back-pressure      429 + Retry-After when the memory limiter is above its soft limit,
//                      503 + Retry-After when refused (hard limit, queue full), 503 while
//                      shutting down — clients retry those, never 400s.
//
// Attribute keys (the key table is shared by every client, event/attribute.h): a request may
// add at most max_new_keys_per_request keys new to the table, and one client address at most
// max_new_keys_per_source per new_keys_window. A metric data point whose attributes (or
// resource or scope attributes) need a key refused by these limits, by a full table or for its
// length is refused as a whole and reported as partial success (rejected_data_points and a
// message), counted in strobe_receiver_refused_metric_points_total{reason} with reason
// key_request_limit, key_source_limit, key_table_full or key_too_long; the rest of the request
// is accepted. A span or log attribute whose key is refused is dropped, counted in the
// element's dropped_attributes_count and in
// strobe_receiver_dropped_attributes_total{receiver,signal,reason}.
//
// Auth            the daemon's one Authenticator (auth.token / auth.token_file), shared with
//                  the API listener and rotated on SIGHUP for both at once: 401 with
//                  WWW-Authenticate: Bearer and a google.rpc.Status body (code 16) without an
//                  accepted "Authorization: Bearer <token>". The receiver has no token option
//                  of its own (the former `auth_token` is refused with an error naming
//                  auth.token), so no listener can be left behind by a rotation.
//
// Self-metrics (in the strobe::metrics registry, names as operators know them from the
// OpenTelemetry Collector): strobe_receiver_accepted_{spans,metric_points,log_records}_total
// {receiver} and strobe_receiver_refused_..._total{receiver,reason}; reason is one of
// invalid, too_large, unsupported_media_type, memory, pipeline_dropped, or the pipeline's refuse
// reasons (memory_soft_limit, memory_hard_limit, queue_full, shutdown). Every refused
// request is also counted in strobe_receiver_refused_requests_total{receiver,signal,reason}
// (a request rejected as invalid has no trustworthy item count). Requests refused before the
// handler runs (401, 404, 405, 408, 413 announced by Content-Length, 431, a malformed HTTP
// request, dropped or evicted connections) are counted by the HTTP server's own metrics,
// strobe_http_rejected_requests_total and strobe_http_dropped_connections_total with
// listener=<receiver name>, when the host passes its ServerMetrics (http_metrics).
//
// Thread class: Handle() is thread-safe; Start/Shutdown from the control thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "strobe/metrics/family.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/clock.h"
#include "strobed/event/key_quota.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/pipeline/plugin_registry.h"
#include "strobed/pipeline/receiver.h"
#include "strobed/receivers/otlp_common/otlp_ingest.h"
#include "strobed/server/http.h"

namespace strobed::base {
class ByteBudget;
}  // namespace strobed::base

namespace strobed::server {
class Authenticator;
class HttpServer;
class Router;
class ServerMetrics;
}  // namespace strobed::server

namespace strobed::receivers {

struct OtlpHttpOptions {
  std::string name = "otlp_http";  // the `receiver` label
  std::string host = "127.0.0.1";
  uint16_t port = 4318;
  int threads = 2;
  uint64_t max_body_bytes = uint64_t{20} << 20;          // on the wire (compressed)
  uint64_t max_decompressed_bytes = uint64_t{64} << 20;  // after inflating
  // The bearer-token check shared by every listener of the daemon (PluginServices::auth);
  // null: no auth.
  std::shared_ptr<const server::Authenticator> auth;
  // Keys new to the key table: per request, and per client address per window.
  uint32_t max_new_keys_per_request = 1024;
  uint64_t max_new_keys_per_source = 4096;
  std::chrono::nanoseconds new_keys_window = std::chrono::hours(1);
  base::MonotonicClock* clock = nullptr;          // the new-key windows; nullptr: Steady()
  event::KeyTable* keys = nullptr;                // nullptr: KeyTable::Global()
  strobe::metrics::Registry* metrics = nullptr;   // required (the factory passes the host's)
  server::ServerMetrics* http_metrics = nullptr;  // the listener's strobe_http_*; null: none
  // Request bodies and their inflated output are charged here (null: not charged).
  base::ByteBudget* ingress_budget = nullptr;
};

// The google.rpc.Status body OTLP/HTTP requires for an error: JSON when `content_type` is
// application/json, protobuf otherwise (also when the request's type is unknown). The gRPC code
// follows the HTTP status (400 INVALID_ARGUMENT, 401 UNAUTHENTICATED, 404 NOT_FOUND, 405
// UNIMPLEMENTED, 408 DEADLINE_EXCEEDED, 413/431 RESOURCE_EXHAUSTED, 415 INVALID_ARGUMENT,
// 429/503 UNAVAILABLE, other 5xx INTERNAL). Never throws (an allocation failure aside).
server::Response OtlpErrorResponse(int status, std::string_view message,
                                   std::string_view content_type);

class OtlpHttpReceiver final : public pipeline::Receiver {
 public:
  explicit OtlpHttpReceiver(OtlpHttpOptions options);
  ~OtlpHttpReceiver() override;

  strobe::Status Start(pipeline::Ingest& ingest) override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

  // "127.0.0.1:4318" once started ("" before).
  std::string BoundAddress() const;
  std::string Endpoint() const override { return BoundAddress(); }
  uint16_t BoundPort() const;

  // Serves one request for `signal` (what the routes call; public for socket-free tests).
  // Requires Start() to have bound `ingest` (else 503).
  server::Response Handle(otlp::Signal signal, const server::Request& request);

 private:
  server::Response Refuse(otlp::Signal signal, otlp::Encoding enc, int status, int32_t grpc_code,
                          std::string_view reason, std::string message, uint64_t items);

  OtlpHttpOptions options_;
  // Acquire/release: Start() publishes `ingest` before the server runs any handler.
  std::atomic<pipeline::Ingest*> ingest_{nullptr};
  OtlpIngest ingest_helper_;  // decode, push, count (shared with otlp_grpc)
  std::unique_ptr<server::Router> router_;
  std::unique_ptr<server::HttpServer> server_;
};

void RegisterOtlpHttpReceiver(pipeline::PluginRegistry& registry);

}  // namespace strobed::receivers
