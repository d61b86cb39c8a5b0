#include "strobed/wal/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace strobed::wal {
namespace {

// RFC 3720 appendix B.4 test vectors, plus the classic check value.
TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending(32, '\0');
  for (int i = 0; i < 32; ++i) ascending[static_cast<std::size_t>(i)] = static_cast<char>(i);
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string s = "The quick brown fox jumps over the lazy dog, twice over.";
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t a = Crc32cExtend(0, s.data(), cut);
    EXPECT_EQ(Crc32cExtend(a, s.data() + cut, s.size() - cut), Crc32c(s)) << cut;
  }
}

// The dispatched implementation (the CPU instruction when present) equals the table one for
// every length 0..300 at every alignment 0..7.
TEST(Crc32cTest, HardwareMatchesSoftware) {
  std::mt19937_64 rng(7);
  std::string buf(320, '\0');
  for (char& c : buf) c = static_cast<char>(rng());
  for (std::size_t off = 0; off < 8; ++off) {
    for (std::size_t len = 0; len + off <= 308; ++len) {
      ASSERT_EQ(Crc32cExtend(0x1234u, buf.data() + off, len),
                Crc32cExtendSoftwareForTest(0x1234u, buf.data() + off, len))
          << off << " " << len;
    }
  }
  RecordProperty("hardware", Crc32cHardwareAvailable() ? "yes" : "no");
}

}  // namespace
}  // namespace strobed::wal
