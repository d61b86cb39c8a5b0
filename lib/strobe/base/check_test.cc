#include "strobe/base/check.h"

#include <gtest/gtest.h>

namespace strobe {
namespace {

TEST(CheckDeathTest, FailingCheckAbortsWithExpression) {
  int x = 1;
  EXPECT_DEATH(STROBE_CHECK(x == 2), "check failed at .*check_test.cc:[0-9]+: x == 2");
}

// A passing check evaluates its condition exactly once (side effects happen once, as in an
// `if`), counts no bug and lets execution continue; STROBE_DCHECK evaluates it only in debug
// builds.
TEST(CheckTest, PassingCheckEvaluatesOnceAndDoesNothingElse) {
  const uint64_t bugs = BugCount();
  int evaluations = 0;
  auto cond = [&] {
    ++evaluations;
    return true;
  };
  STROBE_CHECK(cond());
  EXPECT_EQ(evaluations, 1);
  STROBE_DCHECK(cond());
#ifdef NDEBUG
  EXPECT_EQ(evaluations, 1);
#else
  EXPECT_EQ(evaluations, 2);
#endif
  EXPECT_EQ(BugCount(), bugs);
}

#ifdef NDEBUG
TEST(CheckTest, BugIsCountedInRelease) {
  uint64_t before = BugCount();
  STROBE_BUG("unexpected state");
  EXPECT_EQ(BugCount(), before + 1);
}
#else
TEST(CheckDeathTest, BugIsFatalInDebug) {
  EXPECT_DEATH(STROBE_BUG("unexpected state"), "unexpected state");
}
#endif

}  // namespace
}  // namespace strobe
