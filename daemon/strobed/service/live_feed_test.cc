#include "strobed/service/live_feed.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "strobe/metrics/registry.h"

namespace strobed::service {
namespace {

class FakeConnection : public server::WebSocketConnection {
 public:
  bool SendText(std::string message) override {
    sent.push_back(std::move(message));
    return true;
  }
  bool SendShared(std::shared_ptr<const std::string> message) override {
    shared.push_back(message);
    return SendText(*message);
  }
  void Close() override { closed = true; }
  uint64_t dropped_messages() const override { return 0; }
  std::string remote_address() const override { return "test"; }
  uint64_t queued_bytes() const override { return queued; }

  std::vector<std::string> sent;
  std::vector<std::shared_ptr<const std::string>> shared;  // frames, as queued
  bool closed = false;
  uint64_t queued = 0;
};

constexpr uint64_t kMs = 1'000'000;

class LiveFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_
                    .AddCallbackGauge({"test_gauge", "a gauge", ""},
                                      [this] {
                                        ++collections_;
                                        return gauge_.load();
                                      })
                    .ok());
    ASSERT_TRUE(registry_
                    .AddCallbackFamily({"test_requests_total", "a counter", ""},
                                       strobe::metrics::CallbackType::kCounter, {"service"},
                                       [](strobe::metrics::CallbackSink& s) {
                                         s.Emit({"auth"}, 3);
                                         s.Emit({"cart"}, 4);
                                       })
                    .ok());
  }

  std::unique_ptr<LiveFeed> Make(std::shared_ptr<const server::Authenticator> auth = nullptr,
                                 LiveFeedOptions options = {}) {
    LiveSources src;
    src.registry = &registry_;
    src.alerts = [] { return std::string(R"({"alerts":[]})"); };
    auto feed = std::make_unique<LiveFeed>(std::move(src), std::move(auth), options);
    handlers_ = feed->Handlers();
    return feed;
  }

  std::shared_ptr<FakeConnection> Open() {
    auto c = std::make_shared<FakeConnection>();
    handlers_.on_open(c);
    return c;
  }

  strobe::metrics::Registry registry_;
  std::atomic<double> gauge_{1};
  std::atomic<int> collections_{0};  // registry collections (test_gauge is read once each)
  server::WebSocketHandlers handlers_;
};

TEST_F(LiveFeedTest, FullFrameThenDeltasAtTheChosenRate) {
  auto feed = Make();
  auto c = Open();
  handlers_.on_message(*c, R"({"type":"subscribe","rate":10,"series":["test_gauge",)"
                           R"("test_requests_total{service=\"auth\"}"],"alerts":true})");
  feed->Tick(1000 * kMs, 5000);
  ASSERT_EQ(c->sent.size(), 1u);
  EXPECT_EQ(c->sent[0],
            R"({"type":"frame","seq":1,"t":5000,"full":true,"set":{"alerts":{"alerts":[]},)"
            R"("meta:test_gauge":{"type":"gauge"},"meta:test_requests_total":{"type":"counter"},)"
            R"("test_gauge":1,"test_requests_total{service=\"auth\"}":3}})");
  gauge_ = 2.5;
  feed->Tick(1050 * kMs, 5050);  // 10 Hz: not due yet
  EXPECT_EQ(c->sent.size(), 1u);
  feed->Tick(1100 * kMs, 5100);
  ASSERT_EQ(c->sent.size(), 2u);
  EXPECT_EQ(c->sent[1], R"({"type":"frame","seq":2,"t":5100,"set":{"test_gauge":2.5}})");
  EXPECT_EQ(feed->stats().frames_sent, 2u);
}

TEST_F(LiveFeedTest, SlowClientIsCoalescedAndCatchesUp) {
  auto feed = Make(nullptr, {.coalesce_bytes = 1000});
  auto c = Open();
  handlers_.on_message(*c, R"({"type":"subscribe","rate":60,"series":["test_gauge"]})");
  feed->Tick(0, 1);
  ASSERT_EQ(c->sent.size(), 1u);
  c->queued = 1001;  // the client stopped reading
  for (int i = 1; i <= 50; ++i) {
    gauge_ = 100 + i;
    feed->Tick(static_cast<uint64_t>(i) * 20 * kMs, 1);
  }
  EXPECT_EQ(c->sent.size(), 1u);
  EXPECT_EQ(feed->stats().frames_coalesced, 50u);
  c->queued = 0;  // it read again: one frame with the newest value, not 50 stale ones
  feed->Tick(51 * 20 * kMs, 2);
  ASSERT_EQ(c->sent.size(), 2u);
  EXPECT_EQ(c->sent[1], R"({"type":"frame","seq":2,"t":2,"set":{"test_gauge":150}})");
}

