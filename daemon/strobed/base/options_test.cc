#include "strobed/base/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "strobed/base/yaml_util.h"

namespace strobed::base {
namespace {

using ::testing::HasSubstr;

const OptionSpec kThreads{
    "threads", OptionType::kInt, "1", "I/O threads", {.min = "1", .max = "64"}};
const OptionSpec kTimeout{"timeout",
                          OptionType::kDuration,
                          "100ms",
                          "flush after",
                          {.min = "0ms", .min_exclusive = true}};
const OptionSpec kRatio{
    "ratio", OptionType::kDouble, "1.0", "keep ratio", {.min = "0", .max = "1"}};
const OptionSpec kLimit{"limit", OptionType::kBytes, "", "memory", {.min = "1KiB", .max = "1GiB"}};
const OptionSpec kMode{
    "mode", OptionType::kString, "fast", "how", {.choices = {"fast", "safe", "always_on"}}};
const OptionSpec kTags{"tags", OptionType::kStringList, "[a]", "tags", {.choices = {"a", "b"}}};
const OptionSpec kFlag{"flag", OptionType::kBool, "false", "a switch"};

TEST(OptionsTest, ScalarsParseWithinBounds) {
  EXPECT_EQ(std::get<int64_t>(*ParseOptionValue(kThreads, "64")), 64);
  EXPECT_EQ(std::get<std::chrono::nanoseconds>(*ParseOptionValue(kTimeout, "1ns")),
            std::chrono::nanoseconds(1));
  EXPECT_DOUBLE_EQ(std::get<double>(*ParseOptionValue(kRatio, "0")), 0.0);
  EXPECT_EQ(std::get<uint64_t>(*ParseOptionValue(kLimit, "1gib")), uint64_t{1} << 30);
  EXPECT_TRUE(std::get<bool>(*ParseOptionValue(kFlag, "yes")));
}

TEST(OptionsTest, BoundsErrorsSayWhatIsAllowed) {
  auto low = ParseOptionValue(kThreads, "0");
  ASSERT_FALSE(low.ok());
  EXPECT_EQ(low.status().message(), "0 is out of range [1, 64]");
  auto high = ParseOptionValue(kThreads, "65");
  ASSERT_FALSE(high.ok());
  EXPECT_EQ(high.status().message(), "65 is out of range [1, 64]");
  auto zero = ParseOptionValue(kTimeout, "0s");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().message(), "0s is out of range (must be > 0ms)");
  auto ratio = ParseOptionValue(kRatio, "1.5");
  ASSERT_FALSE(ratio.ok());
  EXPECT_EQ(ratio.status().message(), "1.5 is out of range [0, 1]");
  auto small = ParseOptionValue(kLimit, "1000");
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().message(), "1000 is out of range [1KiB, 1GiB]");
  auto type = ParseOptionValue(kThreads, "many");
  ASSERT_FALSE(type.ok());
  EXPECT_EQ(type.status().message(), "'many' is not an integer");
}

