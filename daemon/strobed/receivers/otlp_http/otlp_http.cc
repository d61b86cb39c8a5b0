#include "strobed/receivers/otlp_http/otlp_http.h"

#include <algorithm>
#include <cctype>

#include "strobe/base/check.h"
#include "strobed/base/compression.h"
#include "strobed/otlp/otlp_encode.h"
#include "strobed/server/http_server.h"
#include "strobed/server/router.h"
#include "strobed/server/server_metrics.h"

namespace strobed::receivers {
namespace {

// gRPC status codes used in OTLP/HTTP error bodies.
constexpr int32_t kGrpcInvalidArgument = 3;
constexpr int32_t kGrpcDeadlineExceeded = 4;
constexpr int32_t kGrpcNotFound = 5;
constexpr int32_t kGrpcResourceExhausted = 8;
constexpr int32_t kGrpcUnimplemented = 12;
constexpr int32_t kGrpcInternal = 13;
constexpr int32_t kGrpcUnavailable = 14;
constexpr int32_t kGrpcUnauthenticated = 16;

int32_t GrpcCodeFor(int status) {
  switch (status) {
    case 401:
      return kGrpcUnauthenticated;
    case 404:
      return kGrpcNotFound;
    case 405:
      return kGrpcUnimplemented;
    case 408:
      return kGrpcDeadlineExceeded;
    case 413:
    case 431:
      return kGrpcResourceExhausted;
    case 429:
    case 503:
      return kGrpcUnavailable;
    default:
      return status >= 500 ? kGrpcInternal : kGrpcInvalidArgument;
  }
}

std::string Lower(std::string_view s) {
  std::string v(s);
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return v;
}

// Media type of a Content-Type header value (before parameters), trimmed and lowercased.
std::string MediaType(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && ct.front() == ' ') ct.remove_prefix(1);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  return Lower(ct);
}

const char* ContentTypeOf(otlp::Encoding e) {
  return e == otlp::Encoding::kJson ? "application/json" : "application/x-protobuf";
}

server::Response Body(int status, otlp::Encoding e, std::string body) {
  server::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.Set("Content-Type", ContentTypeOf(e));
  return r;
}

std::string RetryAfterSeconds(std::chrono::milliseconds ms) {
  auto s = (ms.count() + 999) / 1000;
  return std::to_string(std::max<int64_t>(1, s));
}

}  // namespace

server::Response OtlpErrorResponse(int status, std::string_view message,
                                   std::string_view content_type) {
  const otlp::Encoding enc = MediaType(content_type) == "application/json"
                                 ? otlp::Encoding::kJson
                                 : otlp::Encoding::kProtobuf;
  return Body(status, enc, otlp::EncodeRpcStatus(enc, GrpcCodeFor(status), message));
}

OtlpHttpReceiver::OtlpHttpReceiver(OtlpHttpOptions options)
    : options_(std::move(options)),
      ingest_helper_({.name = options_.name,
                      .max_new_keys_per_request = options_.max_new_keys_per_request,
                      .max_new_keys_per_source = options_.max_new_keys_per_source,
                      .new_keys_window = options_.new_keys_window,
                      .clock = options_.clock,
                      .keys = options_.keys,
                      .metrics = options_.metrics}) {}

OtlpHttpReceiver::~OtlpHttpReceiver() {
  if (server_) {
    (void)server_->Shutdown(std::chrono::milliseconds(0));
    if (options_.http_metrics != nullptr) options_.http_metrics->Detach(*server_);
  }
}

server::Response OtlpHttpReceiver::Refuse(otlp::Signal signal, otlp::Encoding enc, int status,
                                          int32_t grpc_code, std::string_view reason,
                                          std::string message, uint64_t items) {
  ingest_helper_.CountRefused(signal, reason, items);
  return Body(status, enc, otlp::EncodeRpcStatus(enc, grpc_code, message));
}

