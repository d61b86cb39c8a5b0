#pragma once

// Encoding strobe's events as OTLP export requests (protobuf), and OTLP export responses in
// both encodings. Used by the OTLP/HTTP exporter, the receiver (responses), the round-trip
// tests and `strobe bench otlp`.
//
// Requests are built with the protoc-generated classes of strobe's .proto files. Events are
// grouped into ResourceSpans/ScopeSpans (ResourceMetrics/ScopeMetrics, ...) by the identity of
// their Resource and InstrumentationScope pointers, preserving order; metric points become one
// Metric per consecutive run of (name, type, temporality).
//
// Thread class: thread-safe (pure functions; the KeyTable is thread-safe).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"
#include "strobed/otlp/otlp_decode.h"

namespace strobed::otlp {

// Serialized Export{Trace,Metrics,Logs}ServiceRequest of the given events.
std::string EncodeTraces(std::span<const event::Span> spans, const event::KeyTable& keys);
std::string EncodeMetrics(std::span<const event::MetricPoint> points, const event::KeyTable& keys);
std::string EncodeLogs(std::span<const event::LogRecord> logs, const event::KeyTable& keys);

// Export*ServiceResponse. `rejected` > 0 or a non-empty message fills partial_success;
// otherwise the response is empty (full success), as the OTLP specification says.
std::string EncodeResponse(Signal signal, Encoding encoding, int64_t rejected,
                           std::string_view error_message);

struct PartialSuccess {
  int64_t rejected = 0;
  std::string error_message;
};
// Parses an Export*ServiceResponse body (protobuf). InvalidArgument when malformed.
strobe::Result<PartialSuccess> DecodeResponse(Signal signal, std::string_view body);

// The google.rpc.Status body OTLP/HTTP servers send with 4xx/5xx responses (protobuf
// encoding: code = 1, message = 2), and its JSON form {"code":N,"message":"..."}.
std::string EncodeRpcStatus(Encoding encoding, int32_t grpc_code, std::string_view message);

// The type URL of google.rpc.RetryInfo inside a google.protobuf.Any.
inline constexpr std::string_view kRetryInfoTypeUrl = "type.googleapis.com/google.rpc.RetryInfo";

// A protobuf google.rpc.Status {code, message, details: [Any{google.rpc.RetryInfo{retry_delay}}]}:
// what an OTLP/gRPC server puts in grpc-status-details-bin when it pushes back and the client
// may retry after `retry_delay_ns` (the OTLP specification's throttling signal). The delay is
// encoded as a google.protobuf.Duration (seconds, nanos).
std::string EncodeRpcStatusWithRetry(int32_t grpc_code, std::string_view message,
                                     uint64_t retry_delay_ns);

// A google.rpc.Status read back (protobuf): the code, the message, and the retry delay of its
// first RetryInfo detail (nullopt: none). Other details are skipped.
struct RpcStatus {
  int32_t code = 0;
  std::string message;
  std::optional<uint64_t> retry_delay_ns;
};
// InvalidArgument when `bytes` is not a well-formed google.rpc.Status (malformed wire data, a
// RetryInfo with a negative or overflowing delay). Never throws; for clients and tests.
strobe::Result<RpcStatus> DecodeRpcStatus(std::string_view bytes);

}  // namespace strobed::otlp
