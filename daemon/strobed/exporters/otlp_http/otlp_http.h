#pragma once

// The `otlp_http` exporter: sends pipeline batches to an OTLP/HTTP endpoint (an OpenTelemetry
// Collector, another strobe, any OTLP backend) as protobuf, gzip-compressed, on a kept-alive
// connection (base::HttpClient): spans to <endpoint>/v1/traces, metric points to /v1/metrics,
// log records to /v1/logs.
//
// Result per signal (pipeline/exporter.h; the pipeline owns retry and backoff): 2xx → kOk
// (a partial_success counts the rejected items); connection errors, timeouts and the
// retryable statuses of the OTLP specification (429, 502, 503, 504) → kRetry, with the
// server's Retry-After (seconds or HTTP-date) as the retry hint; other statuses → kFailed
// (the request will not get better), counted. Export never sleeps or retries: one call takes
// at most `timeout` in total — the signals share that budget, and once the backend failed to
// connect or answer, the remaining signals are handed back for retry without another try.
//
// Only plain http:// endpoints for now (strobe speaks to collectors on the host or a trusted
// network; the client has a seam for TLS). Headers (e.g. Authorization) are sent with every
// request.
//
// Self-metrics (the registry in the options): strobe_exporter_sent_{spans,metric_points,
// log_records}_total{exporter}, strobe_exporter_send_failed_..._total{exporter,reason}
// (reason: rejected_by_server = partial success, permanent_error), and
// strobe_exporter_retries_total{exporter}: requests handed back to the pipeline for retry.
// Items the pipeline finally gives up on are counted by the pipeline, once
// (strobe_pipeline_dropped_events_total{reason="retry_exhausted"}).
//
// Thread class: Export/Flush on the pipeline worker thread; Shutdown from the control
// thread, never concurrently with Export; Cancel from any thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "strobe/metrics/family.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/http_client.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/plugin_registry.h"

namespace strobed::exporters {

struct OtlpHttpExporterOptions {
  std::string name = "otlp_http";  // the `exporter` label
  std::string endpoint = "http://127.0.0.1:4318";
  std::map<std::string, std::string> headers;
  bool gzip = true;
  std::chrono::milliseconds timeout{10'000};     // one Export call: connect, write, read
  const event::KeyTable* keys = nullptr;         // nullptr: KeyTable::Global()
  strobe::metrics::Registry* metrics = nullptr;  // required (the factory passes the host's)
};

class OtlpHttpExporter final : public pipeline::Exporter {
 public:
  // InvalidArgument for an endpoint that is not http://host[:port][/base] (base/url.h).
  static strobe::Result<std::unique_ptr<OtlpHttpExporter>> Create(OtlpHttpExporterOptions options);
  ~OtlpHttpExporter() override;

  pipeline::ExportResult Export(const event::Batch& batch) noexcept override;
  // Cancels the HTTP client (base::HttpClient::Cancel): a request waiting on a dead backend
  // ends now. Any thread.
  void Cancel() noexcept override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

 private:
  OtlpHttpExporter(OtlpHttpExporterOptions options, std::unique_ptr<base::HttpClient> client,
                   std::string base_path);
  // One request; `transport_failed` says the backend could not be reached or did not answer.
  void Send(otlp::Signal signal, const std::string& body, uint64_t items,
            std::chrono::steady_clock::time_point deadline, pipeline::ExportResult& result,
            bool& transport_failed);

  OtlpHttpExporterOptions options_;
  std::unique_ptr<base::HttpClient> client_;
  std::string base_path_;
  std::vector<base::HttpHeader> headers_;
  std::string targets_[3];
  strobe::metrics::Family<strobe::metrics::Counter>* sent_[3] = {};
  strobe::metrics::Family<strobe::metrics::Counter>* failed_[3] = {};
  strobe::metrics::Counter* retries_ = nullptr;
};

void RegisterOtlpHttpExporter(pipeline::PluginRegistry& registry);

}  // namespace strobed::exporters
