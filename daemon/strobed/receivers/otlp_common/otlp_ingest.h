#pragma once

// strobed::receivers::OtlpIngest: what every OTLP receiver does with one export request once
// its transport has the request bytes (OTLP/HTTP after Content-Type, Content-Encoding and the
// body limits; OTLP/gRPC after gRPC's own framing and decompression): decode it into a batch
// under the key-table budget, push the batch into the pipeline, count the outcome in the
// receivers' shared self-metrics, and say what to answer. The transport maps the outcome to its
// own status codes (HTTP 200/400/429/503, gRPC OK/INVALID_ARGUMENT/RESOURCE_EXHAUSTED/
// UNAVAILABLE); the counting and the partial-success message live here once, so both receivers
// report the same data the same way.
//
// Self-metrics (registered in OtlpIngestOptions::metrics; registering them again from another
// receiver returns the same families):
//   strobe_receiver_accepted_{spans,metric_points,log_records}_total{receiver}
//   strobe_receiver_refused_{spans,metric_points,log_records}_total{receiver,reason}
//   strobe_receiver_refused_requests_total{receiver,signal,reason}
//   strobe_receiver_dropped_attributes_total{receiver,signal,reason}
//
// Thread class: Ingest() and CountRefused() are thread-safe.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "strobe/metrics/family.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/clock.h"
#include "strobed/event/key_quota.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/pipeline/receiver.h"

namespace strobed::receivers {

struct OtlpIngestOptions {
  std::string name;  // the `receiver` label
  // Keys new to the key table: per request, and per client address per window.
  uint32_t max_new_keys_per_request = 1024;
  uint64_t max_new_keys_per_source = 4096;
  std::chrono::nanoseconds new_keys_window = std::chrono::hours(1);
  base::MonotonicClock* clock = nullptr;         // the new-key windows; nullptr: Steady()
  event::KeyTable* keys = nullptr;               // nullptr: KeyTable::Global()
  strobe::metrics::Registry* metrics = nullptr;  // required
};

// What happened to one request, and what the transport should answer.
struct OtlpIngestResult {
  enum class Kind : uint8_t {
    kOk,        // answer success with partial_success {rejected, message} (rejected may be 0)
    kInvalid,   // undecodable: answer "bad data" (HTTP 400, gRPC INVALID_ARGUMENT) + message
    kPushBack,  // the pipeline refused it: answer "retry later" (see push_status, retry_after)
  };
  Kind kind = Kind::kOk;
  uint64_t items = 0;    // spans, points or records decoded (kOk, kPushBack)
  int64_t rejected = 0;  // partial_success.rejected_* (kOk)
  std::string message;   // partial_success.error_message (kOk) or the error (others)
  // kPushBack: kThrottled (memory soft limit: slow down), kRefused or kShutdown.
  pipeline::PushStatus push_status = pipeline::PushStatus::kAccepted;
  std::string reason;                        // kPushBack: the refuse reason's metric label
  std::chrono::milliseconds retry_after{0};  // kPushBack: the pipeline's hint (0: none)
};

class OtlpIngest {
 public:
  explicit OtlpIngest(OtlpIngestOptions options);

  // Decodes `body` (`encoding`) for `signal`, pushes it into `ingest` and counts the outcome.
  // `source` is the client's address without the port (charged for keys new to the table).
  // Thread-safe; blocks only as long as Ingest::Push may.
  OtlpIngestResult Ingest(pipeline::Ingest& ingest, otlp::Signal signal, otlp::Encoding encoding,
                          std::string_view body, std::string_view source);

  // Counts a request the transport refused itself (bad media type, too large, memory, not
  // running): `items` refused items (0 when unknown) with `reason`, and one refused request.
  // Thread-safe.
  void CountRefused(otlp::Signal signal, std::string_view reason, uint64_t items);

  const std::string& name() const { return options_.name; }

 private:
  struct Counters {
    strobe::metrics::Family<strobe::metrics::Counter>* accepted = nullptr;
    strobe::metrics::Family<strobe::metrics::Counter>* refused = nullptr;
  };
  // Counts the key refusals of one decoded request that is answered with success: refused
  // metric points and dropped span/log attributes, by reason.
  void CountKeyRefusals(otlp::Signal signal, const otlp::DecodeStats& stats);

  OtlpIngestOptions options_;
  Counters counters_[3];  // by otlp::Signal
  strobe::metrics::Family<strobe::metrics::Counter>* refused_requests_ = nullptr;
  strobe::metrics::Family<strobe::metrics::Counter>* dropped_attributes_ = nullptr;
  base::MonotonicClock& clock_;
  event::NewKeyQuota key_quota_;  // per client address
};

// The client address of "host:port", "[v6]:port", gRPC's "ipv4:host:port" / "ipv6:[v6]:port"
// without the port and the gRPC scheme: the source OtlpIngest charges for new keys.
std::string_view SourceAddress(std::string_view peer);

// A receiver's `endpoint` option: "127.0.0.1:4318", ":0" (loopback, free port), "0.0.0.0:4318",
// "[::1]:4317". InvalidArgument without a port or with a bad one.
strobe::Status ParseListenEndpoint(std::string_view text, std::string& host, uint16_t& port);

}  // namespace strobed::receivers
