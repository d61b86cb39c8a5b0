// Request bodies charged to the ingress budget (issue 14, hole 6): a body's buffer is charged
// as it grows, before it is allocated, never the announced length up front; a growth the
// budget refuses gets 503 + Retry-After, is counted, closes the connection and frees its
// charge; a body is charged until its handler has returned.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "strobed/base/byte_budget.h"
#include "strobed/server/http_server.h"
#include "strobed/server/testing_client.h"

namespace strobed::server {
namespace {

using Client = testing::RawClient;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * 1024;

// Polls `pred` until it holds or 10 s pass.
bool Eventually(const std::function<bool()>& pred) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

class MemoryBudgetTest : public ::testing::Test {
 protected:
  void Start(uint64_t budget_bytes) {
    budget_ = std::make_unique<base::ByteBudget>(budget_bytes);
    router_.Handle("POST", "/ingest", [this](const Request& r) {
      // What the budget holds while the handler runs: at least this body's buffer.
      used_in_handler_.store(budget_->used_bytes());
      return Response::Text(200, std::to_string(r.body.size()));
    });
    router_.Handle("GET", "/healthz", [](const Request&) { return Response::Text(200, "ok"); });
    ServerOptions o;
    o.port = 0;
    o.threads = 2;
    o.max_body_bytes = 64 * kMiB;
    o.body_budget = budget_.get();
    server_ = std::make_unique<HttpServer>(o, router_);
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->BoundPort();
  }
  void TearDown() override {
    if (server_) {
      EXPECT_TRUE(server_->Shutdown(std::chrono::seconds(5)).ok());
    }
    if (budget_) {
      EXPECT_EQ(budget_->used_bytes(), 0u);
    }
  }
  static std::string Post(uint64_t content_length) {
    return "POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(content_length) +
           "\r\n\r\n";
  }
  static std::string Chunked(uint64_t bytes, uint64_t chunk) {
    std::string out = "POST /ingest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    char size_line[32];
    for (uint64_t sent = 0; sent < bytes; sent += chunk) {
      const uint64_t n = std::min(chunk, bytes - sent);
      snprintf(size_line, sizeof(size_line), "%llx\r\n", static_cast<unsigned long long>(n));
      out += size_line;
      out.append(n, 'c');
      out += "\r\n";
    }
    return out + "0\r\n\r\n";
  }
  void ExpectStillServes() {
    Client c(port_);
    EXPECT_EQ(c.Get("/healthz").result_int(), 200);
  }

  Router router_;
  std::unique_ptr<base::ByteBudget> budget_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> used_in_handler_{0};
};

TEST_F(MemoryBudgetTest, AnnouncedLengthCostsNothingUntilBytesArrive) {
  Start(1 * kMiB);
  // Two liars announce 20 MiB each (40 MiB, far over the 1 MiB budget) and send 10 bytes.
  Client a(port_);
  Client b(port_);
  a.SendRaw(Post(20 * kMiB) + "0123456789");
  b.SendRaw(Post(20 * kMiB) + "0123456789");
  // Each holds the first 64 KiB step of its buffer, nothing more.
  EXPECT_TRUE(Eventually([&] { return budget_->used_bytes() == 2 * 64 * kKiB; }))
      << budget_->used_bytes();
  EXPECT_EQ(server_->stats().memory_refused.load(), 0u);
  // An honest request still fits beside them.
  Client c(port_);
  c.SendRaw(Post(100 * kKiB) + std::string(100 * kKiB, 'x'));
  auto r = c.Read();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), std::to_string(100 * kKiB));
  EXPECT_GE(used_in_handler_.load(), 2 * 64 * kKiB + 100 * kKiB);  // charged during the handler
  EXPECT_TRUE(Eventually([&] { return budget_->used_bytes() == 2 * 64 * kKiB; }));
  a.socket().close();
  b.socket().close();
  EXPECT_TRUE(Eventually([&] { return budget_->used_bytes() == 0; }));
}

TEST_F(MemoryBudgetTest, ContentLengthBodyOverTheBudgetGets503AndIsCounted) {
  Start(1 * kMiB);
  Client c(port_);
  c.SendRaw(Post(4 * kMiB) + std::string(4 * kMiB, 'x'));
  auto r = c.Read();
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_EQ(r[boost::beast::http::field::retry_after], "1");
  EXPECT_NE(r.body().find("memory budget"), std::string::npos) << r.body();
  EXPECT_TRUE(c.ClosedByPeer());
  EXPECT_EQ(server_->stats().memory_refused.load(), 1u);
  EXPECT_LE(budget_->peak_bytes(), 1 * kMiB);
  EXPECT_TRUE(Eventually([&] { return budget_->used_bytes() == 0; }));
  // A body that fits is served afterwards, and its charge is given back.
  Client ok(port_);
  ok.SendRaw(Post(300 * kKiB) + std::string(300 * kKiB, 'y'));
  auto r2 = ok.Read();
  EXPECT_EQ(r2.result_int(), 200);
  EXPECT_EQ(r2.body(), std::to_string(300 * kKiB));
  EXPECT_TRUE(Eventually([&] { return budget_->used_bytes() == 0; }));
  ExpectStillServes();
}

TEST_F(MemoryBudgetTest, ChunkedBodyIsChargedAndRefusedTheSameWay) {
  Start(1 * kMiB);
  {
    Client c(port_);
    c.SendRaw(Chunked(200 * kKiB, 10 * kKiB));
    auto r = c.Read();
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), std::to_string(200 * kKiB));
    EXPECT_GE(used_in_handler_.load(), 200 * kKiB);
  }
  EXPECT_TRUE(Eventually([&] { return budget_->used_bytes() == 0; }));
  Client big(port_);
  big.SendRaw(Chunked(3 * kMiB, 64 * kKiB));
  auto r = big.Read();
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_EQ(r[boost::beast::http::field::retry_after], "1");
  EXPECT_EQ(server_->stats().memory_refused.load(), 1u);
  EXPECT_LE(budget_->peak_bytes(), 1 * kMiB);
  EXPECT_TRUE(Eventually([&] { return budget_->used_bytes() == 0; }));
  ExpectStillServes();
}

TEST_F(MemoryBudgetTest, KeepAliveRequestsGiveTheirChargeBack) {
  Start(1 * kMiB);
  Client c(port_);
  // 20 x 400 KiB through one 1 MiB budget (each needs 656 KiB while its buffer grows from 256)
  for (int i = 0; i < 20; ++i) {
    c.SendRaw(Post(400 * kKiB) + std::string(400 * kKiB, 'k'));
    auto r = c.Read();
    ASSERT_EQ(r.result_int(), 200) << "request " << i;
  }
  EXPECT_TRUE(Eventually([&] { return budget_->used_bytes() == 0; }));
  EXPECT_EQ(server_->stats().memory_refused.load(), 0u);
}

}  // namespace
}  // namespace strobed::server
