#pragma once

// The `otlp_grpc` receiver: OTLP/gRPC (default 127.0.0.1:4317; port 0 picks a free one) on
// gRPC C++'s callback API with one generic service, so a request's message bytes (a
// grpc::ByteBuffer, already taken out of gRPC's length-prefixed framing and decompressed by
// gRPC) go straight into strobe's own OTLP protobuf decoder (otlp/otlp_decode.h): no generated
// message parsing, no second copy when gRPC hands the message in one slice.
//
//   Methods      /opentelemetry.proto.collector.trace.v1.TraceService/Export,
//                ...metrics.v1.MetricsService/Export, ...logs.v1.LogsService/Export;
//                any other method → UNIMPLEMENTED.
//   Success      OK with an Export*ServiceResponse; partial_success carries the rejected count
//                and a message when the decoder refused points or the pipeline's drop policy
//                discarded the data (same rules and counters as otlp_http: OtlpIngest).
//   Bad data     INVALID_ARGUMENT with the decoder's message (a request that is not an
//                Export*ServiceRequest: truncated, wrong message, invalid ids, ...).
//   Too large    a message above max_recv_msg_size (after gRPC's gzip/deflate decompression, so
//                a decompression bomb stops there) → RESOURCE_EXHAUSTED from gRPC itself.
//   Push-back    the pipeline's soft memory limit → RESOURCE_EXHAUSTED, its hard limit or a
//                full queue → UNAVAILABLE, the ingress budget refusing the message →
//                UNAVAILABLE; each with a google.rpc.RetryInfo in the status details
//                (grpc-status-details-bin) carrying the pipeline's retry hint, which the OTLP
//                specification makes the signal that RESOURCE_EXHAUSTED may be retried.
//   Shutdown     Shutdown(deadline) drains: calls already running finish (and are answered);
//                new calls are refused with UNAVAILABLE + RetryInfo; at the deadline what is
//                left is cancelled and the listener closes. After it returns the receiver
//                never pushes again.
//   Auth         the daemon's one Authenticator (auth.token / auth.token_file, rotated on
//                SIGHUP for every listener at once): without "authorization: Bearer <token>"
//                metadata that it accepts → UNAUTHENTICATED.
//   Connections  max_concurrent_streams per HTTP/2 connection; server keepalive pings
//                (keepalive_time, keepalive_timeout), the client ping policy gRPC enforces
//                (min_ping_interval: a client pinging faster gets GOAWAY), max_connection_idle
//                and max_connection_age (0: off) close idle and long-lived connections; and a
//                gRPC resource quota (max_memory) bounds the memory of all connections'
//                buffers. gRPC 1.51 has no per-listener connection count limit: the memory
//                quota is the bound.
//
// Self-metrics: the receivers' own (OtlpIngest: accepted/refused items by reason, refused
// requests, dropped attributes) with receiver=<name>, and the listener's:
//   strobe_grpc_requests_total{listener,signal,code}       calls answered, by gRPC status name
//   strobe_grpc_request_duration_seconds{listener,signal}  call start → answer
//   strobe_grpc_received_bytes_total{listener,signal}      request message bytes (decompressed)
// signal is traces, metrics, logs or unknown (an unimplemented method). Refusal reasons of
// this receiver besides the pipeline's: invalid, memory, unauthenticated, shutdown, and
// read_failed (the request message never arrived whole: above max_recv_msg_size — gRPC
// answered RESOURCE_EXHAUSTED — or the client cancelled or half-closed without a message).
//
// Threading: gRPC's callback threads run the calls; each call decodes and pushes on the thread
// that completed its read (Ingest::Push blocks only as the pipeline's block policy says).
// Thread class: Start/Shutdown from the control thread; the rest is gRPC's.

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>
#include <grpcpp/support/status.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "strobe/metrics/family.h"
#include "strobe/metrics/registry.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/pipeline/plugin_registry.h"
#include "strobed/pipeline/receiver.h"
#include "strobed/receivers/otlp_common/otlp_ingest.h"

namespace grpc {
class GenericCallbackServerContext;
class Server;
}  // namespace grpc

namespace strobed::base {
class ByteBudget;
}  // namespace strobed::base
namespace strobed::server {
class Authenticator;
}  // namespace strobed::server

