#pragma once

// The `otlp_http` exporter: sends pipeline batches to an OTLP/HTTP endpoint (an OpenTelemetry
// Collector, another strobe, any OTLP backend) as protobuf, gzip-compressed, on a kept-alive
// connection: spans to <endpoint>/v1/traces, metric points to /v1/metrics, log records to
// /v1/logs.
//
// Retries (per request, inside Export): connection errors and the retryable statuses of the
// OTLP specification (429, 502, 503, 504) are retried with exponential backoff (initial
// backoff × 2^attempt, capped at max_backoff) with full jitter, or after the server's
// Retry-After when it sends one (capped at max_backoff × 4). When max_elapsed has passed the
// batch is handed back to the pipeline with kRetry (the pipeline's retry budget applies).
// Other 4xx answers are permanent: kFailed, counted. A 200 with partial_success counts the
// rejected items. Shutdown() interrupts a backoff wait.
//
// Only plain http:// endpoints (no TLS; strobe speaks to collectors on the host or a trusted
// network). Headers (e.g. Authorization) are sent with every request.
//
// Self-metrics (strobe::metrics registry): strobe_exporter_sent_{spans,metric_points,
// log_records}_total{exporter}, strobe_exporter_send_failed_..._total{exporter,reason}
// (reason: rejected_by_server = partial success, permanent_error, retry_exhausted),
// strobe_exporter_retries_total{exporter}.
//
// Thread class: Export/Flush on the pipeline worker thread; Shutdown from the control
// thread (may run concurrently with an Export to interrupt its backoff).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobe/metrics/family.h"
#include "strobe/metrics/registry.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/plugin_registry.h"

namespace strobed::exporters {

struct OtlpHttpExporterOptions {
  std::string name = "otlp_http";  // the `exporter` label
  std::string endpoint = "http://127.0.0.1:4318";
  std::map<std::string, std::string> headers;
  bool gzip = true;
  std::chrono::milliseconds timeout{10'000};  // per request (connect, write, read)
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5'000};
  std::chrono::milliseconds max_elapsed{30'000};
  uint64_t seed = 0;                             // jitter randomness (tests pin it)
  const event::KeyTable* keys = nullptr;         // nullptr: KeyTable::Global()
  strobe::metrics::Registry* metrics = nullptr;  // required (the factory passes the host's)
};

// The outcome of one HTTP exchange (or a transport error: status 0).
struct HttpReply {
  int status = 0;
  std::string body;
  std::string retry_after;  // header value, "" when absent
  std::string error;        // transport error text when status == 0
};

class OtlpHttpExporter final : public pipeline::Exporter {
 public:
  // InvalidArgument for an endpoint that is not http://host[:port][/base].
  static strobe::Result<std::unique_ptr<OtlpHttpExporter>> Create(OtlpHttpExporterOptions options);
  ~OtlpHttpExporter() override;

  pipeline::ExportResult Export(const event::Batch& batch) noexcept override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

  // Test hook: replaces the real wait between retries (called with the chosen delay).
  void SetSleepForTest(std::function<void(std::chrono::milliseconds)> sleep) {
    sleep_ = std::move(sleep);
  }
  // The delay before retry `attempt` (0-based) given a Retry-After header value.
  std::chrono::milliseconds BackoffDelay(int attempt, std::string_view retry_after);

 private:
  struct Connection;
  OtlpHttpExporter(OtlpHttpExporterOptions options, std::string host, std::string port,
                   std::string base_path);
  pipeline::ExportResult Send(otlp::Signal signal, const std::string& body, uint64_t items);
  HttpReply Post(const std::string& target, const std::string& body);
  void Wait(std::chrono::milliseconds delay);

  OtlpHttpExporterOptions options_;
  std::string host_;
  std::string port_;
  std::string base_path_;
  std::unique_ptr<Connection> conn_;
  std::mt19937_64 rng_;
  std::function<void(std::chrono::milliseconds)> sleep_;
  strobe::Mutex mu_;
  strobe::CondVar cv_;
  bool stopping_ STROBE_GUARDED_BY(mu_) = false;
  strobe::metrics::Family<strobe::metrics::Counter>* sent_[3] = {};
  strobe::metrics::Family<strobe::metrics::Counter>* failed_[3] = {};
  strobe::metrics::Counter* retries_ = nullptr;
};

void RegisterOtlpHttpExporter(pipeline::PluginRegistry& registry);

}  // namespace strobed::exporters