// Clients at one rate are due on the same grid whatever their subscription time, so one tick
// (one registry collection) serves them all; clients with the same subscription that were last
// sent the same state get the very same frame bytes.
TEST_F(LiveFeedTest, SameRateClientsShareTicksAndFrames) {
  auto feed = Make();
  constexpr char kSub[] = R"({"type":"subscribe","rate":60,"series":["test_gauge"]})";
  // A steady clock far from zero, as a real one is; kGrid: the 60 Hz grid's first point after
  // kT0 (1e9 / 60 ns, truncated, per step).
  constexpr uint64_t kInterval = 1'000'000'000 / 60;
  constexpr uint64_t kT0 = 1'000'000 * kMs;
  constexpr uint64_t kGrid = (kT0 / kInterval + 1) * kInterval;
  auto a = Open();
  handlers_.on_message(*a, kSub);
  feed->Tick(kT0, 1);  // a: full
  auto b = Open();
  handlers_.on_message(*b, kSub);
  feed->Tick(kT0 + 5 * kMs, 2);  // b: full (its first frame is due at once)
  ASSERT_EQ(a->sent.size(), 1u);
  ASSERT_EQ(b->sent.size(), 1u);
  const int collections = collections_.load();

  // Both are due at the grid's next point, whenever they subscribed: one tick, one collection.
  gauge_ = 2;
  feed->Tick(kGrid, 3);
  ASSERT_EQ(a->sent.size(), 2u);
  ASSERT_EQ(b->sent.size(), 2u);
  EXPECT_EQ(collections_.load(), collections + 1);
  EXPECT_EQ(a->sent[1], R"({"type":"frame","seq":3,"t":3,"set":{"test_gauge":2}})");
  EXPECT_EQ(b->sent[1], R"({"type":"frame","seq":3,"t":3,"set":{"test_gauge":2}})");

  // Both were last sent state 3: one encoded frame, queued on both sockets.
  gauge_ = 3;
  feed->Tick(kGrid + kInterval, 4);
  ASSERT_EQ(a->shared.size(), 3u);
  ASSERT_EQ(b->shared.size(), 3u);
  EXPECT_EQ(a->shared[2].get(), b->shared[2].get());
  EXPECT_EQ(*a->shared[2], R"({"type":"frame","seq":4,"t":4,"set":{"test_gauge":3}})");
  EXPECT_EQ(collections_.load(), collections + 2);

  // A client with another subscription gets its own state from the same collection.
  auto c = Open();
  handlers_.on_message(*c, R"({"type":"subscribe","rate":60,"series":["test_requests*"]})");
  feed->Tick(kGrid + kInterval + kMs, 5);  // c's first frame, alone
  feed->Tick(kGrid + 2 * kInterval, 6);
  ASSERT_EQ(c->sent.size(), 2u);
  EXPECT_EQ(c->sent[1], R"({"type":"frame","seq":2,"t":6})");
  EXPECT_EQ(*a->shared[3], R"({"type":"frame","seq":5,"t":6})");
  // c's tick alone collected only test_requests_total: test_gauge's callback did not run.
  EXPECT_EQ(collections_.load(), collections + 3);
  EXPECT_EQ(feed->stats().frames_sent, 10u);
}

