#include "strobed/receivers/otlp_grpc/otlp_grpc.h"

#include <grpc/impl/codegen/grpc_types.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/server_callback.h>

#include <algorithm>
#include <limits>

#include "strobe/base/check.h"
#include "strobed/base/byte_budget.h"
#include "strobed/otlp/otlp_encode.h"
#include "strobed/server/auth.h"

namespace strobed::receivers {
namespace {

constexpr std::string_view kTraceMethod =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
constexpr std::string_view kMetricsMethod =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
constexpr std::string_view kLogsMethod =
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

// The names gRPC gives its status codes (strobe_grpc_requests_total{code}).
std::string_view CodeName(int code) {
  static constexpr std::string_view kNames[] = {"OK",
                                                "CANCELLED",
                                                "UNKNOWN",
                                                "INVALID_ARGUMENT",
                                                "DEADLINE_EXCEEDED",
                                                "NOT_FOUND",
                                                "ALREADY_EXISTS",
                                                "PERMISSION_DENIED",
                                                "RESOURCE_EXHAUSTED",
                                                "FAILED_PRECONDITION",
                                                "ABORTED",
                                                "OUT_OF_RANGE",
                                                "UNIMPLEMENTED",
                                                "INTERNAL",
                                                "UNAVAILABLE",
                                                "DATA_LOSS",
                                                "UNAUTHENTICATED"};
  if (code < 0 || static_cast<size_t>(code) >= std::size(kNames)) return "UNKNOWN";
  return kNames[code];
}

// A status with google.rpc.RetryInfo in its details: the client may retry after `delay`
// (at least 1 s when the pipeline gave no hint, so clients back off rather than spin).
grpc::Status RetryStatus(grpc::StatusCode code, const std::string& message,
                         std::chrono::milliseconds delay) {
  if (delay.count() <= 0) delay = std::chrono::seconds(1);
  const auto ns = static_cast<uint64_t>(std::chrono::nanoseconds(delay).count());
  return grpc::Status(code, message,
                      otlp::EncodeRpcStatusWithRetry(static_cast<int32_t>(code), message, ns));
}

int ClampInt(uint64_t v) {
  return static_cast<int>(std::min<uint64_t>(v, std::numeric_limits<int>::max()));
}
int ClampMs(std::chrono::milliseconds d) {
  return static_cast<int>(std::clamp<int64_t>(d.count(), 0, std::numeric_limits<int>::max()));
}

}  // namespace

std::optional<otlp::Signal> SignalOfMethod(std::string_view method) {
  if (method == kTraceMethod) return otlp::Signal::kTraces;
  if (method == kMetricsMethod) return otlp::Signal::kMetrics;
  if (method == kLogsMethod) return otlp::Signal::kLogs;
  return std::nullopt;
}

bool FlattenByteBuffer(const grpc::ByteBuffer& buffer, grpc::Slice& single, std::string& copy,
                       std::string_view& bytes) {
  if (buffer.TrySingleSlice(&single).ok()) {
    bytes = std::string_view(reinterpret_cast<const char*>(single.begin()), single.size());
    return true;
  }
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  size_t total = 0;
  for (const grpc::Slice& s : slices) total += s.size();
  copy.clear();
  copy.reserve(total);
  for (const grpc::Slice& s : slices) {
    copy.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  bytes = copy;
  return true;
}

// One Export call: read the request message, answer, delete itself when gRPC is done with it.
class OtlpGrpcReceiver::ExportReactor final : public grpc::ServerGenericBidiReactor {
 public:
  ExportReactor(OtlpGrpcReceiver& owner, grpc::GenericCallbackServerContext& ctx,
                otlp::Signal signal)
      : owner_(owner), ctx_(ctx), signal_(signal), start_ns_(owner.clock_.NowNs()) {
    // Counted in flight before the drain flag is read; Shutdown sets the flag before it reads
    // the count (both seq_cst), so either Shutdown waits for this call or the call sees the
    // flag and is refused.
    owner_.in_flight_.fetch_add(1);
    if (owner_.draining_.load()) {
      owner_.ingest_helper_.CountRefused(signal_, "shutdown", 0);
      Answer(RetryStatus(grpc::StatusCode::UNAVAILABLE, "server shutting down; retry later",
                         std::chrono::seconds(1)));
      return;
    }
    // Checked before the message is read: an unauthenticated client costs no message buffer.
    if (!owner_.Authorized(ctx_)) {
      owner_.ingest_helper_.CountRefused(signal_, "unauthenticated", 0);
      Answer(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "missing or invalid bearer token (authorization metadata)"));
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // No whole message: above max_recv_msg_size (gRPC has already failed the call with
      // RESOURCE_EXHAUSTED), cancelled, or half-closed without a message.
      owner_.ingest_helper_.CountRefused(signal_, "read_failed", 0);
      Answer(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request message received"));
      return;
    }
    std::string response;
    grpc::Status st = owner_.Export(signal_, ctx_.peer(), request_, response);
    request_.Clear();  // the message's memory goes back to gRPC before the answer is written
    if (!st.ok()) {
      Answer(st);
      return;
    }
    grpc::Slice slice(response);
    response_ = grpc::ByteBuffer(&slice, 1);
    // Counted before the answer goes out, so a client that has its answer sees it counted.
    owner_.CountCall(otlp::SignalName(signal_), grpc::StatusCode::OK, start_ns_);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  void OnDone() override {
    OtlpGrpcReceiver& owner = owner_;
    delete this;
    if (owner.in_flight_.fetch_sub(1) == 1 && owner.draining_.load()) {
      std::lock_guard lock(owner.drain_mu_);  // pairs with the wait in Shutdown
      owner.drain_cv_.notify_all();
    }
  }

 private:
  void Answer(const grpc::Status& st) {
    owner_.CountCall(otlp::SignalName(signal_), st.error_code(), start_ns_);
    Finish(st);
  }

  OtlpGrpcReceiver& owner_;
  grpc::GenericCallbackServerContext& ctx_;
  const otlp::Signal signal_;
  const uint64_t start_ns_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

// Routes each call by its method: an Export reactor, or UNIMPLEMENTED.
class OtlpGrpcReceiver::Service final : public grpc::CallbackGenericService {
 public:
  explicit Service(OtlpGrpcReceiver& owner) : owner_(owner) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    if (std::optional<otlp::Signal> signal = SignalOfMethod(ctx->method())) {
      return new ExportReactor(owner_, *ctx, *signal);
    }
    class Unimplemented final : public grpc::ServerGenericBidiReactor {
     public:
      Unimplemented(OtlpGrpcReceiver& owner, const std::string& method) {
        owner.CountCall("unknown", grpc::StatusCode::UNIMPLEMENTED, owner.clock_.NowNs());
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            "unknown method " + method.substr(0, 256) +
                                ": this server implements the OTLP Export methods only"));
      }
      void OnDone() override { delete this; }
    };
    return new Unimplemented(owner_, ctx->method());
  }

 private:
  OtlpGrpcReceiver& owner_;
};

OtlpGrpcReceiver::OtlpGrpcReceiver(OtlpGrpcOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : base::MonotonicClock::Steady()),
      ingest_helper_({.name = options_.name,
                      .max_new_keys_per_request = options_.max_new_keys_per_request,
                      .max_new_keys_per_source = options_.max_new_keys_per_source,
                      .new_keys_window = options_.new_keys_window,
                      .clock = options_.clock,
                      .keys = options_.keys,
                      .metrics = options_.metrics}) {
  strobe::metrics::Registry& reg = *options_.metrics;  // OtlpIngest checked it
  auto requests = reg.AddCounterFamily(
      {"strobe_grpc_requests_total", "gRPC calls answered, by signal and gRPC status code", ""},
      {"listener", "signal", "code"});
  auto bytes = reg.AddCounterFamily({"strobe_grpc_received_bytes_total",
                                     "Request message bytes received (after decompression)", ""},
                                    {"listener", "signal"});
  auto durations =
      reg.AddHistogramFamily({"strobe_grpc_request_duration_seconds",
                              "Time from a gRPC call's start to its answer", "seconds"},
                             {"listener", "signal"}, {.unit_scale = 1e-9});
  // Registration of fixed, valid names only fails on a programming error.
  STROBE_CHECK(requests.ok() && bytes.ok() && durations.ok());
  requests_ = *requests;
  received_bytes_ = *bytes;
  durations_ = *durations;
}

OtlpGrpcReceiver::~OtlpGrpcReceiver() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now());
}

