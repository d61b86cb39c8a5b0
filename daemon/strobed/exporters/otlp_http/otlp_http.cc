#include "strobed/exporters/otlp_http/otlp_http.h"

#include <algorithm>

#include "strobe/base/check.h"
#include "strobed/otlp/otlp_encode.h"

namespace strobed::exporters {
namespace {

event::Signal SignalBit(otlp::Signal s) {
  switch (s) {
    case otlp::Signal::kTraces:
      return event::kSignalTraces;
    case otlp::Signal::kMetrics:
      return event::kSignalMetrics;
    case otlp::Signal::kLogs:
      return event::kSignalLogs;
  }
  return event::kSignalNone;
}

bool RetryableStatus(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

}  // namespace

strobe::Result<std::unique_ptr<OtlpHttpExporter>> OtlpHttpExporter::Create(
    OtlpHttpExporterOptions options) {
  auto url = base::ParseUrl(options.endpoint);
  if (!url.ok()) return url.status().WithContext("otlp_http exporter endpoint");
  if (url->scheme != base::UrlScheme::kHttp) {
    return strobe::InvalidArgument("otlp_http exporter endpoint '" + options.endpoint +
                                   "' must start with http:// (TLS is not supported yet)");
  }
  base::HttpClientOptions co;
  co.connect_timeout = options.timeout;
  co.request_timeout = options.timeout;
  co.user_agent = "strobe-otlp-exporter";
  STROBE_ASSIGN_OR_RETURN(std::unique_ptr<base::HttpClient> client,
                          base::HttpClient::Create(*url, co));
  std::string base_path(url->BasePath());
  return std::unique_ptr<OtlpHttpExporter>(
      new OtlpHttpExporter(std::move(options), std::move(client), std::move(base_path)));
}

OtlpHttpExporter::OtlpHttpExporter(OtlpHttpExporterOptions options,
                                   std::unique_ptr<base::HttpClient> client, std::string base_path)
    : options_(std::move(options)), client_(std::move(client)), base_path_(std::move(base_path)) {
  for (const auto& [k, v] : options_.headers) headers_.push_back({k, v});
  STROBE_CHECK(options_.metrics != nullptr);  // required: the factory passes the host's
  strobe::metrics::Registry& reg = *options_.metrics;
  for (otlp::Signal s : {otlp::Signal::kTraces, otlp::Signal::kMetrics, otlp::Signal::kLogs}) {
    targets_[static_cast<size_t>(s)] = base_path_ + "/v1/" + std::string(otlp::SignalName(s));
    std::string item = otlp::ItemName(s);
    auto sent = reg.AddCounterFamily(
        {"strobe_exporter_sent_" + item + "_total", "Items an exporter delivered.", ""},
        {"exporter"});
    auto failed = reg.AddCounterFamily({"strobe_exporter_send_failed_" + item + "_total",
                                        "Items an exporter could not deliver, by reason.", ""},
                                       {"exporter", "reason"});
    STROBE_CHECK(sent.ok() && failed.ok());  // fixed valid names
    sent_[static_cast<size_t>(s)] = *sent;
    failed_[static_cast<size_t>(s)] = *failed;
  }
  auto retries =
      reg.AddCounterFamily({"strobe_exporter_retries_total",
                            "Requests an exporter handed back to the pipeline for retry.", ""},
                           {"exporter"});
  STROBE_CHECK(retries.ok());
  retries_ = &(*retries)->With({{"exporter", options_.name}});
}

OtlpHttpExporter::~OtlpHttpExporter() = default;

void OtlpHttpExporter::Send(otlp::Signal signal, const std::string& body, uint64_t items,
                            std::chrono::steady_clock::time_point deadline,
                            pipeline::ExportResult& result, bool& transport_failed) {
  const event::Signal bit = SignalBit(signal);
  const auto left = deadline - std::chrono::steady_clock::now();
  if (transport_failed || left <= std::chrono::nanoseconds(0)) {
    // The backend just failed to connect or answer, or this call's time is used up: hand the
    // signal back without spending another timeout on it.
    retries_->Inc();
    result.Set(bit, pipeline::ExportOutcome::kRetry);
    return;
  }
  auto failed = [&](std::string_view reason, uint64_t n) {
    if (n > 0) {
      failed_[static_cast<size_t>(signal)]
          ->With({{"exporter", options_.name}, {"reason", reason}})
          .Add(n);
    }
  };
  base::HttpRequest req;
  req.target = targets_[static_cast<size_t>(signal)];
  req.content_type = "application/x-protobuf";
  req.headers = headers_;
  req.body = body;
  req.gzip_body = options_.gzip;
  req.timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(left);
  strobe::Result<base::HttpResponse> res = client_->Send(req);
  if (!res.ok()) {
    if (res.status().code() == strobe::StatusCode::kInvalidArgument) {
      failed("permanent_error", items);  // e.g. a header the client refuses to send
      result.Set(bit, pipeline::ExportOutcome::kFailed);
      return;
    }
    transport_failed = res.status().code() == strobe::StatusCode::kUnavailable ||
                       res.status().code() == strobe::StatusCode::kDeadlineExceeded;
    retries_->Inc();
    result.Set(bit, pipeline::ExportOutcome::kRetry);
    return;
  }
  if (res->ok()) {
    uint64_t rejected = 0;
    auto ps = otlp::DecodeResponse(signal, res->body);
    if (ps.ok() && ps->rejected > 0) {
      rejected = std::min<uint64_t>(items, static_cast<uint64_t>(ps->rejected));
    }
    sent_[static_cast<size_t>(signal)]->With({{"exporter", options_.name}}).Add(items - rejected);
    failed("rejected_by_server", rejected);
    result.Set(bit, pipeline::ExportOutcome::kOk);
    return;
  }
  if (RetryableStatus(res->status)) {
    auto after =
        base::ParseRetryAfter(res->Header("Retry-After"), std::chrono::system_clock::now());
    retries_->Inc();
    result.Set(bit, pipeline::ExportOutcome::kRetry, after.value_or(std::chrono::nanoseconds(0)));
    return;
  }
  failed("permanent_error", items);
  result.Set(bit, pipeline::ExportOutcome::kFailed);
}

pipeline::ExportResult OtlpHttpExporter::Export(const event::Batch& batch) noexcept {
  const event::KeyTable& keys =
      options_.keys != nullptr ? *options_.keys : event::KeyTable::Global();
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  pipeline::ExportResult result = pipeline::ExportResult::kOk;
  bool transport_failed = false;
  uint8_t done = 0;  // signals whose outcome is decided
  try {
    if (!batch.spans().empty()) {
      Send(otlp::Signal::kTraces, otlp::EncodeTraces(batch.spans(), keys), batch.spans().size(),
           deadline, result, transport_failed);
      done |= event::kSignalTraces;
    }
    if (!batch.metrics().empty()) {
      Send(otlp::Signal::kMetrics, otlp::EncodeMetrics(batch.metrics(), keys),
           batch.metrics().size(), deadline, result, transport_failed);
      done |= event::kSignalMetrics;
    }
    if (!batch.logs().empty()) {
      Send(otlp::Signal::kLogs, otlp::EncodeLogs(batch.logs(), keys), batch.logs().size(), deadline,
           result, transport_failed);
      done |= event::kSignalLogs;
    }
  } catch (const std::exception&) {
    // Encoding may throw on resource exhaustion: hand what is undecided back to the pipeline.
    client_->Close();
    result.Set(static_cast<uint8_t>(event::kSignalAll & ~done), pipeline::ExportOutcome::kRetry);
  }
  return result;
}

void OtlpHttpExporter::Cancel() noexcept { client_->Cancel(); }

strobe::Status OtlpHttpExporter::Shutdown(std::chrono::milliseconds deadline) {
  (void)deadline;
  client_->Close();
  return strobe::OkStatus();
}

void RegisterOtlpHttpExporter(pipeline::PluginRegistry& registry) {
  STROBE_CHECK(
      registry
          .AddExporter({
              .type = "otlp_http",
              .description = "Sends batches to an OTLP/HTTP endpoint as gzip protobuf; failed "
                             "signals go back to the pipeline's retry (with the server's "
                             "Retry-After).",
              .signals = event::kSignalAll,
              .options =
                  {
                      {"endpoint", pipeline::OptionType::kString, "http://127.0.0.1:4318",
                       "base URL; /v1/traces, /v1/metrics, /v1/logs are appended"},
                      {"headers", pipeline::OptionType::kNode, "",
                       "map of extra request headers (e.g. Authorization)"},
                      {"compression",
                       pipeline::OptionType::kString,
                       "gzip",
                       "request body encoding",
                       {.choices = {"gzip", "none"}}},
                      {"timeout", pipeline::OptionType::kDuration, "10s",
                       "per export call (connect, send, answer), shared by its signals"},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Exporter>> {
                OtlpHttpExporterOptions o;
                o.name = ctx.id.ToString();
                o.endpoint = ctx.options.GetString("endpoint");
                o.gzip = ctx.options.GetString("compression") == "gzip";  // bounded above
                YAML::Node h =
                    ctx.options.Has("headers") ? ctx.options.Node("headers") : YAML::Node();
                if (h && !h.IsNull()) {
                  if (!h.IsMap()) {
                    return strobe::InvalidArgument(ctx.options.Where("headers") +
                                                   ": otlp_http.headers must be a map");
                  }
                  for (const auto& kv : h) {
                    o.headers[kv.first.as<std::string>()] = kv.second.as<std::string>();
                  }
                }
                auto ms = [&](const char* k) {
                  return std::chrono::duration_cast<std::chrono::milliseconds>(
                      ctx.options.GetDuration(k));
                };
                o.timeout = ms("timeout");
                o.keys = &ctx.keys;
                o.metrics = ctx.services.metrics;
                auto e = OtlpHttpExporter::Create(std::move(o));
                if (!e.ok()) return e.status().WithContext(ctx.options.Where("endpoint"));
                return std::unique_ptr<pipeline::Exporter>(std::move(e).value());
              },
          })
          .ok());
}

}  // namespace strobed::exporters
