#include "strobed/base/url.h"

#include <gtest/gtest.h>

namespace strobed::base {
namespace {

TEST(UrlTest, ParsesHostPortAndPath) {
  auto u = ParseUrl("http://collector.example:4318/otlp/");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->scheme, UrlScheme::kHttp);
  EXPECT_EQ(u->host, "collector.example");
  EXPECT_EQ(u->port, 4318);
  EXPECT_EQ(u->target, "/otlp/");
  EXPECT_EQ(u->BasePath(), "/otlp");
  EXPECT_FALSE(u->ipv6);
  EXPECT_EQ(u->HostHeader(), "collector.example:4318");
  EXPECT_EQ(u->ToString(), "http://collector.example:4318/otlp/");
}

TEST(UrlTest, DefaultPortsAndTarget) {
  auto http = ParseUrl("http://example");
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->port, 80);
  EXPECT_EQ(http->target, "/");
  EXPECT_EQ(http->BasePath(), "");
  EXPECT_EQ(http->HostHeader(), "example");  // default port left out
  auto https = ParseUrl("HTTPS://example/x?y=1");
  ASSERT_TRUE(https.ok());
  EXPECT_EQ(https->scheme, UrlScheme::kHttps);
  EXPECT_EQ(https->port, 443);
  EXPECT_EQ(https->target, "/x?y=1");
  auto query_only = ParseUrl("http://h:81?a=b");
  ASSERT_TRUE(query_only.ok());
  EXPECT_EQ(query_only->target, "/?a=b");
}

TEST(UrlTest, Ipv6Literals) {
  auto u = ParseUrl("http://[::1]:9093/api");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "::1");
  EXPECT_TRUE(u->ipv6);
  EXPECT_EQ(u->port, 9093);
  EXPECT_EQ(u->target, "/api");
  EXPECT_EQ(u->HostHeader(), "[::1]:9093");
  auto no_port = ParseUrl("http://[fe80::1:2]");
  ASSERT_TRUE(no_port.ok());
  EXPECT_EQ(no_port->port, 80);
  EXPECT_EQ(no_port->HostHeader(), "[fe80::1:2]");
}

TEST(UrlTest, RefusesBadUrls) {
  for (const char* bad : {
           "",
           "collector:4318",        // no scheme
           "ftp://host/",           // scheme
           "http://",               // no host
           "http://:4318",          // no host
           "http://host:",          // empty port
           "http://host:0",         // port 0
           "http://host:65536",     // port too large
           "http://host:12ab",      // not a number
           "http://user:pw@host/",  // user info
           "http://host/a#frag",    // fragment
           "http://ho st/",         // space
           "http://host/\r\nX: y",  // header injection
           "http://[::1/",          // unterminated literal
           "http://[]:80/",         // empty literal
           "http://[::1]x/",        // junk after literal
           "http://[zz::1]/",       // not hex
           "http://ho$t/",          // not a host character
       }) {
    auto u = ParseUrl(bad);
    EXPECT_FALSE(u.ok()) << "accepted '" << bad << "'";
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), strobe::StatusCode::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace strobed::base
