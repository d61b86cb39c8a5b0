#include "strobed/base/compression.h"

#include <gtest/gtest.h>

#include <string>

namespace strobed::base {
namespace {

TEST(CompressionTest, GzipRoundTripAndBombLimit) {
  std::string big(1 << 20, 'a');
  std::string gz = GzipCompress(big);
  EXPECT_LT(gz.size(), big.size() / 100);
  auto ok = Decompress(ContentEncoding::kGzip, gz, 2 << 20);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, big);
  auto bomb = Decompress(ContentEncoding::kGzip, gz, 1000);
  ASSERT_FALSE(bomb.ok());
  EXPECT_EQ(bomb.status().code(), strobe::StatusCode::kResourceExhausted);
  auto corrupt = Decompress(ContentEncoding::kGzip, "not gzip at all", 1000);
  EXPECT_EQ(corrupt.status().code(), strobe::StatusCode::kInvalidArgument);
  auto truncated = Decompress(ContentEncoding::kGzip, gz.substr(0, gz.size() / 2), 2 << 20);
  EXPECT_EQ(truncated.status().code(), strobe::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseContentEncoding(" GZIP "), ContentEncoding::kGzip);
  EXPECT_EQ(ParseContentEncoding("br"), ContentEncoding::kUnknown);
}

TEST(CompressionTest, DecodesEveryMemberOfAMultiMemberGzipBody) {
  // RFC 1952 2.2: `cat a.gz b.gz` is a valid gzip file holding a then b.
  std::string a(5000, 'a');
  std::string b = "then b";
  std::string two = GzipCompress(a) + GzipCompress(b) + GzipCompress("");
  auto r = Decompress(ContentEncoding::kGzip, two, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, a + b);
  // One output limit over all members.
  auto over = Decompress(ContentEncoding::kGzip, two, 5003);
  EXPECT_EQ(over.status().code(), strobe::StatusCode::kResourceExhausted);
  // Bytes after the last member that start no member are refused, not ignored.
  auto trailing = Decompress(ContentEncoding::kGzip, GzipCompress(b) + "junk", 1 << 20);
  EXPECT_EQ(trailing.status().code(), strobe::StatusCode::kInvalidArgument);
  EXPECT_NE(trailing.status().message().find("4 bytes of trailing data"), std::string::npos);
  // A second member that is corrupt is an error too.
  auto bad_second = Decompress(ContentEncoding::kGzip, GzipCompress(b) + "\x1f\x8bxxxx", 1 << 20);
  EXPECT_EQ(bad_second.status().code(), strobe::StatusCode::kInvalidArgument);
}

TEST(CompressionTest, OutputIsChargedToTheLeaseBeforeItGrows) {
  std::string big(1 << 20, 'z');
  std::string gz = GzipCompress(big);
  ByteBudget budget(4 << 20);
  {
    ByteLease lease(&budget);
    auto r = Decompress(ContentEncoding::kGzip, gz, 2 << 20, &lease);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, big);
    // The lease holds the returned string's buffer, and nothing ever went past it.
    EXPECT_EQ(lease.bytes(), r->capacity());
    EXPECT_EQ(budget.used_bytes(), r->capacity());
    EXPECT_LE(budget.peak_bytes(), 2 * r->capacity());
  }
  EXPECT_EQ(budget.used_bytes(), 0u);
}

TEST(CompressionTest, BudgetRefusalIsUnavailableAndKeepsNothing) {
  std::string gz = GzipCompress(std::string(8 << 20, 'z'));  // a bomb: 8 MiB from ~8 KiB
  ByteBudget budget(1 << 20);
  ByteLease lease(&budget);
  ASSERT_TRUE(lease.Add(1000));  // what the caller held before stays held
  auto r = Decompress(ContentEncoding::kGzip, gz, 64 << 20, &lease);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), strobe::StatusCode::kUnavailable);
  EXPECT_LE(budget.peak_bytes(), 1u << 20);
  EXPECT_EQ(lease.bytes(), 1000u);
  EXPECT_EQ(budget.used_bytes(), 1000u);
  // Identity bodies are charged too.
  auto copy = Decompress(ContentEncoding::kIdentity, std::string(2 << 20, 'x'), 64 << 20, &lease);
  EXPECT_EQ(copy.status().code(), strobe::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace strobed::base
