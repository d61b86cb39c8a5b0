// A live-feed client that reads nothing must not grow the daemon's memory (issue 17): the feed
// stops framing for it once its socket holds coalesce_bytes unsent, and counts what it skipped.
// A real HttpServer and a real WebSocket client that subscribes and then never reads.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include "strobe/metrics/registry.h"
#include "strobed/server/http_server.h"
#include "strobed/service/live_feed.h"

namespace strobed::service {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kMiB = 1024 * 1024;

uint64_t HeapBytes() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

TEST(LiveFeedMemoryTest, ClientReadingNothingIsCoalescedNotBuffered) {
  // 2000 series whose values all change every tick: a frame is ~100 KB of changes.
  strobe::metrics::Registry registry;
  std::atomic<double> tick{0};
  ASSERT_TRUE(registry
                  .AddCallbackFamily({"load_gauge", "changes every tick", ""},
                                     strobe::metrics::CallbackType::kGauge, {"series"},
                                     [&tick](strobe::metrics::CallbackSink& s) {
                                       for (int i = 0; i < 2000; ++i) {
                                         const std::string v = "series-" + std::to_string(i);
                                         s.Emit({v}, tick.load() + i);
                                       }
                                     })
                  .ok());
  LiveSources src;
  src.registry = &registry;
  LiveFeed feed(std::move(src), nullptr, {.coalesce_bytes = 256 * 1024});
  server::Router router;
  router.HandleWebSocket("/api/v1/live", feed.Handlers(), {.require_auth = false});
  server::ServerOptions o;
  o.port = 0;
  server::HttpServer server(o, router);
  ASSERT_TRUE(server.Start().ok());

  net::io_context io;
  beast::websocket::stream<net::ip::tcp::socket> ws(io);
  ws.next_layer().open(net::ip::tcp::v4());
  ws.next_layer().set_option(net::socket_base::receive_buffer_size(16 * 1024));
  ws.next_layer().connect({net::ip::make_address("127.0.0.1"), server.BoundPort()});
  ws.handshake("127.0.0.1", "/api/v1/live");
  ws.write(net::buffer(std::string(R"({"type":"subscribe","rate":60,"series":["load_gauge"]})")));
  // Subscribed once the first frame was sent (the feed answers on the next tick).
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (feed.stats().frames_sent == 0 && Clock::now() < deadline) {
    tick = tick + 1;
    feed.Tick(static_cast<uint64_t>(Clock::now().time_since_epoch().count()), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(feed.stats().frames_sent, 1u);

  const uint64_t heap_before = HeapBytes();
  constexpr int kTicks = 400;  // ~40 MB of frames if every one were queued
  uint64_t now = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  for (int i = 0; i < kTicks; ++i) {
    tick = tick + 1;
    now += 20'000'000;  // the client's 60 Hz interval has always passed
    feed.Tick(now, 1);
    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let I/O run
  }
  const LiveFeed::Stats s = feed.stats();
  std::printf("frames sent %llu, coalesced %llu, bytes sent %llu, heap growth %lld KiB\n",
              static_cast<unsigned long long>(s.frames_sent),
              static_cast<unsigned long long>(s.frames_coalesced),
              static_cast<unsigned long long>(s.frame_bytes),
              (static_cast<long long>(HeapBytes()) - static_cast<long long>(heap_before)) / 1024);
  EXPECT_EQ(s.frames_sent + s.frames_coalesced, 1u + kTicks);
  // Sent: what fits in the socket buffers plus the coalescing allowance, a few MB at most.
  EXPECT_LT(s.frame_bytes, 16 * kMiB);
  EXPECT_GT(s.frames_coalesced, static_cast<uint64_t>(kTicks) / 2);
  // Coalesced, the feed holds one state and at most coalesce_bytes + a frame per client
  // (measured: ~0.6 MiB of growth). Without coalescing the socket queue fills to its 4 MiB hard
  // bound and beyond with frames being written (measured: ~7.7 MiB).
  const uint64_t heap_after = HeapBytes();
  EXPECT_LT(heap_after, heap_before + 3 * kMiB)
      << "heap grew by " << (heap_after - heap_before) / kMiB << " MiB";

  beast::error_code ec;
  ws.next_layer().close(ec);
  EXPECT_TRUE(server.Shutdown(std::chrono::seconds(5)).ok());
}

}  // namespace
}  // namespace strobed::service
