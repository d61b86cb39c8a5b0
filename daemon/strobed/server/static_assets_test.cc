#include "strobed/server/static_assets.h"

#include <gtest/gtest.h>

#include <string>

#include "strobed/base/compression.h"

namespace strobed::server {
namespace {

class StaticAssetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    html_gz_ = base::GzipCompress(kHtml, 9);
    js_gz_ = base::GzipCompress(kJs, 9);
    assets_[0] = {"/", "text/html; charset=utf-8", html_gz_, "\"h1\"", kHtml.size()};
    assets_[1] = {"/assets/app.js", "text/javascript; charset=utf-8", js_gz_, "\"j1\"", kJs.size()};
    ASSERT_TRUE(MountStaticAssets(router_, assets_).ok());
  }

  Response Get(const std::string& path, std::vector<std::pair<std::string, std::string>> h = {}) {
    Router::Match m = router_.Find("GET", path);
    if (m.status != 200) return Response::Error(m.status, "no route");
    EXPECT_FALSE(m.route->options.require_auth);
    Request r;
    r.method = "GET";
    r.path = path;
    r.target = path;
    for (auto& [k, v] : h) r.headers.Add(k, v);
    return m.route->handler(r);
  }

  static constexpr std::string_view kHtml = "<!doctype html><title>strobe</title>";
  static constexpr std::string_view kJs = "console.log('strobe')";
  std::string html_gz_, js_gz_;
  StaticAsset assets_[2];
  Router router_;
};

TEST_F(StaticAssetsTest, ServesGzipWhenAccepted) {
  Response r = Get("/assets/app.js", {{"Accept-Encoding", "br, gzip;q=0.8"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("Content-Encoding").value_or(""), "gzip");
  EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "text/javascript; charset=utf-8");
  EXPECT_EQ(r.headers.Get("ETag").value_or(""), "\"j1\"");
  EXPECT_EQ(r.headers.Get("Cache-Control").value_or(""), "no-cache");
  EXPECT_EQ(r.headers.Get("Vary").value_or(""), "Accept-Encoding");
  EXPECT_EQ(r.body, js_gz_);
  EXPECT_FALSE(r.headers.Has("Content-Security-Policy"));
}

TEST_F(StaticAssetsTest, ServesIdentityOtherwise) {
  Response r = Get("/assets/app.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.headers.Has("Content-Encoding"));
  EXPECT_EQ(r.body, kJs);
  r = Get("/assets/app.js", {{"Accept-Encoding", "gzip;q=0, identity"}});
  EXPECT_FALSE(r.headers.Has("Content-Encoding"));
  EXPECT_EQ(r.body, kJs);
}

TEST_F(StaticAssetsTest, IndexAtRootWithPolicy) {
  Response r = Get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, kHtml);
  EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "text/html; charset=utf-8");
  EXPECT_NE(r.headers.Get("Content-Security-Policy").value_or("").find("connect-src 'self'"),
            std::string::npos);
}

TEST_F(StaticAssetsTest, NotModifiedWhenEtagMatches) {
  Response r = Get("/", {{"If-None-Match", "\"zz\", W/\"h1\""}});
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.headers.Get("ETag").value_or(""), "\"h1\"");
  EXPECT_EQ(Get("/", {{"If-None-Match", "\"j1\""}}).status, 200);
}

TEST_F(StaticAssetsTest, UnknownAssetIs404) {
  EXPECT_EQ(Get("/assets/other.js").status, 404);
  EXPECT_EQ(Get("/index.html").status, 404);
}

TEST(StaticAssets, RejectsCorruptAsset) {
  std::string gz = base::GzipCompress("abc");
  StaticAsset a{"/", "text/plain", gz, "\"x\"", 4};  // wrong size
  Router router;
  EXPECT_EQ(MountStaticAssets(router, {&a, 1}).code(), strobe::StatusCode::kInvalidArgument);
}

TEST(StaticAssets, AcceptsGzip) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, GZIP"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_TRUE(AcceptsGzip("x-gzip;q=0.5"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("br, deflate"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0.0, br"));
}

}  // namespace
}  // namespace strobed::server
