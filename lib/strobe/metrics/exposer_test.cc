#include "strobe/metrics/exposer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "strobe/metrics/registry.h"

namespace strobe::metrics {
namespace {

// TSan does not support starting threads in the child of a multi-threaded fork (the same
// reason as strobe_test(TSAN_EXCLUDED ...) elsewhere); the fork test skips itself there.
#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif
#else
constexpr bool kThreadSanitizer = false;
#endif

using std::chrono::milliseconds;
using std::chrono::steady_clock;

int Connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

void SendAll(int fd, const std::string& s) {
  ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

// Reads until the peer closes or 5 s pass; returns what arrived.
std::string ReadToEof(int fd) {
  std::string out;
  const auto deadline = steady_clock::now() + std::chrono::seconds(5);
  char buf[4096];
  while (steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

// Reads one response framed by Content-Length (keep-alive connections stay open).
std::string ReadResponse(int fd) {
  std::string out;
  const auto deadline = steady_clock::now() + std::chrono::seconds(5);
  char buf[4096];
  while (steady_clock::now() < deadline) {
    const size_t end = out.find("\r\n\r\n");
    if (end != std::string::npos) {
      const size_t cl = out.find("Content-Length: ");
      const size_t len = std::stoul(out.substr(cl + 16));
      if (out.size() >= end + 4 + len) return out;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

// Reads until `size` bytes arrived (or 5 s pass).
std::string ReadUntilSize(int fd, size_t size) {
  std::string out;
  const auto deadline = steady_clock::now() + std::chrono::seconds(5);
  char buf[4096];
  while (out.size() < size && steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

std::string Exchange(uint16_t port, const std::string& request) {
  const int fd = Connect(port);
  SendAll(fd, request);
  std::string out = ReadToEof(fd);
  ::close(fd);
  return out;
}

class ExposerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    requests_ = *registry_.AddCounter({"app_requests_total", "Requests", ""});
    requests_->Add(42);
  }
  std::unique_ptr<Exposer> StartExposer(ExposerOptions o = {}) {
    o.port = 0;
    auto e = Exposer::Start(registry_, std::move(o));
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return std::move(e).value();
  }
  Registry registry_;
  Counter* requests_ = nullptr;
};

TEST_F(ExposerTest, ServesPrometheusTextByDefault) {
  auto e = StartExposer();
  ASSERT_NE(e->port(), 0);
  const std::string r =
      Exchange(e->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(r.find("\r\n\r\n# HELP app_requests_total Requests\n# TYPE app_requests_total "
                   "counter\napp_requests_total 42\n"),
            std::string::npos)
      << r;
  EXPECT_EQ(r.find("# EOF"), std::string::npos);
  EXPECT_EQ(e->stats().scrapes, 1u);
}

TEST_F(ExposerTest, NegotiatesOpenMetrics) {
  auto e = StartExposer();
  const std::string r = Exchange(
      e->port(),
      "GET /metrics HTTP/1.0\r\nAccept: application/openmetrics-text;version=1.0.0\r\n\r\n");
  EXPECT_NE(r.find("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("app_requests_total 42\n"), std::string::npos);
  EXPECT_TRUE(r.ends_with("# EOF\n")) << r;
}

TEST_F(ExposerTest, KeepAliveServesPipelinedRequestsOnOneConnection) {
  auto e = StartExposer();
  const int fd = Connect(e->port());
  SendAll(fd, "GET /metrics HTTP/1.1\r\n\r\nHEAD /metrics HTTP/1.1\r\n\r\n");
  const std::string get_head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
      "Content-Length: 91\r\n\r\n";
  const std::string body =
      "# HELP app_requests_total Requests\n# TYPE app_requests_total counter\n"
      "app_requests_total 42\n";
  // The GET's response, then the HEAD's: the same head, no body.
  EXPECT_EQ(ReadUntilSize(fd, 2 * get_head.size() + body.size()), get_head + body + get_head);
  requests_->Add(1);
  SendAll(fd, "GET /metrics HTTP/1.1\r\n\r\n");
  std::string third = ReadResponse(fd);
  EXPECT_TRUE(third.ends_with("app_requests_total 43\n")) << third;
  ::close(fd);
  EXPECT_EQ(e->stats().scrapes, 3u);
}

TEST_F(ExposerTest, AnswersOtherPathsMethodsAndMalformedRequests) {
  auto e = StartExposer();
  EXPECT_TRUE(Exchange(e->port(), "GET /other HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 404 "));
  EXPECT_TRUE(Exchange(e->port(), "DELETE /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 405 "));
  EXPECT_TRUE(Exchange(e->port(), "GET /metrics HTTP/1.1\nHost: a\n\n")
                  .starts_with("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_TRUE(Exchange(e->port(), "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
                  .starts_with("HTTP/1.1 400 "));
  const ExposerStats s = e->stats();
  EXPECT_EQ(s.other_responses, 2u);
  EXPECT_EQ(s.bad_requests, 2u);
  EXPECT_EQ(s.scrapes, 0u);
}

TEST_F(ExposerTest, OversizedHeadGets431AndTheConnectionCloses) {
  auto e = StartExposer({.max_request_bytes = 256});
  const std::string r =
      Exchange(e->port(), "GET /metrics HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 431 ")) << r;
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(e->stats().bad_requests, 1u);
}

TEST_F(ExposerTest, SlowClientIsCutOffAtTheTimeout) {
  auto e = StartExposer({.io_timeout = milliseconds(200)});
  const int fd = Connect(e->port());
  SendAll(fd, "GET /metrics HTTP/1.1\r\n");  // never finishes its head
  const auto start = steady_clock::now();
  EXPECT_EQ(ReadToEof(fd), "");  // closed without an answer
  const auto took = steady_clock::now() - start;
  ::close(fd);
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_EQ(e->stats().timed_out_connections, 1u);
}

TEST_F(ExposerTest, ConnectionsOverTheLimitAreClosedAndCounted) {
  auto e = StartExposer({.max_connections = 2});
  const int a = Connect(e->port());
  const int b = Connect(e->port());
  // Wait until both are accepted (the exposer sees them before the third arrives).
  SendAll(a, "GET /metrics HTTP/1.1\r\n\r\n");
  SendAll(b, "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(ReadResponse(a).starts_with("HTTP/1.1 200"));
  EXPECT_TRUE(ReadResponse(b).starts_with("HTTP/1.1 200"));
  const int c = Connect(e->port());
  EXPECT_EQ(ReadToEof(c), "");
  EXPECT_EQ(e->stats().rejected_connections, 1u);
  ::close(a);
  ::close(b);
  ::close(c);
  // Freed slots serve again (closing is noticed when the exposer reads EOF).
  const auto deadline = steady_clock::now() + std::chrono::seconds(5);
  std::string r;
  while (!r.starts_with("HTTP/1.1 200") && steady_clock::now() < deadline) {
    r = Exchange(e->port(), "GET /metrics HTTP/1.0\r\n\r\n");
  }
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200")) << r;
}

// A process out of descriptors: accept() fails with EMFILE while the connection waits in the
// backlog. The exposer must not spin on the readable listener (it retries every 100 ms, so
// ~6 failures in the 500 ms window, where a spinning loop fails thousands of times) and must
// serve the connection once descriptors are free again. Runs in a child process: it lowers
// RLIMIT_NOFILE and fills the descriptor table.
TEST(ExposerDescriptorsTest, OutOfDescriptorsPausesAcceptAndRecovers) {
  if (kThreadSanitizer) GTEST_SKIP() << "TSan: threads after a multi-threaded fork";
  int to_parent[2];
  int to_child[2];
  ASSERT_EQ(::pipe(to_parent), 0);
  ASSERT_EQ(::pipe(to_child), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Only the parent writes to_child: without this the loop below never sees EOF.
    ::close(to_child[1]);
    ::close(to_parent[0]);
    Registry r;
    (*r.AddCounter({"child_total", "", ""}))->Add(7);
    auto e = Exposer::Start(r, {.port = 0});
    if (!e.ok()) ::_exit(2);
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = 256;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) ::_exit(3);
    std::vector<int> filler;
    for (int fd; (fd = ::dup(to_child[0])) >= 0;) filler.push_back(fd);
    const uint16_t port = (*e)->port();
    if (::write(to_parent[1], &port, sizeof port) != sizeof port) ::_exit(4);
    char go = 0;
    if (::read(to_child[0], &go, 1) != 1) ::_exit(5);  // the parent's window has passed
    const uint64_t failures = (*e)->stats().accept_failures;
    for (int fd : filler) ::close(fd);
    if (::write(to_parent[1], &failures, sizeof failures) != sizeof failures) ::_exit(6);
    while (::read(to_child[0], &go, 1) > 0) {
    }
    ::_exit(0);
  }
  ::close(to_child[0]);
  ::close(to_parent[1]);
  uint16_t port = 0;
  ASSERT_EQ(::read(to_parent[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  const int fd = Connect(port);
  SendAll(fd, "GET /metrics HTTP/1.0\r\n\r\n");
  std::this_thread::sleep_for(milliseconds(500));  // the window measured, not a synchronisation
  ASSERT_EQ(::write(to_child[1], "g", 1), 1);
  uint64_t failures = 0;
  ASSERT_EQ(::read(to_parent[0], &failures, sizeof failures),
            static_cast<ssize_t>(sizeof failures));
  EXPECT_GE(failures, 1u);
  EXPECT_LE(failures, 10u);
  const std::string r = ReadToEof(fd);
  ::close(fd);
  ::close(to_child[1]);
  ::close(to_parent[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK")) << r;
  EXPECT_NE(r.find("child_total 7\n"), std::string::npos) << r;
}

TEST_F(ExposerTest, StartRejectsBadOptionsAndTakenPorts) {
  EXPECT_EQ(Exposer::Start(registry_, {.address = "localhost"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Exposer::Start(registry_, {.port = 0, .path = "metrics"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Exposer::Start(registry_, {.port = 0, .max_connections = 0}).status().code(),
            StatusCode::kInvalidArgument);
  auto first = StartExposer();
  auto second = Exposer::Start(registry_, {.port = first->port()});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("127.0.0.1:" + std::to_string(first->port())),
            std::string::npos)
      << second.status().ToString();
}

TEST_F(ExposerTest, StopClosesTheListenerAndIsIdempotent) {
  auto e = StartExposer();
  const uint16_t port = e->port();
  e->Stop();
  e->Stop();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  EXPECT_NE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(fd);
}

}  // namespace
}  // namespace strobe::metrics
