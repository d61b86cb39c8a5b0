// `strobe bench otlp`: an OTLP/HTTP and OTLP/gRPC load generator. Each of --connections
// threads keeps one HTTP/1.1 connection to --url (http://) and POSTs ExportTraceServiceRequests
// of --spans-per-request spans (6 attributes each, varied ids, names and values:
// strobed/otlp/synthetic.h) as fast as the server answers, for --duration seconds; with a
// grpc:// URL each thread keeps its own HTTP/2 connection (a channel with a private subchannel
// pool) and makes one TraceService/Export call after the other on it (a stream per call, one
// at a time), the gRPC generic stub sending the same serialized requests. While it runs a progress
// line (stderr) shows requests/s and spans/s; at the end it prints requests/s, spans/s, status-code
// counts and latency percentiles (text, or one JSON object with --json).
//
// Exit codes: 0 when every request got a 2xx answer, 1 when any failed (non-2xx or transport
// error), 2 for usage errors.
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "command.h"
#include "strobed/base/compression.h"
#include "strobed/base/http_client.h"
#include "strobed/base/json.h"
#include "strobed/base/url.h"
#include "strobed/otlp/synthetic.h"

namespace strobe::cli {
namespace {

struct BenchFlags {
  std::string url = "http://127.0.0.1:4318";
  int spans_per_request = 1000;
  int attributes = 6;
  int connections = 4;
  double duration_s = 10;
  bool json = false;
  bool gzip = false;
  int bodies = 16;  // distinct request bodies per connection
};

constexpr std::string_view kGrpcScheme = "grpc://";
constexpr char kTraceExportMethod[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

// The traces endpoint of --url: the URL's path, with /v1/traces appended unless it is there.
strobe::Result<strobed::base::Url> TracesUrl(const std::string& text) {
  auto url = strobed::base::ParseUrl(text);
  if (!url.ok()) return url.status();
  std::string path(url->BasePath());
  if (!path.ends_with("/v1/traces")) path += "/v1/traces";
  url->target = path;
  return url;
}

struct Shared {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> spans{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::map<int, uint64_t> statuses;  // 0 = transport error
  std::vector<double> latencies_ms;
};

void Worker(const BenchFlags& f, const strobed::base::Url& url, int index, Shared& sh) {
  strobed::otlp::SyntheticOptions so;
  so.spans = f.spans_per_request;
  so.attributes = f.attributes;
  strobed::otlp::SyntheticTraces gen(static_cast<uint64_t>(index) + 1, so);
  std::vector<std::string> bodies;
  for (int i = 0; i < f.bodies; ++i) {
    std::string body = gen.Next();
    // Compressed once here, not per request: the generator measures the server.
    if (f.gzip) body = strobed::base::GzipCompress(body, 1);
    bodies.push_back(std::move(body));
  }
  std::vector<strobed::base::HttpHeader> headers;
  if (f.gzip) headers.push_back({"Content-Encoding", "gzip"});
  std::map<int, uint64_t> statuses;
  std::vector<double> lat;
  strobed::base::HttpClientOptions options;
  options.connect_timeout = std::chrono::seconds(10);
  options.request_timeout = std::chrono::seconds(10);
  options.user_agent = "strobe-bench";
  auto client = strobed::base::HttpClient::Create(url, options);
  if (!client.ok()) {
    std::lock_guard<std::mutex> lock(sh.mu);
    ++sh.statuses[0];
    return;
  }
  strobed::base::HttpRequest req;
  req.target = url.target;
  req.content_type = "application/x-protobuf";
  req.headers = headers;
  size_t next = 0;
  while (!sh.stop.load(std::memory_order_relaxed)) {
    req.body = bodies[next];
    const uint64_t connections = (*client)->connections_opened();
    auto t0 = std::chrono::steady_clock::now();
    auto res = (*client)->Send(req);
    auto t1 = std::chrono::steady_clock::now();
    next = (next + 1) % bodies.size();
    const int status = res.ok() ? res->status : 0;
    ++statuses[status];
    if (status == 0) {
      // Could not even connect: do not spin on a server that is not there.
      if ((*client)->connections_opened() == connections && !(*client)->connected()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    lat.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    sh.requests.fetch_add(1, std::memory_order_relaxed);
    if (status >= 200 && status < 300) {
      sh.spans.fetch_add(static_cast<uint64_t>(f.spans_per_request), std::memory_order_relaxed);
    }
  }
  std::lock_guard<std::mutex> lock(sh.mu);
  for (auto [s, n] : statuses) sh.statuses[s] += n;
  sh.latencies_ms.insert(sh.latencies_ms.end(), lat.begin(), lat.end());
}

// One gRPC stream after the other on this thread's own connection; the status is recorded as
// its gRPC code under key 1000 + code (0 = OK maps to 200 so "every request 2xx" holds).
void GrpcWorker(const BenchFlags& f, const std::string& target, int index, Shared& sh) {
  strobed::otlp::SyntheticOptions so;
  so.spans = f.spans_per_request;
  so.attributes = f.attributes;
  strobed::otlp::SyntheticTraces gen(static_cast<uint64_t>(index) + 1, so);
  std::vector<grpc::ByteBuffer> bodies;
  for (int i = 0; i < f.bodies; ++i) {
    grpc::Slice slice(gen.Next());
    bodies.emplace_back(&slice, 1);  // built once: the generator measures the server
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own per thread
  args.SetMaxSendMessageSize(-1);
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  std::map<int, uint64_t> statuses;
  std::vector<double> lat;
  size_t next = 0;
  while (!sh.stop.load(std::memory_order_relaxed)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (f.gzip) ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    grpc::ByteBuffer response;
    grpc::Status status;
    auto t0 = std::chrono::steady_clock::now();
    auto call = stub.PrepareUnaryCall(&ctx, kTraceExportMethod, bodies[next], &cq);
    call->StartCall();
    call->Finish(&response, &status, nullptr);
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok)) break;
    auto t1 = std::chrono::steady_clock::now();
    next = (next + 1) % bodies.size();
    const int code = status.ok() ? 200 : 1000 + status.error_code();
    ++statuses[code];
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE && !status.error_details().size() &&
        channel->GetState(false) != GRPC_CHANNEL_READY) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // no server: do not spin
      continue;
    }
    lat.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    sh.requests.fetch_add(1, std::memory_order_relaxed);
    if (status.ok()) {
      sh.spans.fetch_add(static_cast<uint64_t>(f.spans_per_request), std::memory_order_relaxed);
    }
  }
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
  std::lock_guard<std::mutex> lock(sh.mu);
  for (auto [s, n] : statuses) sh.statuses[s] += n;
  sh.latencies_ms.insert(sh.latencies_ms.end(), lat.begin(), lat.end());
}

// "200" for success, "grpc_<code>" for a gRPC status, "error" for a transport failure.
std::string StatusKey(int s) {
  if (s == 0) return "error";
  if (s >= 1000) return "grpc_" + std::to_string(s - 1000);
  return std::to_string(s);
}

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

int RunBenchOtlp(const BenchFlags& f) {
  const bool grpc_mode = std::string_view(f.url).starts_with(kGrpcScheme);
  const std::string grpc_target = grpc_mode ? f.url.substr(kGrpcScheme.size()) : std::string();
  auto url =
      grpc_mode ? strobe::Result<strobed::base::Url>(strobed::base::Url{}) : TracesUrl(f.url);
  if (grpc_mode && (grpc_target.empty() || grpc_target.find('/') != std::string::npos)) {
    url = strobe::InvalidArgument("--url grpc://HOST:PORT takes no path");
  } else if (!grpc_mode && url.ok() && url->scheme != strobed::base::UrlScheme::kHttp) {
    url = strobe::InvalidArgument("--url must start with http:// or grpc://");
  }
  if (!url.ok()) {
    std::fprintf(stderr, "strobe bench otlp: %s\n", url.status().ToString().c_str());
    return kExitUsage;
  }
  Shared sh;
  std::vector<std::thread> threads;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < f.connections; ++i) {
    if (grpc_mode) {
      threads.emplace_back(GrpcWorker, std::cref(f), std::cref(grpc_target), i, std::ref(sh));
    } else {
      threads.emplace_back(Worker, std::cref(f), std::cref(*url), i, std::ref(sh));
    }
  }
  auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(f.duration_s));
  uint64_t last_req = 0, last_spans = 0;
  auto last = start;
  while (std::chrono::steady_clock::now() < deadline) {
    auto wake = std::min(deadline, last + std::chrono::seconds(1));
    std::this_thread::sleep_until(wake);
    auto now = std::chrono::steady_clock::now();
    double dt = std::chrono::duration<double>(now - last).count();
    uint64_t r = sh.requests.load(), s = sh.spans.load();
    if (!f.json && dt > 0) {
      std::fprintf(stderr, "\r[%5.1fs] %9.0f req/s %12.0f spans/s  total %llu requests",
                   std::chrono::duration<double>(now - start).count(),
                   static_cast<double>(r - last_req) / dt, static_cast<double>(s - last_spans) / dt,
                   static_cast<unsigned long long>(r));
    }
    last_req = r;
    last_spans = s;
    last = now;
  }
  sh.stop = true;
  for (auto& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!f.json) std::fputc('\n', stderr);
  std::sort(sh.latencies_ms.begin(), sh.latencies_ms.end());
  double rps = static_cast<double>(sh.requests.load()) / elapsed;
  double sps = static_cast<double>(sh.spans.load()) / elapsed;
  uint64_t failed = 0;
  for (auto [s, n] : sh.statuses) {
    if (s < 200 || s >= 300) failed += n;
  }
  const double qs[] = {0.5, 0.9, 0.99, 0.999};
  if (f.json) {
    std::printf(
        "{\"url\":%s,\"connections\":%d,\"spans_per_request\":%d,\"duration_s\":%.3f,"
        "\"requests\":%llu,\"requests_per_s\":%.1f,\"spans_per_s\":%.1f,\"status_codes\":{",
        strobed::base::JsonQuote(f.url).c_str(), f.connections, f.spans_per_request, elapsed,
        static_cast<unsigned long long>(sh.requests.load()), rps, sps);
    bool first = true;
    for (auto [s, n] : sh.statuses) {
      std::printf("%s\"%s\":%llu", first ? "" : ",", StatusKey(s).c_str(),
                  static_cast<unsigned long long>(n));
      first = false;
    }
    std::printf(
        "},\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}}\n",
        Percentile(sh.latencies_ms, qs[0]), Percentile(sh.latencies_ms, qs[1]),
        Percentile(sh.latencies_ms, qs[2]), Percentile(sh.latencies_ms, qs[3]),
        sh.latencies_ms.empty() ? 0.0 : sh.latencies_ms.back());
  } else {
    std::printf("url               %s (%d connections, %d spans/request, %.1f s)\n", f.url.c_str(),
                f.connections, f.spans_per_request, elapsed);
    std::printf("requests          %llu (%.1f/s)\n",
                static_cast<unsigned long long>(sh.requests.load()), rps);
    std::printf("spans             %llu (%.0f/s)\n",
                static_cast<unsigned long long>(sh.spans.load()), sps);
    std::printf("status codes     ");
    for (auto [s, n] : sh.statuses) {
      std::printf(" %s=%llu", StatusKey(s).c_str(), static_cast<unsigned long long>(n));
    }
    std::printf("\nlatency ms        p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
                Percentile(sh.latencies_ms, qs[0]), Percentile(sh.latencies_ms, qs[1]),
                Percentile(sh.latencies_ms, qs[2]), Percentile(sh.latencies_ms, qs[3]),
                sh.latencies_ms.empty() ? 0.0 : sh.latencies_ms.back());
  }
  return failed == 0 && sh.requests.load() > 0 ? kExitOk : kExitFailure;
}

}  // namespace

Command AddBenchCommand(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Load generators (OTLP/HTTP and OTLP/gRPC ingest)");
  bench->require_subcommand(1);
  auto flags = std::make_shared<BenchFlags>();
  auto* otlp =
      bench->add_subcommand("otlp", "Send synthetic OTLP/HTTP or OTLP/gRPC trace requests");
  otlp->add_option("--url", flags->url,
                   "OTLP/HTTP base URL (or full /v1/traces URL), or grpc://HOST:PORT for OTLP/gRPC")
      ->capture_default_str();
  otlp->add_option("--spans-per-request", flags->spans_per_request, "spans per request")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  otlp->add_option("--attributes", flags->attributes, "attributes per span")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  otlp->add_option("--connections", flags->connections,
                   "concurrent connections (gRPC: connections, one stream at a time on each)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  otlp->add_option("--duration", flags->duration_s, "seconds to run")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  otlp->add_flag("--gzip", flags->gzip, "gzip request bodies (gRPC: grpc-encoding gzip)");
  otlp->add_flag("--json", flags->json, "print one JSON object (no progress line)");
  return {bench, [flags, otlp]() { return otlp->parsed() ? RunBenchOtlp(*flags) : kExitUsage; }};
}

}  // namespace strobe::cli
