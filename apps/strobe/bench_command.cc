// `strobe bench otlp`: an OTLP/HTTP load generator. Each of --connections threads keeps one
// HTTP/1.1 connection to --url and POSTs ExportTraceServiceRequests of --spans-per-request
// spans (6 attributes each, varied ids, names and values: strobed/otlp/synthetic.h) as fast
// as the server answers, for --duration seconds. While it runs a progress line (stderr)
// shows requests/s and spans/s; at the end it prints requests/s, spans/s, status-code counts
// and latency percentiles (text, or one JSON object with --json).
//
// Exit codes: 0 when every request got a 2xx answer, 1 when any failed (non-2xx or transport
// error), 2 for usage errors.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

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
#include "strobed/base/json.h"
#include "strobed/otlp/compression.h"
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

struct Target {
  std::string host;
  std::string port;
  std::string path;
};

bool ParseUrl(const std::string& url, Target& t, std::string& err) {
  std::string_view u = url;
  if (u.rfind("http://", 0) != 0) {
    err = "--url must start with http://";
    return false;
  }
  u.remove_prefix(7);
  size_t slash = u.find('/');
  std::string_view hp = u.substr(0, slash);
  std::string base = slash == std::string_view::npos ? "" : std::string(u.substr(slash));
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.size() < 10 || base.compare(base.size() - 10, 10, "/v1/traces") != 0) {
    base += "/v1/traces";
  }
  size_t colon = hp.rfind(':');
  t.host = std::string(hp.substr(0, colon));
  t.port = colon == std::string_view::npos ? "80" : std::string(hp.substr(colon + 1));
  t.path = base;
  if (t.host.empty()) {
    err = "--url has no host";
    return false;
  }
  return true;
}

int Connect(const Target& t) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(t.host.c_str(), t.port.c_str(), &hints, &res) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads one HTTP response; returns its status (0 on a transport or parse error) and whether
// the server keeps the connection open.
int ReadResponse(int fd, std::string& buf, bool& keep_alive) {
  keep_alive = true;
  size_t head_end;
  char tmp[16384];
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return 0;
    buf.append(tmp, static_cast<size_t>(n));
  }
  int status = 0;
  if (buf.size() < 12 || std::sscanf(buf.c_str(), "HTTP/1.%*d %d", &status) != 1) return 0;
  std::string head = buf.substr(0, head_end);
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t len = 0;
  if (size_t p = head.find("\r\ncontent-length:"); p != std::string::npos) {
    len = std::strtoull(head.c_str() + p + 17, nullptr, 10);
  }
  if (head.find("\r\nconnection: close") != std::string::npos) keep_alive = false;
  size_t need = head_end + 4 + len;
  while (buf.size() < need) {
    ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return 0;
    buf.append(tmp, static_cast<size_t>(n));
  }
  buf.erase(0, need);
  return status;
}

struct Shared {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> spans{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::map<int, uint64_t> statuses;  // 0 = transport error
  std::vector<double> latencies_ms;
};

void Worker(const BenchFlags& f, const Target& t, int index, Shared& sh) {
  strobed::otlp::SyntheticOptions so;
  so.spans = f.spans_per_request;
  so.attributes = f.attributes;
  strobed::otlp::SyntheticTraces gen(static_cast<uint64_t>(index) + 1, so);
  std::vector<std::string> requests;
  for (int i = 0; i < f.bodies; ++i) {
    std::string body = gen.Next();
    if (f.gzip) body = strobed::otlp::GzipCompress(body, 1);
    std::string req = "POST " + t.path + " HTTP/1.1\r\nHost: " + t.host + ":" + t.port +
                      "\r\nContent-Type: application/x-protobuf\r\n" +
                      (f.gzip ? "Content-Encoding: gzip\r\n" : "") +
                      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    requests.push_back(std::move(req));
  }
  std::map<int, uint64_t> statuses;
  std::vector<double> lat;
  std::string buf;
  int fd = -1;
  size_t next = 0;
  while (!sh.stop.load(std::memory_order_relaxed)) {
    if (fd < 0) {
      fd = Connect(t);
      buf.clear();
      if (fd < 0) {
        ++statuses[0];
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
    }
    auto t0 = std::chrono::steady_clock::now();
    bool keep = false;
    int status = SendAll(fd, requests[next]) ? ReadResponse(fd, buf, keep) : 0;
    auto t1 = std::chrono::steady_clock::now();
    next = (next + 1) % requests.size();
    ++statuses[status];
    if (status == 0 || !keep) {
      ::close(fd);
      fd = -1;
    }
    if (status == 0) continue;
    lat.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    sh.requests.fetch_add(1, std::memory_order_relaxed);
    if (status >= 200 && status < 300) {
      sh.spans.fetch_add(static_cast<uint64_t>(f.spans_per_request), std::memory_order_relaxed);
    }
  }
  if (fd >= 0) ::close(fd);
  std::lock_guard<std::mutex> lock(sh.mu);
  for (auto [s, n] : statuses) sh.statuses[s] += n;
  sh.latencies_ms.insert(sh.latencies_ms.end(), lat.begin(), lat.end());
}

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

int RunBenchOtlp(const BenchFlags& f) {
  Target t;
  std::string err;
  if (!ParseUrl(f.url, t, err)) {
    std::fprintf(stderr, "strobe bench otlp: %s\n", err.c_str());
    return kExitUsage;
  }
  Shared sh;
  std::vector<std::thread> threads;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < f.connections; ++i)
    threads.emplace_back(Worker, std::cref(f), std::cref(t), i, std::ref(sh));
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
      std::printf("%s\"%s\":%llu", first ? "" : ",", s == 0 ? "error" : std::to_string(s).c_str(),
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
      std::printf(" %s=%llu", s == 0 ? "error" : std::to_string(s).c_str(),
                  static_cast<unsigned long long>(n));
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
  auto* bench = app.add_subcommand("bench", "Load generators (OTLP/HTTP ingest)");
  bench->require_subcommand(1);
  auto flags = std::make_shared<BenchFlags>();
  auto* otlp = bench->add_subcommand("otlp", "Send synthetic OTLP/HTTP trace requests");
  otlp->add_option("--url", flags->url, "OTLP/HTTP base URL (or full /v1/traces URL)")
      ->capture_default_str();
  otlp->add_option("--spans-per-request", flags->spans_per_request, "spans per request")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  otlp->add_option("--attributes", flags->attributes, "attributes per span")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  otlp->add_option("--connections", flags->connections, "concurrent connections")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  otlp->add_option("--duration", flags->duration_s, "seconds to run")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  otlp->add_flag("--gzip", flags->gzip, "gzip request bodies");
  otlp->add_flag("--json", flags->json, "print one JSON object (no progress line)");
  return {bench, [flags, otlp]() { return otlp->parsed() ? RunBenchOtlp(*flags) : kExitUsage; }};
}

}  // namespace strobe::cli
