#include "strobe/metrics/internal/http_request.h"

#include <gtest/gtest.h>

#include <string>

namespace strobe::metrics::internal {
namespace {

ParseStatus Parse(const std::string& s, RequestHead* h, size_t max = 8192) {
  return ParseRequestHead(s, max, h);
}

TEST(HttpRequestTest, ParsesAPrometheusScrape) {
  const std::string req =
      "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: application/openmetrics-text;"
      "version=1.0.0,text/plain;q=0.5\r\nUser-Agent: Prometheus/2.42\r\n\r\nGET";
  RequestHead h;
  ASSERT_EQ(Parse(req, &h), ParseStatus::kOk);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.path, "/metrics");
  EXPECT_EQ(h.accept, "application/openmetrics-text;version=1.0.0,text/plain;q=0.5");
  EXPECT_TRUE(h.http11);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.head_bytes, req.size() - 3);  // the pipelined "GET" stays unconsumed
}

TEST(HttpRequestTest, ConnectionHeaderDecidesKeepAlive) {
  RequestHead h;
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", &h), ParseStatus::kOk);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\n\r\n", &h), ParseStatus::kOk);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\nconnection:keep-alive\r\n\r\n", &h), ParseStatus::kOk);
  EXPECT_TRUE(h.keep_alive);
}

TEST(HttpRequestTest, IncompleteUntilTheBlankLine) {
  RequestHead h;
  EXPECT_EQ(Parse("", &h), ParseStatus::kIncomplete);
  EXPECT_EQ(Parse("GET /metrics HTTP/1.1\r\nHost: a\r\n", &h), ParseStatus::kIncomplete);
  EXPECT_EQ(Parse("GET /metrics HTTP/1.1\r\nHost: a\r\n\r", &h), ParseStatus::kIncomplete);
}

TEST(HttpRequestTest, RejectsMalformedHeads) {
  RequestHead h;
  for (const std::string bad : {
           "GET /metrics HTTP/1.1\nHost: a\n\n",          // bare LF (fails before the end)
           "GET /metrics HTTP/1.1\r\nHost: a\n\r\n\r\n",  // bare LF inside
           "GET /metrics HTTP/1.1\r\nHo\rst: a\r\n\r\n",  // bare CR
           "GET  /metrics HTTP/1.1\r\n\r\n",              // empty target
           "GET metrics HTTP/1.1\r\n\r\n",                // not origin-form
           "GET /metrics HTTP/2.0\r\n\r\n",               // version
           "GET /metrics\r\n\r\n",                        // HTTP/0.9
           "G(T /metrics HTTP/1.1\r\n\r\n",               // method not a token
           "GET /m\x01 HTTP/1.1\r\n\r\n",                 // control byte in target
           "GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n",   // space before colon
           "GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",   // header without colon
           "GET /metrics HTTP/1.1\r\n folded\r\n\r\n",    // obsolete folding
           "GET /metrics HTTP/1.1\r\nA: b\x7f\r\n\r\n",   // DEL in a value
           "GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
           "GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       }) {
    EXPECT_EQ(Parse(bad, &h), ParseStatus::kBadRequest) << bad;
  }
  static constexpr char kWithNul[] = "GET /metrics HTTP/1.1\r\nA: \0\r\n\r\n";
  const std::string with_nul(kWithNul, sizeof kWithNul - 1);  // the NUL inside included
  ASSERT_EQ(with_nul.size(), 31u);
  EXPECT_EQ(Parse(with_nul, &h), ParseStatus::kBadRequest);
}

TEST(HttpRequestTest, BoundsTheHeadSizeAndHeaderCount) {
  RequestHead h;
  const std::string head = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";  // 34 bytes
  EXPECT_EQ(Parse(head, &h, 34), ParseStatus::kOk);
  EXPECT_EQ(Parse(head, &h, 33), ParseStatus::kTooLarge);
  EXPECT_EQ(Parse(std::string(100, 'G'), &h, 100), ParseStatus::kTooLarge);
  EXPECT_EQ(Parse(std::string(99, 'G'), &h, 100), ParseStatus::kIncomplete);
  std::string many = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i < kMaxHeaders; ++i) many += "A: b\r\n";
  EXPECT_EQ(Parse(many + "\r\n", &h), ParseStatus::kOk);
  EXPECT_EQ(Parse(many + "A: b\r\n\r\n", &h), ParseStatus::kTooLarge);
}

}  // namespace
}  // namespace strobe::metrics::internal