void OtlpGrpcReceiver::CountCall(std::string_view signal, int code, uint64_t start_ns) {
  requests_->With({{"listener", options_.name}, {"signal", signal}, {"code", CodeName(code)}})
      .Inc();
  const uint64_t now = clock_.NowNs();
  durations_->With({{"listener", options_.name}, {"signal", signal}})
      .RecordUnsigned(now > start_ns ? now - start_ns : 0);
}

bool OtlpGrpcReceiver::Authorized(const grpc::GenericCallbackServerContext& ctx) const {
  if (options_.auth == nullptr) return true;
  std::string_view authorization;
  const auto& md = ctx.client_metadata();
  if (auto it = md.find("authorization"); it != md.end()) {
    authorization = std::string_view(it->second.data(), it->second.size());
  }
  // One cache per gRPC thread: a Cache belongs to one thread at a time (auth.h).
  thread_local server::Authenticator::Cache cache;
  return options_.auth->Check(authorization, cache) == server::Authenticator::Verdict::kAllowed;
}

grpc::Status OtlpGrpcReceiver::Export(otlp::Signal signal, std::string_view peer,
                                      const grpc::ByteBuffer& request, std::string& response) {
  pipeline::Ingest* ingest = ingest_.load(std::memory_order_acquire);  // see ingest_
  if (ingest == nullptr) {
    ingest_helper_.CountRefused(signal, "shutdown", 0);
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "receiver not running");
  }
  const size_t size = request.Length();
  received_bytes_->With({{"listener", options_.name}, {"signal", otlp::SignalName(signal)}})
      .Add(size);
  // The message gRPC holds, and the copy when it came in several slices, count against the
  // ingress budget while they are decoded, as otlp_http's bodies do.
  grpc::Slice single;
  const bool one_slice = request.TrySingleSlice(&single).ok();
  base::ByteLease lease(options_.ingress_budget);
  if (!lease.Add(one_slice ? size : 2 * size)) {
    ingest_helper_.CountRefused(signal, "memory", 0);
    return RetryStatus(grpc::StatusCode::UNAVAILABLE,
                       "ingress memory budget exhausted; retry later", std::chrono::seconds(1));
  }
  std::string copy;
  std::string_view bytes;
  if (!FlattenByteBuffer(request, single, copy, bytes)) {
    ingest_helper_.CountRefused(signal, "invalid", 0);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "unreadable request message");
  }
  OtlpIngestResult result =
      ingest_helper_.Ingest(*ingest, signal, otlp::Encoding::kProtobuf, bytes, SourceAddress(peer));
  switch (result.kind) {
    case OtlpIngestResult::Kind::kOk:
      response =
          otlp::EncodeResponse(signal, otlp::Encoding::kProtobuf, result.rejected, result.message);
      return grpc::Status::OK;
    case OtlpIngestResult::Kind::kInvalid:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, result.message);
    case OtlpIngestResult::Kind::kPushBack:
      break;
  }
  // Soft limit: slow down (RESOURCE_EXHAUSTED, retryable because RetryInfo says so); hard
  // limit, full queue: UNAVAILABLE; stopping: UNAVAILABLE (RetryInfo only with a hint).
  if (result.push_status == pipeline::PushStatus::kShutdown && result.retry_after.count() <= 0) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, result.message);
  }
  return RetryStatus(result.push_status == pipeline::PushStatus::kThrottled
                         ? grpc::StatusCode::RESOURCE_EXHAUSTED
                         : grpc::StatusCode::UNAVAILABLE,
                     result.message, result.retry_after);
}

