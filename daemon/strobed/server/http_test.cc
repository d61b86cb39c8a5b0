#include "strobed/server/http.h"

#include <gtest/gtest.h>

namespace strobed::server {
namespace {

TEST(HeadersTest, LookupIgnoresCase) {
  Headers h;
  h.Add("Content-Type", "text/plain");
  h.Add("X-A", "1");
  h.Add("x-a", "2");
  EXPECT_EQ(h.Get("content-type"), "text/plain");
  EXPECT_EQ(h.Get("X-A"), "1");
  EXPECT_FALSE(h.Get("missing").has_value());
  h.Set("X-a", "3");
  EXPECT_EQ(h.Get("x-a"), "3");
  EXPECT_EQ(h.entries().size(), 2u);
}

TEST(RequestTest, QueryParamDecodes) {
  Request r;
  r.query = "name=a%20b&x=1+2&flag&empty=";
  EXPECT_EQ(r.QueryParam("name"), "a b");
  EXPECT_EQ(r.QueryParam("x"), "1 2");
  EXPECT_EQ(r.QueryParam("flag"), "");
  EXPECT_EQ(r.QueryParam("empty"), "");
  EXPECT_FALSE(r.QueryParam("nope").has_value());
}

TEST(PercentDecodeTest, KeepsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("%41%zz%4"), "A%zz%4");
  EXPECT_EQ(PercentDecode("%"), "%");
}

TEST(ResponseTest, ErrorShape) {
  Response r = Response::Error(404, "no route for /x");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers.Get("content-type"), "application/json");
  EXPECT_EQ(
      r.body,
      "{\"error\":{\"code\":404,\"status\":\"Not Found\",\"message\":\"no route for /x\"}}\n");
}

}  // namespace
}  // namespace strobed::server
