#include "strobed/receivers/otlp_http/otlp_http.h"

#include <algorithm>
#include <cctype>
#include <charconv>

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
      clock_(options_.clock != nullptr ? *options_.clock : base::MonotonicClock::Steady()),
      key_quota_(options_.max_new_keys_per_source,
                 static_cast<uint64_t>(std::max<int64_t>(1, options_.new_keys_window.count()))) {
  STROBE_CHECK(options_.metrics != nullptr);  // required: the factory passes the host's
  strobe::metrics::Registry& reg = *options_.metrics;
  for (otlp::Signal s : {otlp::Signal::kTraces, otlp::Signal::kMetrics, otlp::Signal::kLogs}) {
    std::string item = otlp::ItemName(s);
    auto acc = reg.AddCounterFamily({"strobe_receiver_accepted_" + item + "_total",
                                     "Items a receiver pushed into the pipeline successfully.", ""},
                                    {"receiver"});
    auto ref =
        reg.AddCounterFamily({"strobe_receiver_refused_" + item + "_total",
                              "Items a receiver could not push into the pipeline, by reason.", ""},
                             {"receiver", "reason"});
    // Registration of fixed, valid names only fails on a programming error.
    STROBE_CHECK(acc.ok() && ref.ok());
    counters_[static_cast<size_t>(s)] = {*acc, *ref};
  }
  auto req = reg.AddCounterFamily({"strobe_receiver_refused_requests_total",
                                   "Requests a receiver refused, by signal and reason.", ""},
                                  {"receiver", "signal", "reason"});
  STROBE_CHECK(req.ok());
  refused_requests_ = *req;
  auto dropped = reg.AddCounterFamily(
      {"strobe_receiver_dropped_attributes_total",
       "Span and log attributes dropped because their key could not be interned (also in the "
       "element's dropped_attributes_count), by signal and reason.",
       ""},
      {"receiver", "signal", "reason"});
  STROBE_CHECK(dropped.ok());
  dropped_attributes_ = *dropped;
}

void OtlpHttpReceiver::CountKeyRefusals(otlp::Signal signal, const otlp::DecodeStats& stats) {
  for (std::size_t r = 0; r < event::kKeyRefusalCount; ++r) {
    const std::string_view reason = event::KeyRefusalName(static_cast<event::KeyRefusal>(r));
    if (stats.refused_by[r] > 0) {
      counters_[static_cast<size_t>(signal)]
          .refused->With({{"receiver", options_.name}, {"reason", reason}})
          .Add(stats.refused_by[r]);
    }
    // Attributes of refused metric points went with their point: counted there only.
    if (signal != otlp::Signal::kMetrics && stats.dropped_by[r] > 0) {
      dropped_attributes_
          ->With({{"receiver", options_.name},
                  {"signal", otlp::SignalName(signal)},
                  {"reason", reason}})
          .Add(stats.dropped_by[r]);
    }
  }
}

OtlpHttpReceiver::~OtlpHttpReceiver() {
  if (server_) {
    (void)server_->Shutdown(std::chrono::milliseconds(0));
    if (options_.http_metrics != nullptr) options_.http_metrics->Detach(*server_);
  }
}

void OtlpHttpReceiver::CountRefused(otlp::Signal signal, std::string_view reason, uint64_t items) {
  counters_[static_cast<size_t>(signal)]
      .refused->With({{"receiver", options_.name}, {"reason", reason}})
      .Add(items);
  refused_requests_
      ->With(
          {{"receiver", options_.name}, {"signal", otlp::SignalName(signal)}, {"reason", reason}})
      .Inc();
}

