#include "strobe/profile/profile.h"

#include <zlib.h>

#include <string>

#include "gtest/gtest.h"

namespace strobe::profile {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

Profile TinyProfile() {
  Profile p;
  p.sample_types = {{"a", "b"}};
  p.period_type = {"a", "b"};
  p.period = 3;
  p.locations = {{0x10, -1, "f"}};
  p.samples = {{{0}, {5}}};
  return p;
}

// The encoding worked out by hand from profile.proto's field numbers (see the comments).
TEST(PprofEncoderTest, EncodesTinyProfileExactly) {
  std::string want;
  want += Bytes({0x0a, 0x04, 0x08, 0x01, 0x10, 0x02});              // sample_type {type:1 unit:2}
  want += Bytes({0x12, 0x06, 0x0a, 0x01, 0x01, 0x12, 0x01, 0x05});  // sample {[1] [5]}
  want += Bytes({0x22, 0x08, 0x08, 0x01, 0x18, 0x10, 0x22, 0x02, 0x08, 0x01});  // location
  want += Bytes({0x2a, 0x06, 0x08, 0x01, 0x10, 0x03, 0x18, 0x03});  // function {1, "f", "f"}
  want += Bytes({0x32, 0x00, 0x32, 0x01, 'a', 0x32, 0x01, 'b', 0x32, 0x01, 'f'});  // strings
  want += Bytes({0x5a, 0x04, 0x08, 0x01, 0x10, 0x02});  // period_type {1, 2}
  want += Bytes({0x60, 0x03});                          // period 3
  EXPECT_EQ(EncodePprof(TinyProfile()), want);
}

TEST(PprofEncoderTest, MappingsAndMultiByteVarints) {
  Profile p;
  p.mappings = {{0x400000, 0x401000, 0x1000, "/bin/x", "ab"}};
  p.locations = {{0x400123, 0, ""}};
  p.duration_nanos = 300;  // varint 0xac 0x02
  std::string got = EncodePprof(p);
  std::string mapping =
      Bytes({0x1a, 0x15, 0x08, 0x01, 0x10, 0x80, 0x80, 0x80, 0x02, 0x18, 0x80, 0xa0,
             0x80, 0x02, 0x20, 0x80, 0x20, 0x28, 0x01, 0x30, 0x02, 0x38, 0x01});
  EXPECT_EQ(got.substr(0, mapping.size()), mapping);
  // A location without a function name has no Line.
  std::string location = Bytes({0x22, 0x09, 0x08, 0x01, 0x10, 0x01, 0x18, 0xa3, 0x82, 0x80, 0x02});
  EXPECT_EQ(got.substr(mapping.size(), location.size()), location);
  EXPECT_NE(got.find(Bytes({0x50, 0xac, 0x02})), std::string::npos);
}

TEST(PprofEncoderTest, GzipRoundTrips) {
  std::string raw = EncodePprof(TinyProfile());
  Result<std::string> gz = EncodePprofGzip(TinyProfile());
  ASSERT_TRUE(gz.ok()) << gz.status().ToString();
  ASSERT_GE(gz->size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(4096, '\0');
  z.next_in = reinterpret_cast<Bytef*>(gz->data());
  z.avail_in = static_cast<uInt>(gz->size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  EXPECT_EQ(out, raw);
}

TEST(FoldedStacksTest, SumsEqualStacksRootFirstSorted) {
  Profile p;
  p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  p.locations = {{1, -1, "a"}, {2, -1, "b"}, {3, -1, "c;d"}, {0xab, -1, ""}};
  p.samples = {{{2, 1, 0}, {2, 20}},  // a;b;c:d
               {{3, 0}, {3, 30}},     // a;0xab
               {{2, 1, 0}, {4, 40}},  // a;b;c:d again
               {{1, 0}, {0, 7}}};     // a;b: value 0 for index 0
  EXPECT_EQ(FoldedStacks(p, 0), "a;0xab 3\na;b;c:d 6\n");
  EXPECT_EQ(FoldedStacks(p, 1), "a;0xab 30\na;b 7\na;b;c:d 60\n");
  EXPECT_EQ(FoldedStacks(p, 2), "");
}

}  // namespace
}  // namespace strobe::profile
