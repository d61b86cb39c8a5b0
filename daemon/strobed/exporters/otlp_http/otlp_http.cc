#include "strobed/exporters/otlp_http/otlp_http.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

#include "strobe/base/check.h"
#include "strobed/otlp/compression.h"
#include "strobed/otlp/otlp_encode.h"

namespace strobed::exporters {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

const char* ItemName(otlp::Signal s) {
  switch (s) {
    case otlp::Signal::kTraces:
      return "spans";
    case otlp::Signal::kMetrics:
      return "metric_points";
    case otlp::Signal::kLogs:
      return "log_records";
  }
  return "items";
}

bool Retryable(int status) {
  return status == 0 || status == 429 || status == 502 || status == 503 || status == 504;
}

}  // namespace

// One kept-alive connection; every operation is asynchronous with the stream's timeout and
// driven to completion on this thread (Beast's timeouts only apply to async operations).
struct OtlpHttpExporter::Connection {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool open = false;

  void Close() {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
    open = false;
    buffer.clear();
  }
  template <typename Start>
  beast::error_code Run(Start start) {
    beast::error_code result = net::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }
};

strobe::Result<std::unique_ptr<OtlpHttpExporter>> OtlpHttpExporter::Create(
    OtlpHttpExporterOptions options) {
  std::string_view url = options.endpoint;
  if (url.rfind("http://", 0) != 0) {
    return strobe::InvalidArgument("otlp_http exporter endpoint '" + options.endpoint +
                                   "' must start with http:// (TLS is not supported)");
  }
  url.remove_prefix(7);
  size_t slash = url.find('/');
  std::string_view hostport = url.substr(0, slash);
  std::string base = slash == std::string_view::npos ? "" : std::string(url.substr(slash));
  while (!base.empty() && base.back() == '/') base.pop_back();
  size_t colon = hostport.rfind(':');
  std::string host(hostport.substr(0, colon));
  std::string port =
      colon == std::string_view::npos ? "80" : std::string(hostport.substr(colon + 1));
  unsigned pv = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), pv);
  if (host.empty() || ec != std::errc() || p != port.data() + port.size() || pv == 0 ||
      pv > 65535) {
    return strobe::InvalidArgument("otlp_http exporter endpoint '" + options.endpoint +
                                   "': expected http://host:port");
  }
  return std::unique_ptr<OtlpHttpExporter>(
      new OtlpHttpExporter(std::move(options), std::move(host), std::move(port), std::move(base)));
}