server::Response OtlpHttpReceiver::Refuse(otlp::Signal signal, otlp::Encoding enc, int status,
                                          int32_t grpc_code, std::string_view reason,
                                          std::string message, uint64_t items) {
  CountRefused(signal, reason, items);
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
    CountRefused(signal, "unsupported_media_type", 0);
    return OtlpErrorResponse(
        415,
        "unsupported Content-Type '" + media + "': use application/x-protobuf or application/json",
        "");
  }
  base::ContentEncoding ce =
      base::ParseContentEncoding(req.headers.Get("Content-Encoding").value_or(""));
  if (ce == base::ContentEncoding::kUnknown) {
    CountRefused(signal, "unsupported_media_type", 0);
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

  event::BatchPtr batch = ingest->pool().Acquire();
  // The client's address without the port: the source charged for keys new to the table.
  std::string_view source = req.remote_address;
  source = source.substr(0, source.rfind(':'));
  event::KeyBudget budget;
  budget.max_new_keys = options_.max_new_keys_per_request;
  budget.quota = &key_quota_;
  budget.source = source;
  budget.now_ns = clock_.NowNs();
  otlp::DecodeOptions dopts;
  dopts.keys = options_.keys;
  dopts.budget = &budget;
  strobe::Result<otlp::DecodeStats> decoded = otlp::Decode(signal, enc, body, *batch, dopts);
  if (!decoded.ok()) {
    return Refuse(signal, enc, 400, kGrpcInvalidArgument, "invalid",
                  std::string(otlp::SignalName(signal)) + ": " + decoded.status().message(), 0);
  }
  uint64_t items = decoded->items;
  // Points refused by the decoder go back to the client as partial success (so it does not
  // retry them) and are counted per point; the rest of the request goes on. Two causes: a label
  // value that is not UTF-8, and a key of the point's identity the key table refused.
  const uint64_t invalid = decoded->invalid_utf8;
  const uint64_t key_refused = decoded->refused_items;
  const uint64_t refused = invalid + key_refused;
  std::string message;
  if (invalid > 0) {
    counters_[static_cast<size_t>(signal)]
        .refused->With({{"receiver", options_.name}, {"reason", "invalid_utf8"}})
        .Add(invalid);
    message = std::to_string(invalid) +
              " data points refused: a label or resource attribute value is not valid UTF-8";
  }
  if (key_refused > 0) {
    if (!message.empty()) message += "; ";
    message += std::to_string(key_refused) +
               " metric points refused: an attribute key could not be added to the key table (";
    bool first = true;
    for (std::size_t r = 0; r < event::kKeyRefusalCount; ++r) {
      if (decoded->refused_by[r] == 0) continue;
      if (!first) message += ", ";
      first = false;
      message += std::string(event::KeyRefusalName(static_cast<event::KeyRefusal>(r))) + ": " +
                 std::to_string(decoded->refused_by[r]);
    }
    message += ")";
  }
  if (items == 0) {
    CountKeyRefusals(signal, *decoded);
    return Body(200, enc,
                otlp::EncodeResponse(signal, enc, static_cast<int64_t>(refused), message));
  }
  pipeline::PushResult pushed = ingest->Push(std::move(batch));
  switch (pushed.status) {
    case pipeline::PushStatus::kAccepted:
      counters_[static_cast<size_t>(signal)]
          .accepted->With({{"receiver", options_.name}})
          .Add(items);
      CountKeyRefusals(signal, *decoded);
      return Body(200, enc,
                  otlp::EncodeResponse(signal, enc, static_cast<int64_t>(refused), message));
    case pipeline::PushStatus::kDropped:
      CountRefused(signal, "pipeline_dropped", items);
      CountKeyRefusals(signal, *decoded);
      return Body(200, enc,
                  otlp::EncodeResponse(signal, enc, static_cast<int64_t>(items + refused),
                                       "dropped by the pipeline's back-pressure policy" +
                                           (message.empty() ? std::string() : "; " + message)));
    case pipeline::PushStatus::kThrottled:
    case pipeline::PushStatus::kRefused:
    case pipeline::PushStatus::kShutdown: {
      std::string reason = pushed.refuse_reason == pipeline::RefuseReason::kCount
                               ? std::string("shutdown")
                               : std::string(pipeline::RefuseReasonName(pushed.refuse_reason));
      int status = pushed.status == pipeline::PushStatus::kThrottled ? 429 : 503;
      server::Response r =
          Refuse(signal, enc, status, kGrpcUnavailable, reason,
                 "pipeline " + std::string(pipeline::PushStatusName(pushed.status)) + " (" +
                     reason + "); retry later",
                 items);
      if (pushed.status != pipeline::PushStatus::kShutdown || pushed.retry_after.count() > 0) {
        r.headers.Set("Retry-After", RetryAfterSeconds(pushed.retry_after));
      }
      return r;
    }
  }
  return Body(500, enc, otlp::EncodeRpcStatus(enc, kGrpcInternal, "unknown push status"));
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

namespace {

// "127.0.0.1:4318", ":0" (loopback, free port), "0.0.0.0:4318".
strobe::Status ParseEndpoint(std::string_view text, std::string& host, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return strobe::InvalidArgument("endpoint '" + std::string(text) + "' must be host:port");
  }
  host = std::string(text.substr(0, colon));
  if (host.empty()) host = "127.0.0.1";
  std::string_view p = text.substr(colon + 1);
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || ptr != p.data() + p.size() || v > 65535) {
    return strobe::InvalidArgument("endpoint '" + std::string(text) + "': bad port");
  }
  port = static_cast<uint16_t>(v);
  return strobe::OkStatus();
}

}  // namespace

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
                    ParseEndpoint(ctx.options.GetString("endpoint"), o.host, o.port)
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
