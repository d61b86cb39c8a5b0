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

}  // namespace
}  // namespace strobed::base
