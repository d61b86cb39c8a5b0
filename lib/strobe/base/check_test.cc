#include "strobe/base/check.h"

#include <gtest/gtest.h>

namespace strobe {
namespace {

TEST(CheckDeathTest, FailingCheckAbortsWithExpression) {
  int x = 1;
  EXPECT_DEATH(STROBE_CHECK(x == 2), "check failed at .*check_test.cc:[0-9]+: x == 2");
}

TEST(CheckTest, PassingCheckDoesNothing) {
  int x = 2;
  STROBE_CHECK(x == 2);
  STROBE_DCHECK(x == 2);
  SUCCEED();
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
