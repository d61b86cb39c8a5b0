#include "strobed/base/parse.h"

#include <gtest/gtest.h>

#include <chrono>

namespace strobed::base {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(ParseTest, DurationUnits) {
  EXPECT_EQ(*ParseDuration("7ns"), nanoseconds(7));
  EXPECT_EQ(*ParseDuration("250us"), microseconds(250));
  EXPECT_EQ(*ParseDuration("250\xC2\xB5s"), microseconds(250));
  EXPECT_EQ(*ParseDuration("100ms"), milliseconds(100));
  EXPECT_EQ(*ParseDuration("2s"), seconds(2));
  EXPECT_EQ(*ParseDuration("1.5m"), seconds(90));
  EXPECT_EQ(*ParseDuration("1h"), hours(1));
  EXPECT_EQ(*ParseDuration("250"), milliseconds(250));  // a bare number is milliseconds
  EXPECT_EQ(*ParseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*ParseDuration("0.1ns"), nanoseconds(0));  // rounded to the nearest ns
}

// The plugin parser (pipeline/component.cc) was case-sensitive and took "ns"; the daemon's
// (config/config.cc) lower-cased its input but had no "ns". One rule now: units are
// case-insensitive, spaces around and before the unit are allowed, and both sets of units
// are accepted.
TEST(ParseTest, DurationCaseAndSpacesFollowOneRule) {
  EXPECT_EQ(*ParseDuration("2S"), seconds(2));
  EXPECT_EQ(*ParseDuration("100MS"), milliseconds(100));
  EXPECT_EQ(*ParseDuration("  1 m "), minutes(1));
  EXPECT_EQ(*ParseDuration("5NS"), nanoseconds(5));
  EXPECT_EQ(*ParseDuration("3Us"), microseconds(3));
}

TEST(ParseTest, DurationErrors) {
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("s").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration(".s").ok());
  EXPECT_FALSE(ParseDuration("1e3").ok());
  auto soon = ParseDuration("soon");
  ASSERT_FALSE(soon.ok());
  EXPECT_EQ(soon.status().message(), "'soon' is not a duration (e.g. 500ms, 2s, 1.5m, 1h)");
  auto parsecs = ParseDuration("5 parsecs");
  ASSERT_FALSE(parsecs.ok());
  EXPECT_EQ(parsecs.status().message(),
            "'5 parsecs': unknown duration unit 'parsecs' (ns, us, ms, s, m, h)");
  EXPECT_TRUE(ParseDuration("2562047h").ok());   // ~292 years fits int64 ns
  EXPECT_FALSE(ParseDuration("2562048h").ok());  // does not
  EXPECT_FALSE(ParseDuration("99999999999999999999999s").ok());
}

TEST(ParseTest, SizeUnits) {
  EXPECT_EQ(*ParseBytes("4096"), 4096u);
  EXPECT_EQ(*ParseBytes("10B"), 10u);
  EXPECT_EQ(*ParseBytes("1KB"), 1000u);
  EXPECT_EQ(*ParseBytes("1kB"), 1000u);
  EXPECT_EQ(*ParseBytes("1GB"), 1'000'000'000u);
  EXPECT_EQ(*ParseBytes("2TB"), 2'000'000'000'000u);
  EXPECT_EQ(*ParseBytes("64KiB"), 64u << 10);
  EXPECT_EQ(*ParseBytes("64MiB"), 64u << 20);
  EXPECT_EQ(*ParseBytes("1GiB"), uint64_t{1} << 30);
  EXPECT_EQ(*ParseBytes("1TiB"), uint64_t{1} << 40);
  EXPECT_EQ(*ParseBytes("1.5KiB"), 1536u);
  EXPECT_EQ(*ParseBytes("0.5B"), 1u);  // rounded to the nearest byte
}

// The plugin parser accepted fractions and spaces but only exact-case units; the daemon's
// accepted any case and the K/M/G short forms but no fractions. One rule now: both.
TEST(ParseTest, SizeCaseAndShortFormsFollowOneRule) {
  EXPECT_EQ(*ParseBytes("64mib"), 64u << 20);
  EXPECT_EQ(*ParseBytes("1 KB"), 1000u);
  EXPECT_EQ(*ParseBytes("1kb"), 1000u);
  EXPECT_EQ(*ParseBytes("8k"), 8u << 10);
  EXPECT_EQ(*ParseBytes("8M"), 8u << 20);
  EXPECT_EQ(*ParseBytes("2g"), uint64_t{2} << 30);
  EXPECT_EQ(*ParseBytes("1.5 MiB"), 3u << 19);
}

TEST(ParseTest, SizeErrors) {
  EXPECT_FALSE(ParseBytes("").ok());
  EXPECT_FALSE(ParseBytes("-1").ok());
  EXPECT_FALSE(ParseBytes("MiB").ok());
  auto lots = ParseBytes("lots");
  ASSERT_FALSE(lots.ok());
  EXPECT_EQ(lots.status().message(), "'lots' is not a size (e.g. 4096, 64KiB, 512MiB, 1GB)");
  auto furlongs = ParseBytes("3 furlongs");
  ASSERT_FALSE(furlongs.ok());
  EXPECT_NE(furlongs.status().message().find("unknown size unit 'furlongs'"), std::string::npos);
  EXPECT_FALSE(ParseBytes("99999999999999999999GiB").ok());
  EXPECT_FALSE(ParseBytes("99999999999999999999").ok());
  EXPECT_FALSE(ParseBytes("16777216TiB").ok());  // 2^64: one past the largest
  EXPECT_EQ(*ParseBytes("18446744073709551615"), UINT64_MAX);
}

TEST(ParseTest, Scalars) {
  EXPECT_EQ(*ParseInt(" -42 "), -42);
  EXPECT_FALSE(ParseInt("4.2").ok());
  EXPECT_FALSE(ParseInt("many").ok());
  EXPECT_FALSE(ParseInt("99999999999999999999").ok());
  EXPECT_DOUBLE_EQ(*ParseDouble("0.25"), 0.25);
  EXPECT_DOUBLE_EQ(*ParseDouble("1e-3"), 0.001);
  EXPECT_FALSE(ParseDouble("nan").ok());
  EXPECT_FALSE(ParseDouble("inf").ok());
  EXPECT_FALSE(ParseDouble("").ok());
  for (const char* t : {"true", "YES", "On", "1"}) EXPECT_TRUE(*ParseBool(t)) << t;
  for (const char* t : {"false", "no", "OFF", "0"}) EXPECT_FALSE(*ParseBool(t)) << t;
  EXPECT_FALSE(ParseBool("maybe").ok());
}

TEST(ParseTest, DurationTextRoundTrips) {
  EXPECT_EQ(DurationText(milliseconds(1500)), "1500ms");
  EXPECT_EQ(DurationText(seconds(10)), "10s");
  EXPECT_EQ(DurationText(seconds(90)), "90s");
  EXPECT_EQ(DurationText(minutes(2)), "2m");
  EXPECT_EQ(DurationText(hours(3)), "3h");
  EXPECT_EQ(DurationText(microseconds(250)), "250us");
  EXPECT_EQ(DurationText(nanoseconds(7)), "7ns");
  EXPECT_EQ(DurationText(nanoseconds(0)), "0ms");
  for (int64_t ns :
       {int64_t{1}, int64_t{1'500}, int64_t{3'600'000'000'000}, int64_t{123'456'789}}) {
    EXPECT_EQ(*ParseDuration(DurationText(nanoseconds(ns))), nanoseconds(ns));
  }
}

}  // namespace
}  // namespace strobed::base
