// Fuzz target for the pipeline configuration parser (user-supplied YAML): any input yields a
// config or an error, never a crash, hang or exception.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "strobed/pipeline/config.h"
#include "strobed/service/builtin_plugins.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = strobed::pipeline::ParsePipelineConfigText(text, "fuzz.yaml",
                                                        strobed::service::BuiltinPlugins());
  (void)cfg.ok();
  return 0;
}
