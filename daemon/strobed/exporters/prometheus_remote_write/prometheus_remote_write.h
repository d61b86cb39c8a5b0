#pragma once

// The `prometheus_remote_write` exporter: pushes metric points to a Prometheus remote-write 1.0
// receiver (Prometheus with --web.enable-remote-write-receiver, VictoriaMetrics, Mimir, Thanos
// receive, ...) as snappy-compressed protobuf WriteRequests (Debian's libsnappy, block
// format), on a kept-alive connection (base::HttpClient), with the headers the protocol
// requires: Content-Encoding: snappy, Content-Type: application/x-protobuf,
// X-Prometheus-Remote-Write-Version: 0.1.0, User-Agent: strobe-remote-write; plus the
// configured ones (e.g. Authorization).
//
// Mapping, splitting and ordering: write_request.h (the prometheus exporter's names and labels;
// cumulative data only: delta points are refused and counted, reason delta_temporality).
//
// Result (pipeline/exporter.h; the pipeline owns retry): one Export may take several requests,
// sent in order. 2xx → delivered. 429 and 5xx, connection errors and timeouts → kRetry with the
// server's Retry-After (seconds or HTTP-date) as the hint, and the remaining requests are not
// sent; the pipeline re-sends the whole batch, so samples of requests that already succeeded
// are written again (identical samples at identical timestamps: Prometheus and
// VictoriaMetrics accept and deduplicate them). Other 4xx (and a request the client refuses to
// send) → that request's samples are dropped, counted (reason http_4xx), and the server's
// answer is logged (first 256 bytes, at most once per 10 s); the other requests go on. When
// every request failed so, the batch is kFailed, else kOk. Export never sleeps or retries and
// takes at most `timeout` in total.
//
// Self-metrics (registry in the options), with the other exporters' names where they exist:
//   strobe_exporter_sent_metric_points_total{exporter}             points delivered
//   strobe_exporter_send_failed_metric_points_total{exporter,reason} points not delivered:
//       delta_temporality, invalid (refused by the mapping), permanent_error (every request of
//       the batch got a 4xx)
//   strobe_exporter_retries_total{exporter}                        batches handed back
//   strobe_exporter_remote_write_samples_total{exporter}           samples delivered
//   strobe_exporter_remote_write_series_total{exporter}            TimeSeries delivered
//   strobe_exporter_remote_write_requests_total{exporter,code}     requests by outcome: 2xx,
//       4xx, 429, 5xx, error (no HTTP answer)
//   strobe_exporter_remote_write_failed_samples_total{exporter,reason} samples dropped: http_4xx
//   strobe_exporter_remote_write_request_duration_seconds{exporter} histogram, per request
//       (snappy and HTTP exchange)
//
// Thread class: Export/Flush on the pipeline worker thread; Shutdown from the control thread,
// never concurrently with Export; Cancel from any thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "strobe/metrics/counter.h"
#include "strobe/metrics/family.h"
#include "strobe/metrics/histogram.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/clock.h"
#include "strobed/base/http_client.h"
#include "strobed/exporters/prometheus_remote_write/write_request.h"
#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/plugin_registry.h"

namespace spdlog {
class logger;
}  // namespace spdlog

namespace strobed::exporters {

struct RemoteWriteExporterOptions {
  std::string name = "prometheus_remote_write";  // the `exporter` label
  std::string endpoint = "http://127.0.0.1:9090/api/v1/write";
  std::map<std::string, std::string> headers;
  std::chrono::milliseconds timeout{10'000};  // one Export call: all its requests
  WriteRequestOptions mapping;
  event::KeyTable* keys = nullptr;               // nullptr: KeyTable::Global()
  base::WallClock* wall_clock = nullptr;         // time of points without one; nullptr: System()
  strobe::metrics::Registry* metrics = nullptr;  // required (the factory passes the host's)
  spdlog::logger* logger = nullptr;              // rejected requests; nullptr: not logged
};

class RemoteWriteExporter final : public pipeline::Exporter {
 public:
  // InvalidArgument for an endpoint that is not http://host[:port]/path, limits out of range
  // (max_samples_per_request 0, max_request_bytes < 1024) or an external label whose name is
  // not a valid label name or starts with "__".
  static strobe::Result<std::unique_ptr<RemoteWriteExporter>> Create(
      RemoteWriteExporterOptions options);
  ~RemoteWriteExporter() override;

  pipeline::ExportResult Export(const event::Batch& batch) noexcept override;
  // Cancels the HTTP client: a request waiting on a dead backend ends now. Any thread.
  void Cancel() noexcept override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

 private:
  RemoteWriteExporter(RemoteWriteExporterOptions options, std::unique_ptr<base::HttpClient> client,
                      std::string target);
  enum class SendOutcome : uint8_t { kOk, kRetry, kFailed };
  // Compresses and sends one request. `retry_after` gets the server's hint on kRetry.
  SendOutcome Send(const WriteRequestBuilder::Request& request,
                   std::chrono::steady_clock::time_point deadline,
                   std::chrono::nanoseconds& retry_after);
  void LogRejected(int status, std::string_view body);

  RemoteWriteExporterOptions options_;
  std::unique_ptr<base::HttpClient> client_;
  std::string target_;
  std::vector<base::HttpHeader> headers_;
  event::KeyTable& keys_;
  base::WallClock& wall_clock_;
  WriteRequestBuilder builder_;
  std::string compressed_;  // reused snappy output
  std::chrono::steady_clock::time_point last_log_{};

  strobe::metrics::Counter* sent_points_ = nullptr;
  strobe::metrics::Counter* failed_delta_ = nullptr;
  strobe::metrics::Counter* failed_invalid_ = nullptr;
  strobe::metrics::Counter* failed_permanent_ = nullptr;
  strobe::metrics::Counter* retries_ = nullptr;
  strobe::metrics::Counter* samples_ = nullptr;
  strobe::metrics::Counter* series_ = nullptr;
  strobe::metrics::Counter* failed_samples_4xx_ = nullptr;
  strobe::metrics::Counter* requests_[5] = {};  // 2xx, 4xx, 429, 5xx, error
  strobe::metrics::Histogram* duration_ = nullptr;
};

void RegisterRemoteWriteExporter(pipeline::PluginRegistry& registry);

}  // namespace strobed::exporters