namespace strobed::receivers {

struct OtlpGrpcOptions {
  std::string name = "otlp_grpc";  // the `receiver` / `listener` label
  std::string host = "127.0.0.1";
  uint16_t port = 4317;
  uint64_t max_recv_msg_size = uint64_t{20} << 20;  // as otlp_http's max_body_bytes
  uint32_t max_concurrent_streams = 100;            // per connection
  uint64_t max_memory = uint64_t{256} << 20;        // gRPC resource quota of the listener
  std::chrono::milliseconds keepalive_time = std::chrono::hours(2);
  std::chrono::milliseconds keepalive_timeout = std::chrono::seconds(20);
  std::chrono::milliseconds min_ping_interval = std::chrono::minutes(5);
  std::chrono::milliseconds max_connection_idle{0};  // 0: never closed for idleness
  std::chrono::milliseconds max_connection_age{0};   // 0: no age limit
  std::chrono::milliseconds max_connection_age_grace = std::chrono::seconds(30);
  // The bearer-token check shared by every listener of the daemon; null: no auth.
  std::shared_ptr<const server::Authenticator> auth;
  uint32_t max_new_keys_per_request = 1024;
  uint64_t max_new_keys_per_source = 4096;
  std::chrono::nanoseconds new_keys_window = std::chrono::hours(1);
  base::MonotonicClock* clock = nullptr;         // call durations, key windows; null: Steady()
  event::KeyTable* keys = nullptr;               // nullptr: KeyTable::Global()
  strobe::metrics::Registry* metrics = nullptr;  // required
  // Request messages (and the copy of one gRPC hands in several slices) are charged here while
  // they are decoded (null: not charged).
  base::ByteBudget* ingress_budget = nullptr;
};

// The OTLP signal of a gRPC method path; nullopt for any other method.
std::optional<otlp::Signal> SignalOfMethod(std::string_view method);

// The bytes of `buffer` as one contiguous view in `bytes`: its single slice when gRPC delivered
// the message in one (no copy; `single` holds a reference to it), else the slices copied into
// `copy` in order. False when gRPC could not read the buffer. For the receiver and its fuzz
// target.
bool FlattenByteBuffer(const grpc::ByteBuffer& buffer, grpc::Slice& single, std::string& copy,
                       std::string_view& bytes);

class OtlpGrpcReceiver final : public pipeline::Receiver {
 public:
  explicit OtlpGrpcReceiver(OtlpGrpcOptions options);
  ~OtlpGrpcReceiver() override;

  strobe::Status Start(pipeline::Ingest& ingest) override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

  // "127.0.0.1:4317" once started ("" before).
  std::string BoundAddress() const;
  std::string Endpoint() const override { return BoundAddress(); }
  uint16_t BoundPort() const { return bound_port_; }

 private:
  class Service;
  class ExportReactor;
  friend class Service;
  friend class ExportReactor;

  // Answers one Export call of `signal` whose request message is `request`: the status to
  // finish with, and on OK the encoded response in `response`. Thread-safe.
  grpc::Status Export(otlp::Signal signal, std::string_view peer, const grpc::ByteBuffer& request,
                      std::string& response);
  // Whether the call's authorization metadata passes the daemon's Authenticator (or no auth).
  bool Authorized(const grpc::GenericCallbackServerContext& ctx) const;
  // Counts one finished call.
  void CountCall(std::string_view signal, int code, uint64_t start_ns);

  OtlpGrpcOptions options_;
  base::MonotonicClock& clock_;
  OtlpIngest ingest_helper_;  // decode, push, count (shared with otlp_http)
  // Acquire/release: Start() publishes `ingest` before the server runs any call; Shutdown()
  // clears it once gRPC has finished every call.
  std::atomic<pipeline::Ingest*> ingest_{nullptr};
  strobe::metrics::Family<strobe::metrics::Counter>* requests_ = nullptr;
  strobe::metrics::Family<strobe::metrics::Counter>* received_bytes_ = nullptr;
  strobe::metrics::Family<strobe::metrics::Histogram>* durations_ = nullptr;
  // Export calls between their start and OnDone; and the drain flag Shutdown sets. Both
  // seq_cst: see ExportReactor's constructor. drain_mu_/drain_cv_ wake Shutdown's wait.
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> draining_{false};
  std::mutex drain_mu_;
  std::condition_variable drain_cv_;
  std::unique_ptr<Service> service_;  // outlives server_ (declared first, destroyed last)
  std::unique_ptr<grpc::Server> server_;
  std::string bound_host_;
  uint16_t bound_port_ = 0;
};

void RegisterOtlpGrpcReceiver(pipeline::PluginRegistry& registry);

}  // namespace strobed::receivers