OtlpHttpExporter::OtlpHttpExporter(OtlpHttpExporterOptions options, std::string host,
                                   std::string port, std::string base_path)
    : options_(std::move(options)),
      host_(std::move(host)),
      port_(std::move(port)),
      base_path_(std::move(base_path)),
      conn_(std::make_unique<Connection>()),
      rng_(options_.seed) {
  STROBE_CHECK(options_.metrics != nullptr);  // required: the factory passes the host's
  strobe::metrics::Registry& reg = *options_.metrics;
  for (otlp::Signal s : {otlp::Signal::kTraces, otlp::Signal::kMetrics, otlp::Signal::kLogs}) {
    std::string item = ItemName(s);
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
  auto retries = reg.AddCounterFamily(
      {"strobe_exporter_retries_total", "Requests an exporter retried.", ""}, {"exporter"});
  STROBE_CHECK(retries.ok());
  retries_ = &(*retries)->With({{"exporter", options_.name}});
}

OtlpHttpExporter::~OtlpHttpExporter() = default;

HttpReply OtlpHttpExporter::Post(const std::string& target, const std::string& body) {
  HttpReply reply;
  Connection& c = *conn_;
  for (int attempt = 0; attempt < 2; ++attempt) {  // second try: a stale kept-alive socket
    beast::error_code ec;
    bool reused = c.open;
    if (!c.open) {
      tcp::resolver resolver(c.ioc);
      auto results = resolver.resolve(host_, port_, ec);
      if (ec) {
        reply.error = "resolve " + host_ + ": " + ec.message();
        return reply;
      }
      c.stream.expires_after(options_.timeout);
      ec = c.Run([&](auto handler) { c.stream.async_connect(results, handler); });
      if (ec) {
        c.Close();
        reply.error = "connect " + host_ + ":" + port_ + ": " + ec.message();
        return reply;
      }
      c.open = true;
    }
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, host_ + ":" + port_);
    req.set(http::field::content_type, "application/x-protobuf");
    req.set(http::field::user_agent, "strobe-otlp-exporter");
    if (options_.gzip) req.set(http::field::content_encoding, "gzip");
    for (const auto& [k, v] : options_.headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    c.stream.expires_after(options_.timeout);
    ec = c.Run([&](auto handler) { http::async_write(c.stream, req, handler); });
    http::response_parser<http::string_body> parser;
    parser.body_limit(16u << 20);
    if (!ec) {
      ec = c.Run([&](auto handler) { http::async_read(c.stream, c.buffer, parser, handler); });
    }
    if (ec) {
      c.Close();
      if (reused) continue;  // the server closed an idle connection: reconnect once
      reply.error = "POST " + target + ": " + ec.message();
      return reply;
    }
    auto& res = parser.get();
    reply.status = static_cast<int>(res.result_int());
    reply.body = std::move(res.body());
    if (auto it = res.find(http::field::retry_after); it != res.end()) {
      reply.retry_after = std::string(it->value());
    }
    if (!res.keep_alive()) c.Close();
    return reply;
  }
  return reply;
}

std::chrono::milliseconds OtlpHttpExporter::BackoffDelay(int attempt,
                                                         std::string_view retry_after) {
  int64_t seconds = 0;
  auto [p, ec] =
      std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds);
  if (!retry_after.empty() && ec == std::errc() && p == retry_after.data() + retry_after.size() &&
      seconds >= 0) {
    return std::min(std::chrono::milliseconds(seconds * 1000), options_.max_backoff * 4);
  }
  int64_t base = options_.initial_backoff.count();
  int64_t cap = options_.max_backoff.count();
  int64_t exp = base;
  for (int i = 0; i < attempt && exp < cap; ++i) exp *= 2;
  exp = std::min(exp, cap);
  // Full jitter: uniform in [exp/2, exp] keeps a floor so retries do not hammer.
  std::uniform_int_distribution<int64_t> d(exp / 2, exp);
  return std::chrono::milliseconds(d(rng_));
}

void OtlpHttpExporter::Wait(std::chrono::milliseconds delay) {
  if (sleep_) {
    sleep_(delay);
    return;
  }
  strobe::MutexLock lock(mu_);
  cv_.WaitFor(mu_, delay, [this]() STROBE_REQUIRES(mu_) { return stopping_; });
}

pipeline::ExportResult OtlpHttpExporter::Send(otlp::Signal signal, const std::string& body,
                                              uint64_t items) {
  std::string target = base_path_ + "/v1/" + std::string(otlp::SignalName(signal));
  std::string wire = options_.gzip ? otlp::GzipCompress(body, 1) : body;
  auto failed = [&](std::string_view reason, uint64_t n) {
    if (n > 0)
      failed_[static_cast<size_t>(signal)]
          ->With({{"exporter", options_.name}, {"reason", reason}})
          .Add(n);
  };
  auto start = std::chrono::steady_clock::now();
  std::chrono::milliseconds waited{0};  // sum of backoff delays (also under a test sleep hook)
  for (int attempt = 0;; ++attempt) {
    HttpReply r = Post(target, wire);
    if (r.status >= 200 && r.status < 300) {
      uint64_t rejected = 0;
      auto ps = otlp::DecodeResponse(signal, r.body);
      if (ps.ok() && ps->rejected > 0)
        rejected = std::min<uint64_t>(items, static_cast<uint64_t>(ps->rejected));
      sent_[static_cast<size_t>(signal)]->With({{"exporter", options_.name}}).Add(items - rejected);
      failed("rejected_by_server", rejected);
      return pipeline::ExportResult::kOk;
    }
    if (!Retryable(r.status)) {
      failed("permanent_error", items);
      return pipeline::ExportResult::kFailed;
    }
    {
      strobe::MutexLock lock(mu_);
      if (stopping_) return pipeline::ExportResult::kRetry;
    }
    std::chrono::milliseconds delay = BackoffDelay(attempt, r.retry_after);
    auto elapsed =
        std::max<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start, waited);
    if (elapsed + delay > options_.max_elapsed) {
      failed("retry_exhausted", items);
      return pipeline::ExportResult::kRetry;
    }
    retries_->Inc();
    Wait(delay);
    waited += delay;
  }
}