server::Response OtlpHttpReceiver::Handle(otlp::Signal signal, const server::Request& req) {
  // Encoding from Content-Type.
  std::string media = MediaType(req.headers.Get("Content-Type").value_or(""));
  otlp::Encoding enc;
  if (media == "application/x-protobuf") {
    enc = otlp::Encoding::kProtobuf;
  } else if (media == "application/json") {
    enc = otlp::Encoding::kJson;
  } else {
    ingest_helper_.CountRefused(signal, "unsupported_media_type", 0);
    return OtlpErrorResponse(
        415,
        "unsupported Content-Type '" + media + "': use application/x-protobuf or application/json",
        "");
  }
  base::ContentEncoding ce =
      base::ParseContentEncoding(req.headers.Get("Content-Encoding").value_or(""));
  if (ce == base::ContentEncoding::kUnknown) {
    ingest_helper_.CountRefused(signal, "unsupported_media_type", 0);
    return Body(
        415, enc,
        otlp::EncodeRpcStatus(enc, kGrpcInvalidArgument,
                              "unsupported Content-Encoding: use gzip, deflate or identity"));
  }
  pipeline::Ingest* ingest = ingest_.load(std::memory_order_acquire);  // see ingest_
  if (ingest == nullptr) {
    return Refuse(signal, enc, 503, kGrpcUnavailable, "shutdown", "receiver not running", 0);
  }

  base::ByteLease inflated_lease(options_.ingress_budget);  // declared first: released last
  std::string inflated;
  std::string_view body = req.body;
  if (ce != base::ContentEncoding::kIdentity) {
    strobe::Result<std::string> r =
        base::Decompress(ce, req.body, options_.max_decompressed_bytes, &inflated_lease);
    if (!r.ok()) {
      if (r.status().code() == strobe::StatusCode::kUnavailable) {  // the ingress budget
        server::Response refused = Refuse(signal, enc, 503, kGrpcUnavailable, "memory",
                                          std::string(r.status().message()), 0);
        refused.headers.Set("Retry-After", "1");
        refused.headers.Set("Connection", "close");
        return refused;
      }
      bool big = r.status().code() == strobe::StatusCode::kResourceExhausted;
      return Refuse(signal, enc, big ? 413 : 400,
                    big ? kGrpcResourceExhausted : kGrpcInvalidArgument,
                    big ? "too_large" : "invalid", r.status().message(), 0);
    }
    inflated = std::move(r).value();
    body = inflated;
  }

  OtlpIngestResult result =
      ingest_helper_.Ingest(*ingest, signal, enc, body, SourceAddress(req.remote_address));
  switch (result.kind) {
    case OtlpIngestResult::Kind::kOk:
      return Body(200, enc, otlp::EncodeResponse(signal, enc, result.rejected, result.message));
    case OtlpIngestResult::Kind::kInvalid:
      return Body(400, enc, otlp::EncodeRpcStatus(enc, kGrpcInvalidArgument, result.message));
    case OtlpIngestResult::Kind::kPushBack: {
      int status = result.push_status == pipeline::PushStatus::kThrottled ? 429 : 503;
      server::Response r =
          Body(status, enc, otlp::EncodeRpcStatus(enc, kGrpcUnavailable, result.message));
      if (result.push_status != pipeline::PushStatus::kShutdown || result.retry_after.count() > 0) {
        r.headers.Set("Retry-After", RetryAfterSeconds(result.retry_after));
      }
      return r;
    }
  }
  return Body(500, enc, otlp::EncodeRpcStatus(enc, kGrpcInternal, "unknown ingest outcome"));
}

strobe::Status OtlpHttpReceiver::Start(pipeline::Ingest& ingest) {
  ingest_.store(&ingest, std::memory_order_release);  // see ingest_
  router_ = std::make_unique<server::Router>();
  server::RouteOptions ro;
  ro.max_body_bytes = options_.max_body_bytes;
  router_->Handle(
      "POST", "/v1/traces",
      [this](const server::Request& r) { return Handle(otlp::Signal::kTraces, r); }, ro);
  router_->Handle(
      "POST", "/v1/metrics",
      [this](const server::Request& r) { return Handle(otlp::Signal::kMetrics, r); }, ro);
  router_->Handle(
      "POST", "/v1/logs",
      [this](const server::Request& r) { return Handle(otlp::Signal::kLogs, r); }, ro);
  server::ServerOptions so;
  so.name = options_.name;
  so.host = options_.host;
  so.port = options_.port;
  so.threads = options_.threads;
  so.auth = options_.auth;
  so.max_body_bytes = options_.max_body_bytes;
  so.priority_paths = {};  // no health routes here: every reserved slot answers 503 (retry)
  so.error_responder = OtlpErrorResponse;
  so.body_budget = options_.ingress_budget;
  server_ = std::make_unique<server::HttpServer>(so, *router_);
  if (options_.http_metrics != nullptr) options_.http_metrics->Attach(options_.name, *server_);
  return server_->Start();
}