// Selectors match the exposed name (counters with _total), its prefixes, and the base name.
TEST_F(LiveFeedTest, SelectorsMatchExposedAndBaseNames) {
  auto feed = Make();
  const std::string want =
      R"({"type":"frame","seq":1,"t":1,"full":true,"set":{"meta:test_requests_total":)"
      R"({"type":"counter"},"test_requests_total{service=\"auth\"}":3,)"
      R"("test_requests_total{service=\"cart\"}":4}})";
  for (const char* sel : {"test_requests_total", "test_requests", "test_requests_tot*",
                          "test_requests_total*", "test_req*"}) {
    auto c = Open();
    handlers_.on_message(*c, std::string(R"({"type":"subscribe","series":[")") + sel + R"("]})");
    feed->Tick(0, 1);
    ASSERT_EQ(c->sent.size(), 1u) << sel;
    EXPECT_EQ(c->sent[0], want) << sel;
    handlers_.on_close(*c);
  }
  for (const char* sel : {"test_requests_totalx", "test_requests_t", "test_requests_totals*"}) {
    auto c = Open();
    handlers_.on_message(*c, std::string(R"({"type":"subscribe","series":[")") + sel + R"("]})");
    feed->Tick(0, 1);
    ASSERT_EQ(c->sent.size(), 1u) << sel;
    EXPECT_EQ(c->sent[0], R"({"type":"frame","seq":1,"t":1,"full":true})") << sel;
    handlers_.on_close(*c);
  }
}

TEST_F(LiveFeedTest, ResubscribeSendsAFullFrame) {
  auto feed = Make();
  auto c = Open();
  handlers_.on_message(*c, R"({"type":"subscribe","series":["test_gauge"]})");
  feed->Tick(0, 1);
  handlers_.on_message(*c, R"({"type":"subscribe","series":["test_requests*"]})");
  feed->Tick(kMs, 2);
  ASSERT_EQ(c->sent.size(), 2u);
  // A new subscription, a new state sequence.
  EXPECT_EQ(c->sent[1],
            R"({"type":"frame","seq":1,"t":2,"full":true,"set":{"meta:test_requests_total":)"
            R"({"type":"counter"},"test_requests_total{service=\"auth\"}":3,)"
            R"("test_requests_total{service=\"cart\"}":4}})");
}

TEST_F(LiveFeedTest, TokenRequiredWhenConfigured) {
  auto auth = server::Authenticator::WithTokens({"s3cret"});
  auto feed = Make(auth);
  auto none = Open();
  handlers_.on_message(*none, R"({"type":"subscribe","series":["test_gauge"]})");
  auto wrong = Open();
  handlers_.on_message(*wrong, R"({"type":"subscribe","token":"guess","series":["test_gauge"]})");
  auto right = Open();
  handlers_.on_message(*right, R"({"type":"subscribe","token":"s3cret","series":["test_gauge"]})");
  feed->Tick(0, 1);
  ASSERT_EQ(none->sent.size(), 1u);
  EXPECT_EQ(none->sent[0], R"({"type":"error","code":401,"message":"token required"})");
  EXPECT_TRUE(none->closed);
  ASSERT_EQ(wrong->sent.size(), 1u);
  EXPECT_EQ(wrong->sent[0], R"({"type":"error","code":401,"message":"invalid token"})");
  EXPECT_TRUE(wrong->closed);
  ASSERT_EQ(right->sent.size(), 1u);
  EXPECT_FALSE(right->closed);
  EXPECT_EQ(feed->stats().rejected_auth, 2u);

  // Rotation away from the client's token closes its feed at the next frame.
  ASSERT_TRUE(auth->Set({"rotated"}).ok());
  feed->Tick(200 * kMs, 2);
  ASSERT_EQ(right->sent.size(), 2u);
  EXPECT_EQ(right->sent[1], R"({"type":"error","code":401,"message":"token revoked"})");
  EXPECT_TRUE(right->closed);
}

TEST_F(LiveFeedTest, BadMessagesAreAnsweredNotFatal) {
  auto feed = Make();
  auto c = Open();
  handlers_.on_message(*c, "not json");
  handlers_.on_message(*c, R"({"type":"subscribe","series":["bad{x}"]})");
  handlers_.on_message(*c, R"({"type":"subscribe","series":"test_gauge"})");
  ASSERT_EQ(c->sent.size(), 3u);
  EXPECT_EQ(c->sent[0].rfind(R"({"type":"error","code":400,)", 0), 0u);
  EXPECT_FALSE(c->closed);
  EXPECT_EQ(feed->stats().rejected_bad_request, 3u);
  feed->Tick(0, 1);
  EXPECT_EQ(c->sent.size(), 3u);  // not subscribed: nothing
}

