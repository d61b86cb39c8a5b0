#include "strobe/metrics/exposer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/internal/http_request.h"

namespace strobe::metrics {
namespace {

using Clock = std::chrono::steady_clock;

// More accepts than this per poll round would starve open connections during a flood.
constexpr int kMaxAcceptsPerRound = 64;
constexpr size_t kReadChunkBytes = 4096;
constexpr std::chrono::milliseconds kAcceptPause{100};

struct Connection {
  int fd = -1;
  std::string in;
  std::string out;
  size_t out_offset = 0;
  bool writing = false;
  bool close_after_write = false;
  Clock::time_point deadline;
};

void SetResponse(Connection& c, std::string_view status, std::string_view content_type,
                 std::string_view body, bool head_only, bool keep_alive) {
  c.out.clear();
  c.out.append("HTTP/1.1 ").append(status).append("\r\nContent-Type: ").append(content_type);
  c.out.append("\r\nContent-Length: ").append(std::to_string(body.size()));
  c.out.append(keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  if (!head_only) c.out.append(body);
  c.out_offset = 0;
  c.writing = true;
  c.close_after_write = !keep_alive;
}

std::string ErrnoText(int err) {
  char buf[128];
  // GNU strerror_r returns the message (possibly not in buf).
  return ::strerror_r(err, buf, sizeof buf);
}

}  // namespace

Result<std::unique_ptr<Exposer>> Exposer::Start(const Registry& registry, ExposerOptions options) {
  if (options.path.empty() || options.path.front() != '/') {
    return InvalidArgument("exposer path must start with '/': '" + options.path + "'");
  }
  if (options.max_connections == 0 || options.max_request_bytes < 64 ||
      options.io_timeout.count() <= 0) {
    return InvalidArgument(
        "exposer limits must be positive (max_connections >= 1, max_request_bytes >= 64, "
        "io_timeout > 0)");
  }
  sockaddr_storage storage{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (::inet_pton(AF_INET, options.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(options.port);
    len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, options.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(options.port);
    len = sizeof(sockaddr_in6);
  } else {
    return InvalidArgument("exposer address is not a numeric IPv4 or IPv6 address: '" +
                           options.address + "'");
  }
  const std::string where = options.address + ":" + std::to_string(options.port);
  const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable("exposer socket: " + ErrnoText(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), len) != 0 || ::listen(fd, 64) != 0) {
    const int err = errno;
    ::close(fd);
    return Unavailable("exposer cannot listen on " + where + ": " + ErrnoText(err));
  }
  socklen_t got = sizeof storage;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &got);
  const uint16_t port = ntohs(storage.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  const int wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    const int err = errno;
    ::close(fd);
    return Unavailable("exposer eventfd: " + ErrnoText(err));
  }
  std::unique_ptr<Exposer> exposer(new Exposer(registry, std::move(options), fd, wake, port));
  exposer->thread_ = std::thread(&Exposer::Run, exposer.get());
  return exposer;
}

Exposer::Exposer(const Registry& registry, ExposerOptions options, int listen_fd, int wake_fd,
                 uint16_t port)
    : registry_(registry),
      options_(std::move(options)),
      listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      port_(port) {}

Exposer::~Exposer() { Stop(); }

void Exposer::Stop() {
  if (stopping_.exchange(true)) return;
  const uint64_t one = 1;
  // The serving thread polls wake_fd_; one write ends its poll() at once.
  [[maybe_unused]] const ssize_t w = ::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_);
}

ExposerStats Exposer::stats() const {
  // Relaxed: independent monotonic counters, read for reporting only.
  return {counters_.scrapes.load(std::memory_order_relaxed),
          counters_.other_responses.load(std::memory_order_relaxed),
          counters_.bad_requests.load(std::memory_order_relaxed),
          counters_.rejected_connections.load(std::memory_order_relaxed),
          counters_.timed_out_connections.load(std::memory_order_relaxed),
          counters_.accept_failures.load(std::memory_order_relaxed)};
}

void Exposer::Run() {
  std::vector<Connection> conns;
  std::vector<pollfd> fds;
  TextRenderer renderer;
  std::string body;
  char chunk[kReadChunkBytes];
  Clock::time_point accept_paused_until{};
  auto bump = [](std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); };