strobe::Status OtlpGrpcReceiver::Start(pipeline::Ingest& ingest) {
  ingest_.store(&ingest, std::memory_order_release);  // see ingest_
  service_ = std::make_unique<Service>(*this);
  grpc::ServerBuilder builder;
  const bool v6 = options_.host.find(':') != std::string::npos && options_.host.front() != '[';
  const std::string address =
      (v6 ? "[" + options_.host + "]" : options_.host) + ":" + std::to_string(options_.port);
  int selected_port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &selected_port);
  builder.RegisterCallbackGenericService(service_.get());
  builder.SetMaxReceiveMessageSize(ClampInt(options_.max_recv_msg_size));
  builder.SetMaxSendMessageSize(1 << 20);  // responses are a few bytes
  grpc::ResourceQuota quota(options_.name);
  quota.Resize(static_cast<size_t>(options_.max_memory));
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             ClampInt(options_.max_concurrent_streams));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ClampMs(options_.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ClampMs(options_.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             ClampMs(options_.min_ping_interval));
  if (options_.max_connection_idle.count() > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               ClampMs(options_.max_connection_idle));
  }
  if (options_.max_connection_age.count() > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               ClampMs(options_.max_connection_age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               ClampMs(options_.max_connection_age_grace));
  }
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || selected_port == 0) {
    server_.reset();
    ingest_.store(nullptr, std::memory_order_release);
    return strobe::Unavailable(options_.name + ": cannot listen on " + address +
                               " (address in use or not local?)");
  }
  bound_host_ = v6 ? "[" + options_.host + "]" : options_.host;
  bound_port_ = static_cast<uint16_t>(selected_port);
  return strobe::OkStatus();
}

strobe::Status OtlpGrpcReceiver::Shutdown(std::chrono::milliseconds deadline) {
  if (server_) {
    // Drain: new calls are answered UNAVAILABLE (with RetryInfo) by this receiver while the
    // calls in flight finish and are answered, until the deadline. gRPC's own Shutdown would
    // also refuse new calls, but cancels those racing with it (CANCELLED); this way a client
    // sees the status OTLP asks for. Then gRPC stops listening, cancels what is left and
    // returns once every call's callbacks are done, so no push follows.
    const auto until = std::chrono::steady_clock::now() + deadline;
    draining_.store(true);
    {
      std::unique_lock lock(drain_mu_);
      drain_cv_.wait_until(lock, until, [&] { return in_flight_.load() == 0; });
    }
    const auto left = std::max(until - std::chrono::steady_clock::now(),
                               std::chrono::steady_clock::duration::zero());
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(left));
  }
  ingest_.store(nullptr, std::memory_order_release);
  return strobe::OkStatus();
}

