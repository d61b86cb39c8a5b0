// The donor of the precompiled header every strobe_test target reuses (cmake/StrobeHelpers.cmake:
// strobe_test_pch). CMake compiles the header once per build with this target's flags; the
// target itself is never run.
#include <gtest/gtest.h>

TEST(TestPch, Builds) { EXPECT_TRUE(true); }