  // Parses what `c` has buffered and, when a whole head is there, queues its response.
  auto handle_input = [&](Connection& c) {
    internal::RequestHead head;
    switch (internal::ParseRequestHead(c.in, options_.max_request_bytes, &head)) {
      case internal::ParseStatus::kIncomplete:
        return;
      case internal::ParseStatus::kBadRequest:
        bump(counters_.bad_requests);
        SetResponse(c, "400 Bad Request", "text/plain", "bad request\n", false, false);
        return;
      case internal::ParseStatus::kTooLarge:
        bump(counters_.bad_requests);
        SetResponse(c, "431 Request Header Fields Too Large", "text/plain",
                    "request head too large\n", false, false);
        return;
      case internal::ParseStatus::kOk:
        break;
    }
    const bool head_only = head.method == "HEAD";
    if (head.path != options_.path) {
      bump(counters_.other_responses);
      SetResponse(c, "404 Not Found", "text/plain", "not found: try GET " + options_.path + "\n",
                  head_only, head.keep_alive);
    } else if (head.method != "GET" && !head_only) {
      bump(counters_.other_responses);
      SetResponse(c, "405 Method Not Allowed", "text/plain", "only GET and HEAD\n", false,
                  head.keep_alive);
    } else {
      const Negotiation n = NegotiateFormat(head.accept);
      renderer.Render(registry_, n.format, &body);
      bump(counters_.scrapes);
      SetResponse(c, "200 OK", n.content_type, body, head_only, head.keep_alive);
    }
    c.in.erase(0, head.head_bytes);
  };

  while (!stopping_.load(std::memory_order_relaxed)) {
    const auto now = Clock::now();
    // Expire connections past their deadline.
    for (auto& c : conns) {
      if (c.fd >= 0 && now >= c.deadline) {
        bump(counters_.timed_out_connections);
        ::close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(conns, [](const Connection& c) { return c.fd < 0; });

    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    // While accept() is out of descriptors the listener stays readable: not polling it for a
    // moment keeps the loop from spinning (the pending connection waits in the backlog).
    const bool accepting = now >= accept_paused_until;
    fds.push_back({listen_fd_, static_cast<short>(accepting ? POLLIN : 0), 0});
    auto next_deadline = accepting ? Clock::time_point::max() : accept_paused_until;
    for (const auto& c : conns) {
      fds.push_back({c.fd, static_cast<short>(c.writing ? POLLOUT : POLLIN), 0});
      next_deadline = std::min(next_deadline, c.deadline);
    }
    int timeout_ms = -1;
    if (next_deadline != Clock::time_point::max()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(next_deadline - now).count();
      timeout_ms = static_cast<int>(std::clamp<int64_t>(left, 0, 60'000));
    }
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0) continue;  // EINTR; nothing else is expected from poll on valid fds
    if (fds[0].revents != 0) break;

    // Connections first (fds[2..] match conns[0..] here), then accept: new entries are
    // appended after the loop so the indices stay aligned.
    for (size_t i = 0; i < conns.size(); ++i) {
      Connection& c = conns[i];
      const short ev = fds[i + 2].revents;
      if (ev == 0) continue;
      if (!c.writing) {
        bool closed = false;
        while (c.in.size() < options_.max_request_bytes) {
          const size_t want = std::min(sizeof chunk, options_.max_request_bytes - c.in.size());
          const ssize_t r = ::recv(c.fd, chunk, want, 0);
          if (r > 0) {
            c.in.append(chunk, static_cast<size_t>(r));
            continue;
          }
          if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            closed = true;
          }
          break;
        }
        if (closed && c.in.empty()) {
          ::close(c.fd);
          c.fd = -1;
          continue;
        }
        handle_input(c);
        if (!c.writing && closed) {  // a partial head and then EOF: nothing to answer
          ::close(c.fd);
          c.fd = -1;
          continue;
        }
      }
      // Write as far as the socket takes; finish or keep the rest for the next POLLOUT.
      while (c.writing) {
        const ssize_t w =
            ::send(c.fd, c.out.data() + c.out_offset, c.out.size() - c.out_offset, MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
          ::close(c.fd);
          c.fd = -1;
          break;
        }
        c.out_offset += static_cast<size_t>(w);
        if (c.out_offset < c.out.size()) continue;
        c.writing = false;
        if (c.close_after_write) {
          ::close(c.fd);
          c.fd = -1;
          break;
        }
        // Keep-alive: a fresh deadline for the next request, which may already be buffered.
        c.out.clear();
        c.deadline = Clock::now() + options_.io_timeout;
        handle_input(c);
      }
    }

    if (fds[1].revents != 0) {
      for (int n = 0; n < kMaxAcceptsPerRound; ++n) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            bump(counters_.accept_failures);
            accept_paused_until = Clock::now() + kAcceptPause;
          }
          break;
        }
        if (conns.size() >= options_.max_connections) {
          bump(counters_.rejected_connections);
          ::close(fd);
          continue;
        }
        Connection c;
        c.fd = fd;
        c.deadline = Clock::now() + options_.io_timeout;
        conns.push_back(std::move(c));
      }
    }
    std::erase_if(conns, [](const Connection& c) { return c.fd < 0; });
  }
  for (auto& c : conns) ::close(c.fd);
}

}  // namespace strobe::metrics
