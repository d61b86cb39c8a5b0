// Fuzzes what a remote OTLP collector sends back to the otlp_http exporter: the input is the
// whole HTTP response (status line, headers such as Retry-After, Content-Length or chunked
// framing, Content-Encoding, the ExportTraceServiceResponse or google.rpc.Status body),
// written by a fake collector on 127.0.0.1 to the real exporter (base::HttpClient, the
// response decoder, the Retry-After parser and the outcome classification) exporting two
// spans. The collector reads the whole request, answers with the input, then closes.
//
// Checked for every input: no crash, sanitizer report or hang (the exporter's timeout is 2 s);
// the outcome agrees with the status line the input starts with: kOk only for a 2xx status,
// kFailed only for a status that is not retryable (429, 502, 503, 504) and not 2xx (except a
// 2xx whose Content-Encoding body does not inflate: see the check), a retry
// hint only with a retryable status, and the hint between 0 and 100 years.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "strobe/metrics/registry.h"
#include "strobed/event/batch.h"
#include "strobed/exporters/otlp_http/otlp_http.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/otlp/synthetic.h"

namespace {

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

// Reads from `fd` until `deadline`; false on EOF, error or timeout.
// Signals interrupt nothing: libFuzzer's -timeout watchdog is a SIGALRM every second.
bool ReadSome(int fd, std::string& into, std::chrono::steady_clock::time_point deadline) {
  int ready = 0;
  do {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    ready = ::poll(&p, 1, static_cast<int>(left.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return false;
  char buf[16384];
  ssize_t n = 0;
  do {
    n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  into.append(buf, static_cast<size_t>(n));
  return true;
}

// The content length of a request head (the exporter always sends one), or 0.
size_t ContentLength(std::string_view head) {
  for (size_t at = 0; at < head.size();) {
    size_t eol = head.find("\r\n", at);
    if (eol == std::string_view::npos) eol = head.size();
    std::string_view line = head.substr(at, eol - at);
    at = eol + 2;
    constexpr std::string_view kName = "content-length:";
    if (line.size() <= kName.size()) continue;
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    }
    if (match) return std::strtoull(std::string(line.substr(kName.size())).c_str(), nullptr, 10);
  }
  return 0;
}

// A collector that answers each connection's first request with `response`, then closes.
class FakeCollector {
 public:
  FakeCollector() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_CHECK(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    FUZZ_CHECK(::listen(fd_, 16) == 0);
    socklen_t len = sizeof(addr);
    FUZZ_CHECK(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    std::thread([this] { Serve(); }).detach();  // lives until exit, like the fuzzer
  }
  uint16_t port() const { return port_; }
  void set_response(std::string r) {
    std::lock_guard<std::mutex> lock(mu_);
    response_ = std::move(r);
  }

 private:
  void Serve() {
    for (;;) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      std::string req;
      size_t head_end = std::string::npos;
      while ((head_end = req.find("\r\n\r\n")) == std::string::npos && ReadSome(c, req, deadline)) {
      }
      if (head_end != std::string::npos) {
        const size_t want = head_end + 4 + ContentLength(std::string_view(req).substr(0, head_end));
        while (req.size() < want && ReadSome(c, req, deadline)) {
        }
        std::string response;
        {
          std::lock_guard<std::mutex> lock(mu_);
          response = response_;
        }
        for (size_t off = 0; off < response.size();) {
          const ssize_t n = ::send(c, response.data() + off, response.size() - off, MSG_NOSIGNAL);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          off += static_cast<size_t>(n);
        }
      }
      ::shutdown(c, SHUT_WR);
      std::string rest;
      while (ReadSome(c, rest, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)) &&
             rest.size() < (1 << 20)) {
      }
      ::close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::string response_;
};

struct State {
  State() {
    strobed::exporters::OtlpHttpExporterOptions o;
    o.endpoint = "http://127.0.0.1:" + std::to_string(collector.port());
    o.metrics = &registry;
    o.timeout = std::chrono::seconds(2);
    exporter = std::move(strobed::exporters::OtlpHttpExporter::Create(o)).value();
    const std::string body = strobed::otlp::SyntheticTraces(3, {.spans = 2}).Next();
    auto r = strobed::otlp::Decode(strobed::otlp::Signal::kTraces,
                                   strobed::otlp::Encoding::kProtobuf, body, batch);
    FUZZ_CHECK(r.ok() && batch.spans().size() == 2);
  }
  FakeCollector collector;
  strobe::metrics::Registry registry;
  std::unique_ptr<strobed::exporters::OtlpHttpExporter> exporter;
  strobed::event::Batch batch{nullptr, 4096, 1 << 20};
};

// The status code of a response starting "HTTP/1.x DDD", or -1.
int StatusOf(std::string_view r) {
  if (r.size() < 12 || r.substr(0, 7) != "HTTP/1." || r[8] != ' ') return -1;
  int code = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (r[i] < '0' || r[i] > '9') return -1;
    code = code * 10 + (r[i] - '0');
  }
  return code;
}

// Whether the head of `r` has a line starting with `name` (lower case, with the colon).
bool HasHeader(std::string_view r, std::string_view name) {
  r = r.substr(0, r.find("\r\n\r\n"));
  for (size_t at = r.find("\r\n"); at != std::string_view::npos; at = r.find("\r\n", at + 2)) {
    std::string_view line = r.substr(at + 2, name.size());
    bool match = line.size() == name.size();
    for (size_t i = 0; i < line.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == name[i];
    }
    if (match) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static State* state = new State();
  const std::string response(reinterpret_cast<const char*>(data), size);
  state->collector.set_response(response);
  const strobed::pipeline::ExportResult r = state->exporter->Export(state->batch);
  const auto outcome = r.outcome(strobed::event::kSignalTraces);
  const auto hint = r.retry_after(strobed::event::kSignalTraces);
  const int status = StatusOf(response);
  const bool retryable = status == 429 || status == 502 || status == 503 || status == 504;
  switch (outcome) {
    case strobed::pipeline::ExportOutcome::kOk:
      FUZZ_CHECK(status >= 200 && status <= 299);
      break;
    case strobed::pipeline::ExportOutcome::kFailed:
      // A 2xx whose compressed body does not inflate is an InvalidArgument from the client,
      // which the exporter counts as a permanent error (it cannot tell it from a request the
      // client refused to send); any other 2xx must not fail.
      FUZZ_CHECK(status >= 0 && !retryable);
      if (status >= 200 && status <= 299) FUZZ_CHECK(HasHeader(response, "content-encoding:"));
      break;
    case strobed::pipeline::ExportOutcome::kRetry:
      FUZZ_CHECK(hint.count() >= 0);
      FUZZ_CHECK(hint <= std::chrono::hours(24 * 365 * 101));
      if (hint.count() > 0) FUZZ_CHECK(retryable);
      break;
  }
  return 0;
}
