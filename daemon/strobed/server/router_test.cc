#include "strobed/server/router.h"

#include <gtest/gtest.h>

namespace strobed::server {
namespace {

Handler Named(std::string name) {
  return [name](const Request&) { return Response::Text(200, name); };
}

std::string Call(const Router::Match& m) {
  Request r;
  return m.route->handler(r).body;
}

TEST(RouterTest, ExactPrefixAndLongestMatch) {
  Router r;
  r.Handle("GET", "/api/v1/status", Named("status"));
  r.Handle("GET", "/api/*", Named("api"));
  r.Handle("GET", "/api/v1/*", Named("v1"));
  EXPECT_EQ(Call(r.Find("GET", "/api/v1/status")), "status");
  EXPECT_EQ(Call(r.Find("GET", "/api/v1/other")), "v1");
  EXPECT_EQ(Call(r.Find("GET", "/api/v2")), "api");
  EXPECT_EQ(Call(r.Find("GET", "/api")), "api");
  EXPECT_EQ(r.Find("GET", "/apix").status, 404);
  EXPECT_EQ(r.Find("GET", "/").status, 404);
}

TEST(RouterTest, MethodMismatchIs405WithAllow) {
  Router r;
  r.Handle("POST", "/v1/traces", Named("t"));
  r.Handle("PUT", "/v1/traces", Named("t"));
  auto m = r.Find("GET", "/v1/traces");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "POST, PUT");
  EXPECT_EQ(r.Find("POST", "/v1/traces").status, 200);
}

TEST(RouterTest, HeadUsesGetAndReplaceWorks) {
  Router r;
  r.Handle("GET", "/metrics", Named("one"));
  r.Handle("GET", "/metrics", Named("two"));
  EXPECT_EQ(r.Routes().size(), 1u);
  EXPECT_EQ(Call(r.Find("HEAD", "/metrics")), "two");
  EXPECT_EQ(r.Find("DELETE", "/metrics").allow, "GET, HEAD");
}

TEST(RouterTest, MaxBodyBytesIsLargestRoute) {
  Router r;
  r.Handle("POST", "/a", Named("a"), {.max_body_bytes = 10});
  r.Handle("POST", "/b", Named("b"), {.max_body_bytes = 1000});
  EXPECT_EQ(r.MaxBodyBytes(), 1000u);
}

}  // namespace
}  // namespace strobed::server
