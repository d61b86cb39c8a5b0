// docs/pipeline.md's plugin reference is the registry's own description: a plugin or option
// added, removed or changed without regenerating the docs (`strobe serve --help-plugins`)
// fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "strobed/pipeline/plugin_registry.h"
#include "strobed/service/builtin_plugins.h"

namespace strobed::pipeline {
namespace {

TEST(PluginDocsTest, PipelineMdContainsTheGeneratedReference) {
  std::ifstream in(std::string(STROBE_SOURCE_DIR) + "/docs/pipeline.md");
  ASSERT_TRUE(in) << "docs/pipeline.md not found";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string generated = service::BuiltinPlugins().Describe();
  ASSERT_FALSE(generated.empty());
  EXPECT_NE(ss.str().find(generated), std::string::npos)
      << "docs/pipeline.md is out of date: replace its plugin reference with the output of "
         "`strobe serve --help-plugins`:\n"
      << generated;
}

}  // namespace
}  // namespace strobed::pipeline
