#pragma once

// Exposer: serves a registry's /metrics over HTTP from one background thread, so a program
// can be scraped directly without the daemon (what prometheus-cpp's Exposer and
// client_golang's promhttp do). Dependency-free: POSIX sockets and poll(2).
//
//   auto exposer = strobe::metrics::Exposer::Start(Registry::Default(), {.port = 9464});
//   if (!exposer.ok()) { ... exposer.status() ... }
//   std::printf("scrape me at 127.0.0.1:%u/metrics\n", (*exposer)->port());
//   ...                                  // ~Exposer (or Stop()) stops and joins the thread
//
// What it serves: GET or HEAD on `path` (a query string is ignored) renders the registry with
// TextRenderer in the format NegotiateFormat() picks from the Accept header (Prometheus text
// 0.0.4 or OpenMetrics 1.0); any other path is 404, any other method 405. HTTP/1.1
// keep-alive is supported (Prometheus reuses its connection); HTTP/1.0 closes unless the
// client asks for keep-alive.
//
// Safe by default and bounded: it binds 127.0.0.1 unless told otherwise (an exposition shows
// the program's internals: metric names, label values). At most `max_connections` connections
// are open (one more is accepted and closed at once, counted); a request head larger than
// `max_request_bytes` is answered 431, a malformed one 400 (the parser is
// internal/http_request.h, fuzzed); a request body is refused. Each request must arrive, and
// its response must be written, within `io_timeout`; an idle keep-alive connection is closed
// after `io_timeout` too. So a slow or hostile client can hold one slot for at most
// `io_timeout` per request, and memory is bounded by max_connections x (max_request_bytes +
// one rendered page).
//
// Rendering runs on the exposer thread: a scrape of N series costs what TextRenderer costs
// (~0.1 us per counter line) and never blocks the program's writers (registry.h).
//
// Thread class: Start/Stop/port/stats are thread-safe. The registry must outlive the Exposer.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "strobe/base/status.h"
#include "strobe/metrics/registry.h"

namespace strobe::metrics {

struct ExposerOptions {
  // A numeric IPv4 or IPv6 address. "0.0.0.0" or "::" serve every interface: only do that
  // behind a firewall, the exposition has no authentication.
  std::string address = "127.0.0.1";
  uint16_t port = 9464;  // 0 picks a free port; port() tells which
  std::string path = "/metrics";
  size_t max_connections = 16;
  size_t max_request_bytes = 8192;
  std::chrono::milliseconds io_timeout{10'000};
};

// Counters of what the exposer did; each value is atomic, the set is not a consistent cut.
struct ExposerStats {
  uint64_t scrapes = 0;                // 200 responses on `path`
  uint64_t other_responses = 0;        // 404, 405
  uint64_t bad_requests = 0;           // 400 and 431: the connection was closed
  uint64_t rejected_connections = 0;   // over max_connections: closed at accept
  uint64_t timed_out_connections = 0;  // closed by io_timeout (including idle keep-alive)
  uint64_t accept_failures = 0;        // accept() out of descriptors/memory: retried 100 ms later
};

class Exposer {
 public:
  // Binds, listens and starts the serving thread. Errors: INVALID_ARGUMENT for an address
  // that is not numeric IPv4/IPv6, a path not starting with '/', or a zero limit; UNAVAILABLE
  // when the socket cannot be bound (port taken, address not local), naming address:port.
  static Result<std::unique_ptr<Exposer>> Start(const Registry& registry,
                                                ExposerOptions options = {});
  ~Exposer();  // Stop()
  Exposer(const Exposer&) = delete;
  Exposer& operator=(const Exposer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  uint16_t port() const { return port_; }
  // Stops serving: closes the listener and every connection, joins the thread. Idempotent.
  void Stop();
  ExposerStats stats() const;

 private:
  struct Counters {
    std::atomic<uint64_t> scrapes{0};
    std::atomic<uint64_t> other_responses{0};
    std::atomic<uint64_t> bad_requests{0};
    std::atomic<uint64_t> rejected_connections{0};
    std::atomic<uint64_t> timed_out_connections{0};
    std::atomic<uint64_t> accept_failures{0};
  };

  Exposer(const Registry& registry, ExposerOptions options, int listen_fd, int wake_fd,
          uint16_t port);
  void Run();

  const Registry& registry_;
  const ExposerOptions options_;
  const int listen_fd_;
  const int wake_fd_;  // eventfd: Stop() writes it to end poll()
  const uint16_t port_;
  Counters counters_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace strobe::metrics