TEST_F(LiveFeedTest, ClientLimit) {
  auto feed = Make(nullptr, {.max_clients = 1});
  auto a = Open();
  auto b = Open();
  EXPECT_TRUE(b->closed);
  ASSERT_EQ(b->sent.size(), 1u);
  EXPECT_EQ(b->sent[0], R"({"type":"error","code":503,"message":"too many live clients"})");
  handlers_.on_close(*a);
  auto c = Open();
  EXPECT_FALSE(c->closed);
  EXPECT_EQ(feed->stats().clients, 1u);
  EXPECT_EQ(feed->stats().rejected_full, 1u);
}

TEST(LiveFeedEventsTest, SplitJsonArray) {
  std::vector<std::string_view> want = {R"({"a":"x,]}","b":[1,{"c":2}]})", "3", R"("s\"]")"};
  EXPECT_EQ(SplitJsonArray(R"([{"a":"x,]}","b":[1,{"c":2}]}, 3 ,"s\"]"])"), want);
  EXPECT_TRUE(SplitJsonArray("[]").empty());
  EXPECT_TRUE(SplitJsonArray(" [ ] ").empty());
  EXPECT_TRUE(SplitJsonArray("").empty());
}

// Events are keyed by content: a frame carries only new events and the keys of those that aged
// out, and at most kMaxLiveEvents of each kind.
TEST(LiveFeedEventsTest, OnlyNewEventsTravel) {
  std::string events = R"([{"type":"window","n":1},{"type":"anomaly","n":2}])";
  LiveSources src;
  src.events = [&events] { return events; };
  LiveFeed feed(std::move(src), nullptr);
  server::WebSocketHandlers h = feed.Handlers();
  auto c = std::make_shared<FakeConnection>();
  h.on_open(c);
  h.on_message(*c, R"({"type":"subscribe","rate":1,"events":true})");
  feed.Tick(0, 1);
  ASSERT_EQ(c->sent.size(), 1u);
  EXPECT_NE(c->sent[0].find(R"({"type":"window","n":1})"), std::string::npos);
  EXPECT_NE(c->sent[0].find(R"({"type":"anomaly","n":2})"), std::string::npos);
  events = R"([{"type":"window","n":3},{"type":"anomaly","n":2}])";
  feed.Tick(1'000'000'000, 2);
  ASSERT_EQ(c->sent.size(), 2u);
  const std::string& f = c->sent[1];
  EXPECT_NE(f.find(R"({"type":"window","n":3})"), std::string::npos) << f;
  EXPECT_EQ(f.find(R"("n":2)"), std::string::npos) << f;        // unchanged: not sent again
  EXPECT_NE(f.find(R"("del":["ev:)"), std::string::npos) << f;  // n:1 aged out

  std::string many = "[";
  for (size_t i = 0; i < kMaxLiveEvents + 10; ++i) {
    many += (i ? "," : "") + std::string(R"({"type":"window","n":)") + std::to_string(i) + "}";
  }
  events = many + "]";
  feed.Tick(2'000'000'000, 3);
  ASSERT_EQ(c->sent.size(), 3u);
  EXPECT_EQ(c->sent[2].find(R"("n":9})"), std::string::npos);  // the 10 oldest are left out
  EXPECT_NE(c->sent[2].find(R"("n":10})"), std::string::npos);
}

TEST(LiveSelectorTest, Parse) {
  auto s = LiveSelector::Parse(R"(node_cpu*{cpu="0",mode="a\"b"})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "node_cpu");
  EXPECT_TRUE(s->prefix);
  ASSERT_EQ(s->labels.size(), 2u);
  EXPECT_EQ(s->labels[0], (std::pair<std::string, std::string>{"cpu", "0"}));
  EXPECT_EQ(s->labels[1], (std::pair<std::string, std::string>{"mode", "a\"b"}));
  EXPECT_FALSE(LiveSelector::Parse("").ok());
  EXPECT_FALSE(LiveSelector::Parse("9x").ok());
  EXPECT_FALSE(LiveSelector::Parse("x{a=b}").ok());
  EXPECT_FALSE(LiveSelector::Parse("x{a=\"b}").ok());
  EXPECT_TRUE(LiveSelector::Parse("*").ok());
}

}  // namespace
}  // namespace strobed::service
