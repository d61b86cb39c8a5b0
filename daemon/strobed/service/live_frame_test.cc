#include "strobed/service/live_frame.h"

#include <gtest/gtest.h>

namespace strobed::service {
namespace {

TEST(LiveFrameTest, FirstFrameIsFullThenOnlyChanges) {
  LiveClientState c;
  LiveState s{{"a", "1"}, {"b", "[1,2]"}, {"c", "\"x\""}};
  EXPECT_EQ(c.Frame(s, 1000),
            R"({"type":"frame","seq":1,"t":1000,"full":true,"set":{"a":1,"b":[1,2],"c":"x"}})");
  // Nothing changed: a heartbeat with the time only.
  EXPECT_EQ(c.Frame(s, 1100), R"({"type":"frame","seq":2,"t":1100})");
  // One changed, one removed, one added.
  s["a"] = "2";
  s.erase("b");
  s["d"] = "null";
  EXPECT_EQ(c.Frame(s, 1200),
            R"({"type":"frame","seq":3,"t":1200,"set":{"a":2,"d":null},"del":["b"]})");
  EXPECT_EQ(c.seq(), 3u);
  EXPECT_EQ(c.sent(), s);
}

TEST(LiveFrameTest, KeysAreEscaped) {
  LiveClientState c;
  LiveState s{{"m{l=\"v\"}", "1"}};
  EXPECT_EQ(c.Frame(s, 5), R"({"type":"frame","seq":1,"t":5,"full":true,"set":{"m{l=\"v\"}":1}})");
  EXPECT_EQ(c.Frame({}, 6), R"({"type":"frame","seq":2,"t":6,"del":["m{l=\"v\"}"]})");
}

// A client skipped while slow (Frame not called) gets the net change since what it was last
// sent: a value that went 1 → 5 → 1 meanwhile is not sent at all, one that went 1 → 3 → 4 is
// sent once with its newest value.
TEST(LiveFrameTest, SkippedStatesCoalesce) {
  LiveClientState c;
  (void)c.Frame({{"x", "1"}, {"y", "1"}}, 1);
  // States {x:5,y:3} and {x:1,y:3} were never framed (the client was slow).
  EXPECT_EQ(c.Frame({{"x", "1"}, {"y", "4"}}, 4),
            R"({"type":"frame","seq":2,"t":4,"set":{"y":4}})");
}

TEST(LiveFrameTest, ResetSendsFullAgain) {
  LiveClientState c;
  (void)c.Frame({{"x", "1"}}, 1);
  c.Reset();
  EXPECT_EQ(c.Frame({{"y", "2"}}, 2),
            R"({"type":"frame","seq":2,"t":2,"full":true,"set":{"y":2}})");
}

}  // namespace
}  // namespace strobed::service