std::string OtlpGrpcReceiver::BoundAddress() const {
  return bound_port_ == 0 ? std::string() : bound_host_ + ":" + std::to_string(bound_port_);
}

void RegisterOtlpGrpcReceiver(pipeline::PluginRegistry& registry) {
  STROBE_CHECK(
      registry
          .AddReceiver({
              .type = "otlp_grpc",
              .description = "OTLP/gRPC receiver: the TraceService, MetricsService and "
                             "LogsService Export methods, gzip, OTLP status codes with "
                             "RetryInfo when pushing back.",
              .signals = event::kSignalAll,
              .options =
                  {
                      {"endpoint", pipeline::OptionType::kString, "127.0.0.1:4317",
                       "host:port to listen on (':0' picks a free port)"},
                      {"max_recv_msg_size",
                       pipeline::OptionType::kBytes,
                       "20MiB",
                       "largest request message after decompression (RESOURCE_EXHAUSTED "
                       "above)",
                       {.min = "1KiB", .max = "1GiB"}},
                      {"max_concurrent_streams",
                       pipeline::OptionType::kInt,
                       "100",
                       "concurrent calls per HTTP/2 connection",
                       {.min = "1", .max = "100000"}},
                      {"max_memory",
                       pipeline::OptionType::kBytes,
                       "256MiB",
                       "gRPC resource quota: memory of all connections' buffers",
                       {.min = "1MiB"}},
                      {"keepalive_time",
                       pipeline::OptionType::kDuration,
                       "2h",
                       "server keepalive ping after this long without activity",
                       {.min = "1s"}},
                      {"keepalive_timeout",
                       pipeline::OptionType::kDuration,
                       "20s",
                       "close the connection when a keepalive ping is not answered in time",
                       {.min = "1s"}},
                      {"min_ping_interval",
                       pipeline::OptionType::kDuration,
                       "5m",
                       "shortest interval between client pings the server accepts (faster: "
                       "GOAWAY)",
                       {.min = "1s"}},
                      {"max_connection_idle", pipeline::OptionType::kDuration, "0s",
                       "close connections idle this long (0: never)"},
                      {"max_connection_age", pipeline::OptionType::kDuration, "0s",
                       "close connections older than this, after max_connection_age_grace for "
                       "their calls (0: never)"},
                      {"max_connection_age_grace", pipeline::OptionType::kDuration, "30s",
                       "time calls get to finish on a connection closed for its age"},
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
                OtlpGrpcOptions o;
                o.name = ctx.id.ToString();
                STROBE_RETURN_IF_ERROR(
                    ParseListenEndpoint(ctx.options.GetString("endpoint"), o.host, o.port)
                        .WithContext(ctx.options.Where("endpoint")));
                o.max_recv_msg_size = ctx.options.GetBytes("max_recv_msg_size");
                o.max_concurrent_streams =
                    static_cast<uint32_t>(ctx.options.GetInt("max_concurrent_streams"));
                o.max_memory = ctx.options.GetBytes("max_memory");
                auto ms = [&](const char* key) {
                  return std::chrono::duration_cast<std::chrono::milliseconds>(
                      ctx.options.GetDuration(key));
                };
                o.keepalive_time = ms("keepalive_time");
                o.keepalive_timeout = ms("keepalive_timeout");
                o.min_ping_interval = ms("min_ping_interval");
                o.max_connection_idle = ms("max_connection_idle");
                o.max_connection_age = ms("max_connection_age");
                o.max_connection_age_grace = ms("max_connection_age_grace");
                o.auth = ctx.services.auth;
                o.max_new_keys_per_request =
                    static_cast<uint32_t>(ctx.options.GetInt("max_new_keys_per_request"));
                o.max_new_keys_per_source =
                    static_cast<uint64_t>(ctx.options.GetInt("max_new_keys_per_source"));
                o.new_keys_window = ctx.options.GetDuration("new_keys_window");
                o.clock = &ctx.clock;
                o.keys = &ctx.keys;
                o.metrics = ctx.services.metrics;
                o.ingress_budget = ctx.services.ingress_budget;
                return std::unique_ptr<pipeline::Receiver>(
                    std::make_unique<OtlpGrpcReceiver>(std::move(o)));
              },
          })
          .ok());
}

}  // namespace strobed::receivers
