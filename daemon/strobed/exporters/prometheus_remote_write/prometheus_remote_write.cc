#include "strobed/exporters/prometheus_remote_write/prometheus_remote_write.h"

#include <snappy.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "strobe/base/check.h"
#include "strobe/metrics/labels.h"
#include "strobed/exporters/prometheus/naming.h"

namespace strobed::exporters {
namespace {

constexpr const char* kRequestCodes[] = {"2xx", "4xx", "429", "5xx", "error"};
constexpr size_t kCode2xx = 0, kCode4xx = 1, kCode429 = 2, kCode5xx = 3, kCodeError = 4;
constexpr size_t kMaxLoggedBody = 256;
constexpr auto kLogEvery = std::chrono::seconds(10);

}  // namespace

strobe::Result<std::unique_ptr<RemoteWriteExporter>> RemoteWriteExporter::Create(
    RemoteWriteExporterOptions options) {
  auto url = base::ParseUrl(options.endpoint);
  if (!url.ok()) return url.status().WithContext("prometheus_remote_write exporter endpoint");
  if (url->scheme != base::UrlScheme::kHttp) {
    return strobe::InvalidArgument("prometheus_remote_write exporter endpoint '" +
                                   options.endpoint +
                                   "' must start with http:// (TLS is not supported yet)");
  }
  if (options.mapping.max_samples_per_request == 0) {
    return strobe::InvalidArgument("prometheus_remote_write: max_samples_per_request must be > 0");
  }
  if (options.mapping.max_request_bytes < 1024) {
    return strobe::InvalidArgument("prometheus_remote_write: max_request_bytes must be >= 1KiB");
  }
  auto& ext = options.mapping.external_labels;
  for (const auto& l : ext) {
    if (!strobe::metrics::IsValidLabelName(l.name) || l.name.starts_with("__")) {
      return strobe::InvalidArgument("prometheus_remote_write: external label '" + l.name +
                                     "' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not "
                                     "starting with __)");
    }
  }
  std::sort(ext.begin(), ext.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  base::HttpClientOptions co;
  co.connect_timeout = options.timeout;
  co.request_timeout = options.timeout;
  co.user_agent = "strobe-remote-write";
  STROBE_ASSIGN_OR_RETURN(std::unique_ptr<base::HttpClient> client,
                          base::HttpClient::Create(*url, co));
  std::string target = url->target;
  return std::unique_ptr<RemoteWriteExporter>(
      new RemoteWriteExporter(std::move(options), std::move(client), std::move(target)));
}

RemoteWriteExporter::RemoteWriteExporter(RemoteWriteExporterOptions options,
                                         std::unique_ptr<base::HttpClient> client,
                                         std::string target)
    : options_(std::move(options)),
      client_(std::move(client)),
      target_(std::move(target)),
      keys_(options_.keys != nullptr ? *options_.keys : event::KeyTable::Global()),
      wall_clock_(options_.wall_clock != nullptr ? *options_.wall_clock
                                                 : base::WallClock::System()),
      builder_(options_.mapping, keys_) {
  headers_.push_back({"X-Prometheus-Remote-Write-Version", "0.1.0"});
  headers_.push_back({"Content-Encoding", "snappy"});
  for (const auto& [k, v] : options_.headers) headers_.push_back({k, v});
  STROBE_CHECK(options_.metrics != nullptr);  // required: the factory passes the host's
  strobe::metrics::Registry& reg = *options_.metrics;
  const std::string& me = options_.name;
  // Fixed, valid names: registration fails only on a programming error.
  auto sent = reg.AddCounterFamily(
      {"strobe_exporter_sent_metric_points_total", "Items an exporter delivered.", ""},
      {"exporter"});
  auto failed = reg.AddCounterFamily({"strobe_exporter_send_failed_metric_points_total",
                                      "Items an exporter could not deliver, by reason.", ""},
                                     {"exporter", "reason"});
  auto retries =
      reg.AddCounterFamily({"strobe_exporter_retries_total",
                            "Requests an exporter handed back to the pipeline for retry.", ""},
                           {"exporter"});
  auto samples =
      reg.AddCounterFamily({"strobe_exporter_remote_write_samples_total",
                            "Samples a prometheus_remote_write exporter delivered (2xx).", ""},
                           {"exporter"});
  auto series = reg.AddCounterFamily(
      {"strobe_exporter_remote_write_series_total",
       "TimeSeries messages a prometheus_remote_write exporter delivered (2xx).", ""},
      {"exporter"});
  auto requests = reg.AddCounterFamily(
      {"strobe_exporter_remote_write_requests_total",
       "Remote-write requests by outcome (2xx, 4xx, 429, 5xx, error = no HTTP answer).", ""},
      {"exporter", "code"});
  auto failed_samples = reg.AddCounterFamily(
      {"strobe_exporter_remote_write_failed_samples_total",
       "Samples a prometheus_remote_write exporter dropped, by reason (http_4xx).", ""},
      {"exporter", "reason"});
  auto duration = reg.AddHistogramFamily(
      {"strobe_exporter_remote_write_request_duration_seconds",
       "Time to compress and send one remote-write request and read its answer.", "seconds"},
      {"exporter"}, {.unit_scale = 1e-9});
  STROBE_CHECK(sent.ok() && failed.ok() && retries.ok() && samples.ok() && series.ok() &&
               requests.ok() && failed_samples.ok() && duration.ok());
  sent_points_ = &(*sent)->With({{"exporter", me}});
  failed_delta_ = &(*failed)->With({{"exporter", me}, {"reason", "delta_temporality"}});
  failed_invalid_ = &(*failed)->With({{"exporter", me}, {"reason", "invalid"}});
  failed_permanent_ = &(*failed)->With({{"exporter", me}, {"reason", "permanent_error"}});
  retries_ = &(*retries)->With({{"exporter", me}});
  samples_ = &(*samples)->With({{"exporter", me}});
  series_ = &(*series)->With({{"exporter", me}});
  for (size_t i = 0; i < 5; ++i) {
    requests_[i] = &(*requests)->With({{"exporter", me}, {"code", kRequestCodes[i]}});
  }
  failed_samples_4xx_ = &(*failed_samples)->With({{"exporter", me}, {"reason", "http_4xx"}});
  duration_ = &(*duration)->With({{"exporter", me}});
}

RemoteWriteExporter::~RemoteWriteExporter() = default;

void RemoteWriteExporter::LogRejected(int status, std::string_view body) {
  if (options_.logger == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (last_log_.time_since_epoch().count() != 0 && now - last_log_ < kLogEvery) return;
  last_log_ = now;
  std::string text(body.substr(0, kMaxLoggedBody));
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  options_.logger->warn("{}: the remote-write endpoint refused a request with HTTP {}: {}",
                        options_.name, status, text);
}

RemoteWriteExporter::SendOutcome RemoteWriteExporter::Send(
    const WriteRequestBuilder::Request& request, std::chrono::steady_clock::time_point deadline,
    std::chrono::nanoseconds& retry_after) {
  const auto start = std::chrono::steady_clock::now();
  const auto left = deadline - start;
  if (left <= std::chrono::nanoseconds(0)) return SendOutcome::kRetry;  // this call's time is up
  compressed_.resize(snappy::MaxCompressedLength(request.body.size()));
  size_t compressed_size = 0;
  snappy::RawCompress(request.body.data(), request.body.size(), compressed_.data(),
                      &compressed_size);
  compressed_.resize(compressed_size);
  base::HttpRequest req;
  req.target = target_;
  req.content_type = "application/x-protobuf";
  req.headers = headers_;
  req.body = compressed_;
  req.timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(left);
  strobe::Result<base::HttpResponse> res = client_->Send(req);
  duration_->Record(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count()));
  if (!res.ok()) {
    requests_[kCodeError]->Inc();
    if (res.status().code() == strobe::StatusCode::kInvalidArgument) {
      LogRejected(0, res.status().message());  // e.g. a header the client refuses to send
      return SendOutcome::kFailed;
    }
    return SendOutcome::kRetry;
  }
  const int status = res->status;
  if (res->ok()) {
    requests_[kCode2xx]->Inc();
    samples_->Add(request.samples);
    series_->Add(request.series);
    return SendOutcome::kOk;
  }
  if (status == 429 || status >= 500) {
    requests_[status == 429 ? kCode429 : kCode5xx]->Inc();
    auto after =
        base::ParseRetryAfter(res->Header("Retry-After"), std::chrono::system_clock::now());
    retry_after = after.value_or(std::chrono::nanoseconds(0));
    return SendOutcome::kRetry;
  }
  // Other statuses (4xx; 1xx/3xx are not remote-write answers either): the request will not
  // get better by sending it again.
  requests_[kCode4xx]->Inc();
  LogRejected(status, res->body);
  return SendOutcome::kFailed;
}

pipeline::ExportResult RemoteWriteExporter::Export(const event::Batch& batch) noexcept {
  if (batch.metrics().empty()) return pipeline::ExportResult::kOk;
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  pipeline::ExportResult result = pipeline::ExportResult::kOk;
  try {
    builder_.Clear();
    const auto now_ms = static_cast<int64_t>(wall_clock_.NowUnixNs() / 1'000'000);
    const MapStats stats = builder_.Add(batch.metrics(), now_ms);
    failed_delta_->Add(stats.delta);
    failed_invalid_->Add(stats.invalid);
    size_t ok = 0, failed = 0;
    uint64_t failed_samples = 0;
    bool retry = false;
    std::chrono::nanoseconds retry_after{0};
    builder_.Encode([&](const WriteRequestBuilder::Request& r) {
      switch (Send(r, deadline, retry_after)) {
        case SendOutcome::kOk:
          ++ok;
          return true;
        case SendOutcome::kFailed:
          ++failed;
          failed_samples += r.samples;
          return true;
        case SendOutcome::kRetry:
          retry = true;
          return false;  // the rest waits for the pipeline's retry
      }
      return false;
    });
    builder_.Clear();
    if (retry) {
      // 4xx'd requests of this attempt are counted once the batch is finally sent or failed.
      retries_->Inc();
      result.Set(event::kSignalMetrics, pipeline::ExportOutcome::kRetry, retry_after);
      return result;
    }
    failed_samples_4xx_->Add(failed_samples);
    if (failed > 0 && ok == 0) {
      failed_permanent_->Add(stats.points);
      result.Set(event::kSignalMetrics, pipeline::ExportOutcome::kFailed);
      return result;
    }
    sent_points_->Add(stats.points);
  } catch (const std::exception&) {
    // Mapping may throw on resource exhaustion: hand the batch back to the pipeline.
    builder_.Clear();
    client_->Close();
    result.Set(event::kSignalMetrics, pipeline::ExportOutcome::kRetry);
  }
  return result;
}

void RemoteWriteExporter::Cancel() noexcept { client_->Cancel(); }

strobe::Status RemoteWriteExporter::Shutdown(std::chrono::milliseconds deadline) {
  (void)deadline;
  client_->Close();
  return strobe::OkStatus();
}

namespace {

strobe::Status ReadStringMap(const pipeline::ComponentContext& ctx, const char* key,
                             std::map<std::string, std::string>* out) {
  YAML::Node h = ctx.options.Has(key) ? ctx.options.Node(key) : YAML::Node();
  if (!h || h.IsNull()) return strobe::OkStatus();
  if (!h.IsMap()) {
    return strobe::InvalidArgument(ctx.options.Where(key) + ": prometheus_remote_write." + key +
                                   " must be a map of strings");
  }
  try {
    for (const auto& kv : h) (*out)[kv.first.as<std::string>()] = kv.second.as<std::string>();
  } catch (const YAML::Exception&) {
    return strobe::InvalidArgument(ctx.options.Where(key) + ": prometheus_remote_write." + key +
                                   " must be a map of strings");
  }
  return strobe::OkStatus();
}

// The `histogram_buckets` option, as the prometheus exporter reads it.
strobe::Result<std::vector<HistogramBucketsRule>> ReadHistogramBuckets(
    const pipeline::ComponentContext& ctx) {
  std::vector<HistogramBucketsRule> rules;
  if (!ctx.options.Has("histogram_buckets")) return rules;
  const YAML::Node node = ctx.options.Node("histogram_buckets");
  if (!node || node.IsNull()) return rules;
  const std::string where = ctx.options.Where("histogram_buckets");
  const std::string bad = where +
                          ": prometheus_remote_write.histogram_buckets must be a map of "
                          "metric name or glob to a list of finite, increasing bounds";
  if (!node.IsMap()) return strobe::InvalidArgument(bad);
  try {
    for (const auto& kv : node) {
      HistogramBucketsRule r;
      r.pattern = kv.first.as<std::string>();
      if (!kv.second.IsSequence() || r.pattern.empty()) return strobe::InvalidArgument(bad);
      for (const auto& b : kv.second) r.bounds.push_back(b.as<double>());
      if (r.bounds.empty() || r.bounds.size() > kMaxHistogramBounds) {
        return strobe::InvalidArgument(bad);
      }
      for (size_t i = 0; i < r.bounds.size(); ++i) {
        if (!std::isfinite(r.bounds[i]) || (i > 0 && !(r.bounds[i] > r.bounds[i - 1]))) {
          return strobe::InvalidArgument(bad);
        }
      }
      rules.push_back(std::move(r));
    }
  } catch (const YAML::Exception&) {
    return strobe::InvalidArgument(bad);
  }
  return rules;
}

}  // namespace

void RegisterRemoteWriteExporter(pipeline::PluginRegistry& registry) {
  using pipeline::OptionType;
  STROBE_CHECK(
      registry
          .AddExporter({
              .type = "prometheus_remote_write",
              .description =
                  "Pushes metric points to a Prometheus remote-write 1.0 endpoint (Prometheus, "
                  "VictoriaMetrics, ...) as snappy protobuf, with the prometheus exporter's "
                  "names and labels; cumulative data only (deltas are refused, counted). 429 "
                  "and 5xx go back to the pipeline's retry (with Retry-After).",
              .signals = event::kSignalMetrics,
              .options =
                  {
                      {"endpoint", OptionType::kString, "http://127.0.0.1:9090/api/v1/write",
                       "remote-write URL (http://host:port/path)"},
                      {"headers", OptionType::kNode, "",
                       "map of extra request headers (e.g. Authorization)"},
                      {"timeout", OptionType::kDuration, "10s",
                       "per export call (all its requests: connect, send, answer)"},
                      {"max_samples_per_request",
                       OptionType::kInt,
                       "5000",
                       "samples per WriteRequest; larger batches are split",
                       {.min = "1", .max = "10000000"}},
                      {"max_request_bytes",
                       OptionType::kBytes,
                       "4MiB",
                       "uncompressed size of one WriteRequest; larger batches are split",
                       {.min = "1KiB", .max = "256MiB"}},
                      {"external_labels", OptionType::kNode, "",
                       "map of labels added to every series that lacks them"},
                      {"send_metadata", OptionType::kBool, "true",
                       "send type, help and unit of each family (MetricMetadata)"},
                      {"namespace", OptionType::kString, "", "prefix of every metric name"},
                      {"add_metric_suffixes", OptionType::kBool, "true",
                       "append unit suffixes (`_seconds`, `_bytes`) to names"},
                      {"resource_to_telemetry_conversion", OptionType::kBool, "false",
                       "copy every resource attribute onto each series as a label"},
                      {"target_info", OptionType::kBool, "true",
                       "send resource attributes as a target_info series per job/instance"},
                      {"histogram_buckets", OptionType::kNode, "",
                       "map of metric name or glob to the `le` bounds of its exponential "
                       "histograms, as the prometheus exporter's option"},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Exporter>> {
                RemoteWriteExporterOptions o;
                o.name = ctx.id.ToString();
                o.endpoint = ctx.options.GetString("endpoint");
                STROBE_RETURN_IF_ERROR(ReadStringMap(ctx, "headers", &o.headers));
                std::map<std::string, std::string> external;
                STROBE_RETURN_IF_ERROR(ReadStringMap(ctx, "external_labels", &external));
                for (auto& [k, v] : external) o.mapping.external_labels.push_back({k, v});
                o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
                    ctx.options.GetDuration("timeout"));
                o.mapping.max_samples_per_request =
                    static_cast<size_t>(ctx.options.GetInt("max_samples_per_request"));
                o.mapping.max_request_bytes =
                    static_cast<size_t>(ctx.options.GetBytes("max_request_bytes"));
                o.mapping.send_metadata = ctx.options.GetBool("send_metadata");
                o.mapping.name_space = ctx.options.GetString("namespace");
                if (!o.mapping.name_space.empty() &&
                    prometheus::SanitizeMetricName(o.mapping.name_space) != o.mapping.name_space) {
                  return strobe::InvalidArgument(
                      ctx.options.Where("namespace") + ": prometheus_remote_write.namespace '" +
                      o.mapping.name_space +
                      "' is not a valid metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)");
                }
                o.mapping.add_metric_suffixes = ctx.options.GetBool("add_metric_suffixes");
                o.mapping.resource_to_telemetry_conversion =
                    ctx.options.GetBool("resource_to_telemetry_conversion");
                o.mapping.target_info = ctx.options.GetBool("target_info");
                auto rules = ReadHistogramBuckets(ctx);
                if (!rules.ok()) return rules.status();
                o.mapping.histogram_buckets = std::move(*rules);
                o.keys = &ctx.keys;
                o.wall_clock = ctx.services.wall_clock;
                o.metrics = ctx.services.metrics;
                o.logger = ctx.services.logger;
                auto e = RemoteWriteExporter::Create(std::move(o));
                if (!e.ok()) return e.status().WithContext(ctx.options.Where("endpoint"));
                return std::unique_ptr<pipeline::Exporter>(std::move(e).value());
              },
          })
          .ok());
}

}  // namespace strobed::exporters