strobe::Status OtlpHttpReceiver::Shutdown(std::chrono::milliseconds deadline) {
  strobe::Status st;
  if (server_) st = server_->Shutdown(deadline);
  ingest_.store(nullptr, std::memory_order_release);
  return st;
}

std::string OtlpHttpReceiver::BoundAddress() const {
  return server_ ? server_->BoundAddress() : std::string();
}

uint16_t OtlpHttpReceiver::BoundPort() const { return server_ ? server_->BoundPort() : 0; }

void RegisterOtlpHttpReceiver(pipeline::PluginRegistry& registry) {
  STROBE_CHECK(
      registry
          .AddReceiver({
              .type = "otlp_http",
              .description = "OTLP/HTTP receiver: POST /v1/traces, /v1/metrics, /v1/logs in "
                             "protobuf or JSON, gzip bodies, OTLP status codes.",
              .signals = event::kSignalAll,
              .options =
                  {
                      {"endpoint", pipeline::OptionType::kString, "127.0.0.1:4318",
                       "host:port to listen on (':0' picks a free port)"},
                      {"max_body_bytes", pipeline::OptionType::kBytes, "20MiB",
                       "largest request body on the wire (413 above)"},
                      {"max_decompressed_bytes", pipeline::OptionType::kBytes, "64MiB",
                       "largest inflated gzip body (413 above)"},
                      {"threads",
                       pipeline::OptionType::kInt,
                       "2",
                       "HTTP I/O threads",
                       {.min = "1", .max = "64"}},
                      {"auth_token", pipeline::OptionType::kString, "",
                       "removed: a non-empty value is an error; every listener uses the "
                       "daemon's auth.token / auth.token_file, rotated on SIGHUP"},
                      {"max_new_keys_per_request",
                       pipeline::OptionType::kInt,
                       "1024",
                       "attribute keys new to the daemon's key table one request may add; "
                       "metric points needing more are refused (partial success)",
                       {.min = "0", .max = "65536"}},
                      {"max_new_keys_per_source",
                       pipeline::OptionType::kInt,
                       "4096",
                       "attribute keys new to the key table one client address may add per "
                       "new_keys_window",
                       {.min = "0", .max = "65536"}},
                      {"new_keys_window",
                       pipeline::OptionType::kDuration,
                       "1h",
                       "window of max_new_keys_per_source",
                       {.min = "1s"}},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Receiver>> {
                OtlpHttpOptions o;
                o.name = ctx.id.ToString();
                STROBE_RETURN_IF_ERROR(
                    ParseListenEndpoint(ctx.options.GetString("endpoint"), o.host, o.port)
                        .WithContext(ctx.options.Where("endpoint")));
                o.max_body_bytes = ctx.options.GetBytes("max_body_bytes");
                o.max_decompressed_bytes = ctx.options.GetBytes("max_decompressed_bytes");
                o.threads = static_cast<int>(ctx.options.GetInt("threads"));
                if (!ctx.options.GetString("auth_token").empty()) {
                  // A per-receiver token is what let a SIGHUP rotation miss this listener
                  // (issue 14, item 8): refuse it rather than ignore it silently. An empty one
                  // (the old way to say "none") is accepted and means nothing.
                  return strobe::InvalidArgument(
                      ctx.options.Where("auth_token") +
                      ": otlp_http no longer has a token of its own: set auth.token or "
                      "auth.token_file (one token for every listener, rotated on SIGHUP) and "
                      "remove auth_token here");
                }
                o.auth = ctx.services.auth;
                o.max_new_keys_per_request =
                    static_cast<uint32_t>(ctx.options.GetInt("max_new_keys_per_request"));
                o.max_new_keys_per_source =
                    static_cast<uint64_t>(ctx.options.GetInt("max_new_keys_per_source"));
                o.new_keys_window = ctx.options.GetDuration("new_keys_window");
                o.clock = &ctx.clock;
                o.keys = &ctx.keys;
                o.metrics = ctx.services.metrics;
                o.http_metrics = ctx.services.http_metrics;
                o.ingress_budget = ctx.services.ingress_budget;
                return std::unique_ptr<pipeline::Receiver>(
                    std::make_unique<OtlpHttpReceiver>(std::move(o)));
              },
          })
          .ok());
}

}  // namespace strobed::receivers
