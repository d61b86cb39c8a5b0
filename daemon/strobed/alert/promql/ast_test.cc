#include "strobed/alert/promql/ast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace strobed::alert::promql {
namespace {

Expr MustParse(std::string_view text) {
  auto e = Parse(text);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().ToString();
  if (!e.ok()) return Expr{};
  return std::move(*e);
}

std::string ErrorOf(std::string_view text) {
  auto e = Parse(text);
  EXPECT_FALSE(e.ok()) << text << " parsed as " << (e.ok() ? ToString(*e) : "");
  return e.ok() ? std::string() : e.status().message();
}

TEST(PromqlParseTest, SelectorWithEveryMatcherKind) {
  Expr e = MustParse(R"(http_requests_total{job="api", code=~"5..", path!="/", m!~'GET|HEAD',})");
  ASSERT_EQ(e.kind, ExprKind::kVectorSelector);
  EXPECT_EQ(e.metric_name, "http_requests_total");
  ASSERT_EQ(e.matchers.size(), 5u);
  EXPECT_EQ(e.matchers[0].name, "__name__");
  EXPECT_EQ(e.matchers[1].op, MatchOp::kEqual);
  EXPECT_EQ(e.matchers[2].op, MatchOp::kRegex);
  EXPECT_EQ(e.matchers[3].op, MatchOp::kNotEqual);
  EXPECT_EQ(e.matchers[4].op, MatchOp::kNotRegex);
  // Regexes are fully anchored.
  EXPECT_TRUE(e.matchers[2].Matches("503"));
  EXPECT_FALSE(e.matchers[2].Matches("5030"));
  EXPECT_FALSE(e.matchers[2].Matches("x503"));
  EXPECT_TRUE(e.matchers[4].Matches("POST"));
  EXPECT_FALSE(e.matchers[4].Matches("HEAD"));
  EXPECT_TRUE(e.matchers[4].Matches("HEADX"));
  EXPECT_EQ(TypeOf(e), ValueType::kVector);
}

TEST(PromqlParseTest, DurationsRangesAndOffset) {
  Expr e = MustParse("rate(x[1h30m] offset 5m)");
  ASSERT_EQ(e.kind, ExprKind::kCall);
  EXPECT_EQ(e.func, Function::kRate);
  const Expr& sel = *e.args[0];
  EXPECT_EQ(sel.kind, ExprKind::kMatrixSelector);
  EXPECT_EQ(sel.range_ms, 5'400'000);
  EXPECT_EQ(sel.offset_ms, 300'000);
  EXPECT_EQ(MaxRangeMs(e), 5'700'000);

  EXPECT_EQ(MustParse("x[1y]").range_ms, 365LL * 86'400'000);
  EXPECT_EQ(MustParse("x[2w]").range_ms, 14LL * 86'400'000);
  EXPECT_EQ(MustParse("x[1d12h]").range_ms, 36LL * 3'600'000);
  EXPECT_EQ(MustParse("x[90s]").range_ms, 90'000);
  EXPECT_EQ(MustParse("x[1s500ms]").range_ms, 1'500);
  EXPECT_EQ(MaxRangeMs(MustParse("x offset 1h")), 3'600'000);
  EXPECT_EQ(MaxRangeMs(MustParse("rate(a[5m]) / rate(b[1h])")), 3'600'000);
  EXPECT_EQ(MaxRangeMs(MustParse("up")), 0);
}

TEST(PromqlParseTest, PrecedenceAsPrometheus) {
  // * binds tighter than +, comparisons below arithmetic, and/unless above or.
  EXPECT_EQ(ToString(MustParse("1 + 2 * 3")), "1 + 2 * 3");
  Expr e = MustParse("a + b * c > bool d or e and f");
  ASSERT_EQ(e.kind, ExprKind::kBinary);
  EXPECT_EQ(e.bin_op, BinOp::kOr);
  EXPECT_EQ(e.args[0]->bin_op, BinOp::kGt);
  EXPECT_TRUE(e.args[0]->return_bool);
  EXPECT_EQ(e.args[0]->args[0]->bin_op, BinOp::kAdd);
  EXPECT_EQ(e.args[0]->args[0]->args[1]->bin_op, BinOp::kMul);
  EXPECT_EQ(e.args[1]->bin_op, BinOp::kAnd);
  // ^ is right-associative and binds tighter than unary minus: -2^2 = -(2^2).
  Expr p = MustParse("2 ^ 3 ^ 2");
  EXPECT_EQ(p.args[1]->bin_op, BinOp::kPow);
  Expr u = MustParse("-a ^ 2");
  EXPECT_EQ(u.kind, ExprKind::kUnary);
  EXPECT_EQ(u.args[0]->bin_op, BinOp::kPow);
  // Unary minus of a literal folds into the number.
  Expr n = MustParse("-1.5e3");
  EXPECT_EQ(n.kind, ExprKind::kNumber);
  EXPECT_EQ(n.number, -1500);
  EXPECT_EQ(MustParse("0x1f").number, 31);
  EXPECT_TRUE(std::isinf(MustParse("+Inf").number));
  EXPECT_TRUE(std::isnan(MustParse("NaN").number));
  // Left-associative subtraction.
  Expr s = MustParse("a - b - c");
  EXPECT_EQ(s.args[0]->bin_op, BinOp::kSub);
}

TEST(PromqlParseTest, AggregationPrefixAndSuffixGrouping) {
  Expr a = MustParse("sum by (job, instance) (x)");
  EXPECT_EQ(a.kind, ExprKind::kAggregate);
  EXPECT_EQ(a.agg, AggOp::kSum);
  EXPECT_FALSE(a.without);
  EXPECT_EQ(a.grouping, (std::vector<std::string>{"job", "instance"}));
  Expr b = MustParse("avg(x) without (cpu)");
  EXPECT_EQ(b.agg, AggOp::kAvg);
  EXPECT_TRUE(b.without);
  EXPECT_EQ(b.grouping, (std::vector<std::string>{"cpu"}));
  EXPECT_EQ(MustParse("count(x)").agg, AggOp::kCount);
  EXPECT_EQ(ToString(MustParse("max(x) by (a)")), "max by (a) (x)");
}

TEST(PromqlParseTest, VectorMatchingModifiers) {
  Expr e = MustParse("a / on(job) group_left(team) b");
  EXPECT_TRUE(e.matching.on);
  EXPECT_EQ(e.matching.labels, (std::vector<std::string>{"job"}));
  EXPECT_EQ(e.matching.card, VectorMatching::Card::kManyToOne);
  EXPECT_EQ(e.matching.include, (std::vector<std::string>{"team"}));
  Expr f = MustParse("a - ignoring(code) group_right b");
  EXPECT_FALSE(f.matching.on);
  EXPECT_EQ(f.matching.card, VectorMatching::Card::kOneToMany);
  EXPECT_EQ(MustParse("a unless b").matching.card, VectorMatching::Card::kManyToMany);
}

TEST(PromqlParseTest, FunctionsAndTypes) {
  EXPECT_EQ(TypeOf(MustParse("histogram_quantile(0.9, rate(b_bucket[5m]))")), ValueType::kVector);
  EXPECT_EQ(TypeOf(MustParse("scalar(x)")), ValueType::kScalar);
  EXPECT_EQ(TypeOf(MustParse("time() - 5")), ValueType::kScalar);
  EXPECT_EQ(TypeOf(MustParse("absent(x{a=\"b\"})")), ValueType::kVector);
  EXPECT_EQ(TypeOf(MustParse("x[5m]")), ValueType::kMatrix);
}

TEST(PromqlParseTest, RoundTripsThroughToString) {
  for (const char* text :
       {"sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m])) > 0.1",
        "a / ignoring(code) group_left(team) b", "x{a=\"q\\\"\\n\"} offset 1h30m", "-(a + b) ^ 2",
        "absent(up{job=\"x\"} == 1)", "{__name__=~\"a|b\"}",
        "avg without (cpu) (rate(c_total[1m])) < bool 2"}) {
    Expr e = MustParse(text);
    const std::string once = ToString(e);
    EXPECT_EQ(ToString(MustParse(once)), once) << text;
  }
}

TEST(PromqlParseTest, ErrorsCarryLineAndColumn) {
  EXPECT_EQ(ErrorOf("sum(rate(x[5m])"),
            "1:16: unexpected end of input, expected ')' closing the aggregation");
  EXPECT_EQ(ErrorOf("rate(x)"),
            "1:6: expected type range vector in call to function \"rate\", got instant vector");
  EXPECT_EQ(ErrorOf("x[5x]"), "1:3: bad duration \"5x\": unit must be one of ms s m h d w y");
  EXPECT_EQ(ErrorOf("x[5s1m]"),
            "1:3: bad duration \"5s1m\": units must be in decreasing order, each once");
  EXPECT_EQ(ErrorOf("x[0s]"), "1:3: range must be greater than 0");
  EXPECT_EQ(ErrorOf("foo(x)"), "1:1: unknown function \"foo\"");
  EXPECT_EQ(ErrorOf("a +\n  * b"), "2:3: unexpected '*', expected an expression");
  EXPECT_EQ(ErrorOf("x{a=~\"(\"}"), ErrorOf("x{a=~\"(\"}"));
  EXPECT_EQ(ErrorOf("x{a=~\"(\"}").substr(0, 6), "1:6: i");
  EXPECT_EQ(ErrorOf("{a=\"\"}"),
            "1:1: vector selector must contain at least one non-empty matcher");
  EXPECT_EQ(ErrorOf("1 > 2"), "1:3: comparisons between scalars must use BOOL modifier");
  EXPECT_EQ(ErrorOf("a and 1"),
            "1:3: set operator \"and\" not allowed in binary scalar expression");
  EXPECT_EQ(ErrorOf("a and on(x) group_left b"), "1:13: no grouping allowed for \"and\" operation");
  EXPECT_EQ(ErrorOf("topk(3, x)"), "1:1: aggregation \"topk\" is not supported");
  EXPECT_EQ(ErrorOf("rate(x[5m:1m])"), "1:10: subqueries are not supported");
  EXPECT_EQ(ErrorOf("x + 1 > bool"), "1:13: unexpected end of input, expected an expression");
  EXPECT_EQ(ErrorOf("x{a=~\"(?i)x\"}"),
            "1:6: unsupported regex group \"(?i\" in \"(?i)x\" (only (?:...) is supported)");
  EXPECT_EQ(ErrorOf("sum(x[5m])"),
            "1:5: expected type instant vector in aggregation expression, got range vector");
  EXPECT_EQ(ErrorOf("x ) "), "1:3: unexpected ')' after the expression");
  EXPECT_EQ(ErrorOf(""), "1:1: empty expression");
  EXPECT_EQ(ErrorOf("5m"),
            "1:1: bad number or duration syntax: durations are only allowed in ranges and offsets");
  EXPECT_EQ(ErrorOf("x{a=\"b}"), "1:5: unterminated quoted string");
  EXPECT_EQ(ErrorOf("a > bool on(x) 1"),
            "1:3: vector matching only allowed between instant vectors");
}

TEST(PromqlParseTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep(10'000, '(');
  deep += "1";
  deep += std::string(10'000, ')');
  EXPECT_EQ(ErrorOf(deep).substr(0, 6), "1:129:");
  std::string minus(10'000, '-');
  minus += "1";
  EXPECT_NE(ErrorOf(minus).find("nested too deeply"), std::string::npos);
}

TEST(PromqlParseTest, LongLabelValuesMatchWithoutRecursion) {
  Expr e = MustParse(R"(x{a=~".*b"})");
  // The breadth-first matcher does not recurse per character: a 1 MB value is fine.
  std::string value(1 << 20, 'a');
  value.back() = 'b';
  EXPECT_TRUE(e.matchers[1].Matches(value));
}

}  // namespace
}  // namespace strobed::alert::promql
