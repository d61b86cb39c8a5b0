#include "strobed/base/json.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <string>

namespace strobed::base {
namespace {

constexpr char kFffd[] = "\xEF\xBF\xBD";

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(JsonEscapeTest, QuotesAndBackslashes) {
  EXPECT_EQ(JsonEscape(R"(a"b\c)"), R"(a\"b\\c)");
  EXPECT_EQ(JsonEscape(""), "");
  EXPECT_EQ(JsonEscape("/ plain ~"), "/ plain ~");  // '/' and DEL-free ASCII unchanged
}

TEST(JsonEscapeTest, ControlCharacters) {
  EXPECT_EQ(JsonEscape("\n\r\t\b\f"), "\\n\\r\\t\\b\\f");
  EXPECT_EQ(JsonEscape(std::string_view("\x00", 1)), "\\u0000");
  EXPECT_EQ(JsonEscape("\x01\x1f"), "\\u0001\\u001f");
  EXPECT_EQ(JsonEscape("\x7f"), "\x7f");  // DEL is not a JSON control character
  // Every byte below 0x20 is escaped, none is copied.
  for (int c = 0; c < 0x20; ++c) {
    const std::string out = JsonEscape(std::string(1, static_cast<char>(c)));
    ASSERT_EQ(out[0], '\\') << c;
    for (char o : out) EXPECT_GE(static_cast<unsigned char>(o), 0x20u) << c;
  }
}

TEST(JsonEscapeTest, ValidUtf8IsCopied) {
  EXPECT_EQ(JsonEscape("caf\xC3\xA9"), "caf\xC3\xA9");            // 2 bytes
  EXPECT_EQ(JsonEscape("\xE2\x82\xAC"), "\xE2\x82\xAC");          // U+20AC, 3 bytes
  EXPECT_EQ(JsonEscape("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");  // U+1F600, 4 bytes
  EXPECT_EQ(JsonEscape("\xED\x9F\xBF"), "\xED\x9F\xBF");          // U+D7FF
  EXPECT_EQ(JsonEscape("\xEE\x80\x80"), "\xEE\x80\x80");          // U+E000
  EXPECT_EQ(JsonEscape("\xF4\x8F\xBF\xBF"), "\xF4\x8F\xBF\xBF");  // U+10FFFF
  EXPECT_EQ(JsonEscape("\xEF\xBF\xBD"), "\xEF\xBF\xBD");          // U+FFFD itself
}

TEST(JsonEscapeTest, InvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(JsonEscape("bad\xFF"), std::string("bad") + kFffd);
  EXPECT_EQ(JsonEscape("\x80"), kFffd);  // stray continuation byte
  EXPECT_EQ(JsonEscape("\xFE\xFF"), Repeat(kFffd, 2));
  // 5- and 6-byte forms of the old UTF-8 are not UTF-8.
  EXPECT_EQ(JsonEscape("\xF8\x88\x80\x80\x80"), Repeat(kFffd, 5));
}

TEST(JsonEscapeTest, OverlongFormsAreRejected) {
  EXPECT_EQ(JsonEscape("\xC0\xAF"), Repeat(kFffd, 2));          // '/' in 2 bytes
  EXPECT_EQ(JsonEscape("\xC1\xBF"), Repeat(kFffd, 2));          // U+007F in 2 bytes
  EXPECT_EQ(JsonEscape("\xE0\x80\xAF"), Repeat(kFffd, 3));      // '/' in 3 bytes
  EXPECT_EQ(JsonEscape("\xF0\x80\x80\xAF"), Repeat(kFffd, 4));  // '/' in 4 bytes
  // An overlong NUL must not smuggle a raw 0 byte or an unescaped quote through.
  EXPECT_EQ(JsonEscape("\xC0\x80"), Repeat(kFffd, 2));
  EXPECT_EQ(JsonEscape("\xC0\xA2"), Repeat(kFffd, 2));  // overlong '"'
}

TEST(JsonEscapeTest, SurrogatesAndOutOfRangeAreRejected) {
  EXPECT_EQ(JsonEscape("\xED\xA0\x80"), Repeat(kFffd, 3));  // U+D800
  EXPECT_EQ(JsonEscape("\xED\xBF\xBF"), Repeat(kFffd, 3));  // U+DFFF
  // A CESU-8 surrogate pair (U+1F600 as two 3-byte surrogates).
  EXPECT_EQ(JsonEscape("\xED\xA0\xBD\xED\xB8\x80"), Repeat(kFffd, 6));
  EXPECT_EQ(JsonEscape("\xF4\x90\x80\x80"), Repeat(kFffd, 4));  // U+110000
}

TEST(JsonEscapeTest, TruncatedSequences) {
  EXPECT_EQ(JsonEscape("\xE2\x82"), Repeat(kFffd, 2));               // cut by the end
  EXPECT_EQ(JsonEscape("\xC3"), kFffd);                              // lead byte alone at the end
  EXPECT_EQ(JsonEscape("\xF0\x9F\x98"), Repeat(kFffd, 3));           // 3 of 4 bytes
  EXPECT_EQ(JsonEscape("\xE2\x82x\""), Repeat(kFffd, 2) + "x\\\"");  // cut by ASCII
  // A valid sequence right after a broken lead byte is kept.
  EXPECT_EQ(JsonEscape("\xC3\xC3\xA9"), std::string(kFffd) + "\xC3\xA9");
}

TEST(JsonQuoteTest, AddsQuotes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("bad\xFF"), std::string("\"bad") + kFffd + "\"");
}

TEST(JsonNumberTest, ShortestRoundTripAndNullForNonFinite) {
  EXPECT_EQ(JsonNumber(0), "0");
  EXPECT_EQ(JsonNumber(0.1), "0.1");
  EXPECT_EQ(JsonNumber(-2.5), "-2.5");
  EXPECT_EQ(JsonNumber(1e21), "1e+21");
  EXPECT_EQ(JsonNumber(12345678), "12345678");
  const double third = 1.0 / 3.0;
  EXPECT_EQ(std::strtod(JsonNumber(third).c_str(), nullptr), third);  // round-trips exactly
  EXPECT_EQ(std::strtod(JsonNumber(std::numeric_limits<double>::max()).c_str(), nullptr),
            std::numeric_limits<double>::max());
  EXPECT_EQ(std::strtod(JsonNumber(std::numeric_limits<double>::denorm_min()).c_str(), nullptr),
            std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(JsonNumber(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(JsonNumber(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(JsonNumber(-std::numeric_limits<double>::infinity()), "null");
}

TEST(JsonStringMapTest, KeysInOrderEscaped) {
  EXPECT_EQ(JsonStringMap({}), "{}");
  EXPECT_EQ(JsonStringMap({{"b", "2"}, {"a", "x\"y"}}), R"({"a":"x\"y","b":"2"})");
}

TEST(JsonWriterTest, NestedDocument) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a");
  w.Int(-1);
  w.Key("b");
  w.BeginArray();
  w.Uint(18446744073709551615u);
  w.Double(0.5);
  w.Bool(true);
  w.Null();
  w.String("x\"");
  w.Double(1.0 / 0.0);
  w.Raw("[1,2]");
  w.EndArray();
  w.Key("c");
  w.BeginObject();
  w.EndObject();
  w.Key("min");
  w.Int(std::numeric_limits<int64_t>::min());
  w.EndObject();
  EXPECT_EQ(
      w.str(),
      R"({"a":-1,"b":[18446744073709551615,0.5,true,null,"x\"",null,[1,2]],"c":{},"min":-9223372036854775808})");
}

TEST(JsonWriterTest, KeysAndStringsAreEscapedAndValidated) {
  JsonWriter w;
  w.BeginObject();
  w.Key("k\n\xFF");
  w.String("\xC0\x80");
  w.EndObject();
  EXPECT_EQ(std::move(w).Take(),
            std::string("{\"k\\n") + kFffd + "\":\"" + Repeat(kFffd, 2) + "\"}");
}

}  // namespace
}  // namespace strobed::base