pipeline::ExportResult OtlpHttpExporter::Export(const event::Batch& batch) noexcept {
  const event::KeyTable& keys =
      options_.keys != nullptr ? *options_.keys : event::KeyTable::Global();
  pipeline::ExportResult result = pipeline::ExportResult::kOk;
  auto merge = [&result](pipeline::ExportResult r) {
    if (r == pipeline::ExportResult::kRetry) {
      result = r;
    } else if (r == pipeline::ExportResult::kFailed && result == pipeline::ExportResult::kOk) {
      result = r;
    }
  };
  try {
    if (!batch.spans().empty()) {
      merge(Send(otlp::Signal::kTraces, otlp::EncodeTraces(batch.spans(), keys),
                 batch.spans().size()));
    }
    if (!batch.metrics().empty()) {
      merge(Send(otlp::Signal::kMetrics, otlp::EncodeMetrics(batch.metrics(), keys),
                 batch.metrics().size()));
    }
    if (!batch.logs().empty()) {
      merge(Send(otlp::Signal::kLogs, otlp::EncodeLogs(batch.logs(), keys), batch.logs().size()));
    }
  } catch (const std::exception&) {
    // Beast/Asio may throw on resource exhaustion; the pipeline retries the batch.
    conn_->Close();
    return pipeline::ExportResult::kRetry;
  }
  return result;
}

strobe::Status OtlpHttpExporter::Shutdown(std::chrono::milliseconds deadline) {
  (void)deadline;
  {
    strobe::MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  return strobe::OkStatus();
}

void RegisterOtlpHttpExporter(pipeline::PluginRegistry& registry) {
  STROBE_CHECK(
      registry
          .AddExporter({
              .type = "otlp_http",
              .description = "Sends batches to an OTLP/HTTP endpoint as gzip protobuf, with "
                             "retries (exponential backoff, jitter, Retry-After).",
              .signals = event::kSignalAll,
              .options =
                  {
                      {"endpoint", pipeline::OptionType::kString, "http://127.0.0.1:4318",
                       "base URL; /v1/traces, /v1/metrics, /v1/logs are appended"},
                      {"headers", pipeline::OptionType::kNode, "",
                       "map of extra request headers (e.g. Authorization)"},
                      {"compression", pipeline::OptionType::kString, "gzip", "gzip or none"},
                      {"timeout", pipeline::OptionType::kDuration, "10s", "per request"},
                      {"initial_backoff", pipeline::OptionType::kDuration, "100ms",
                       "first retry delay (doubles per attempt, with jitter)"},
                      {"max_backoff", pipeline::OptionType::kDuration, "5s", "largest retry delay"},
                      {"max_elapsed", pipeline::OptionType::kDuration, "30s",
                       "give the batch back to the pipeline after retrying this long"},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Exporter>> {
                OtlpHttpExporterOptions o;
                o.name = ctx.id.ToString();
                o.endpoint = ctx.options.GetString("endpoint");
                std::string comp = ctx.options.GetString("compression");
                if (comp != "gzip" && comp != "none") {
                  return strobe::InvalidArgument(ctx.options.Where("compression") +
                                                 ": otlp_http.compression must be gzip or none");
                }
                o.gzip = comp == "gzip";
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
                o.initial_backoff = ms("initial_backoff");
                o.max_backoff = ms("max_backoff");
                o.max_elapsed = ms("max_elapsed");
                o.seed = ctx.seed;
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