TEST(OptionsTest, ChoicesMatchCaseInsensitivelyAndReturnTheDeclaredSpelling) {
  EXPECT_EQ(std::get<std::string>(*ParseOptionValue(kMode, "SAFE")), "safe");
  EXPECT_EQ(std::get<std::string>(*ParseOptionValue(kMode, "Always_On")), "always_on");
  auto bad = ParseOptionValue(kMode, "loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "'loud' is not one of fast, safe, always_on");
}

TEST(OptionsTest, BoundsText) {
  EXPECT_EQ(BoundsText(kThreads), "[1, 64]");
  EXPECT_EQ(BoundsText(kTimeout), "> 0ms");
  EXPECT_EQ(BoundsText(kMode), "one of: fast, safe, always_on");
  EXPECT_EQ(BoundsText(kFlag), "");
  EXPECT_EQ(BoundsText({"n", OptionType::kInt, "", "", {.min = "0"}}), ">= 0");
  EXPECT_EQ(BoundsText({"n", OptionType::kInt, "", "", {.max = "9"}}), "<= 9");
  EXPECT_EQ(BoundsText({"n", OptionType::kInt, "", "", {.max = "9", .max_exclusive = true}}),
            "< 9");
  const OptionSpec fill{
      "fill", OptionType::kDouble, "0.5", "", {.min = "0", .max = "1", .max_exclusive = true}};
  EXPECT_EQ(BoundsText(fill), "[0, 1)");
  EXPECT_EQ(ParseOptionValue(fill, "1").status().message(), "1 is out of range [0, 1)");
  EXPECT_TRUE(ParseOptionValue(fill, "0.999").ok());
  EXPECT_EQ(
      BoundsText(
          {"r", OptionType::kDouble, "", "", {.min = "0", .max = "1", .min_exclusive = true}}),
      "(0, 1]");
}

TEST(OptionsTest, ValidateSpecRejectsBadTables) {
  for (const OptionSpec& ok : {kThreads, kTimeout, kRatio, kLimit, kMode, kTags, kFlag}) {
    EXPECT_TRUE(ValidateSpec(ok).ok()) << ok.key << ": " << ValidateSpec(ok).message();
  }
  EXPECT_THAT(ValidateSpec({"n", OptionType::kInt, "0", "", {.min = "1"}}).message(),
              HasSubstr("option 'n': default: 0 is out of range (must be >= 1)"));
  EXPECT_THAT(ValidateSpec({"n", OptionType::kInt, "", "", {.min = "1ms"}}).message(),
              HasSubstr("min: '1ms' is not an integer"));
  EXPECT_THAT(ValidateSpec({"n", OptionType::kInt, "", "", {.min = "5", .max = "4"}}).message(),
              HasSubstr("min 5 is not below max 4"));
  EXPECT_THAT(ValidateSpec({"s", OptionType::kString, "", "", {.min = "1"}}).message(),
              HasSubstr("min/max need"));
  EXPECT_THAT(ValidateSpec({"n", OptionType::kInt, "", "", {.choices = {"a"}}}).message(),
              HasSubstr("choices need"));
  EXPECT_THAT(ValidateSpec({"t", OptionType::kStringList, "[c]", "", {.choices = {"a"}}}).message(),
              HasSubstr("default: 'c' is not one of a"));
}

TEST(OptionsTest, YamlOptionsReadTypedValuesAndDefaults) {
  const std::vector<OptionSpec> spec = {kThreads, kTimeout, kRatio, kLimit, kMode, kTags, kFlag};
  YAML::Node node = YAML::Load("threads: 8\nmode: Safe\ntags: [b, A]\n");
  auto o = Options::Parse(node, spec, "strobe.yaml", "receivers.x");
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->GetInt("threads"), 8);
  EXPECT_EQ(o->GetString("mode"), "safe");
  EXPECT_EQ(o->GetStringList("tags"), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(o->GetDuration("timeout"), std::chrono::milliseconds(100));  // default
  EXPECT_DOUBLE_EQ(o->GetDouble("ratio"), 1.0);
  EXPECT_FALSE(o->GetBool("flag"));
  EXPECT_FALSE(o->Has("limit"));  // no default, not set
  EXPECT_EQ(o->GetBytes("limit"), 0u);
  EXPECT_EQ(o->Where("threads"), "strobe.yaml:1");
  EXPECT_EQ(o->Where("timeout"), "strobe.yaml");
}

TEST(OptionsTest, YamlErrorsNameFileLineComponentAndKey) {
  const std::vector<OptionSpec> spec = {kThreads, kTimeout, kMode};
  auto parse = [&](const char* yaml) {
    return Options::Parse(YAML::Load(yaml), spec, "strobe.yaml", "receivers.x");
  };
  EXPECT_EQ(parse("threads: 1\ntimeout: 0s\n").status().message(),
            "strobe.yaml:2: receivers.x.timeout: 0s is out of range (must be > 0ms)");
  EXPECT_EQ(parse("threads: 100\n").status().message(),
            "strobe.yaml:1: receivers.x.threads: 100 is out of range [1, 64]");
  EXPECT_EQ(parse("\nthreads: [1]\n").status().message(),
            "strobe.yaml:2: receivers.x.threads: expected an integer");
  EXPECT_EQ(parse("mode: loud\n").status().message(),
            "strobe.yaml:1: receivers.x.mode: 'loud' is not one of fast, safe, always_on");
  EXPECT_EQ(parse("thread: 1\n").status().message(),
            "strobe.yaml:1: receivers.x: unknown option 'thread' (known: threads, timeout, mode)");
  EXPECT_EQ(parse("[1, 2]").status().message(),
            "strobe.yaml:1: receivers.x: options must be a map");
}

TEST(YamlUtilTest, WhereDurationAndGuard) {
  YAML::Node root = YAML::Load("a: 1\nb: 2s\nc: [x]\n");
  EXPECT_EQ(YamlWhere("f.yaml", root["b"]), "f.yaml:2");
  EXPECT_EQ(*ParseDurationNode(root["b"], "f.yaml", "b"), 2'000'000'000u);
  EXPECT_EQ(ParseDurationNode(root["c"], "f.yaml", "c").status().message(),
            "f.yaml:3: c: expected a duration");
  strobe::Result<int> r = GuardYaml(root["c"], "f.yaml", [&]() -> strobe::Result<int> {
    return root["c"].as<int>();  // a sequence read as int: yaml-cpp throws
  });
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("f.yaml:3: malformed entry: "));
  strobe::Status ok = GuardYaml(root, "f.yaml", [] { return strobe::OkStatus(); });
  EXPECT_TRUE(ok.ok());
}

}  // namespace
}  // namespace strobed::base
