#pragma once

// Test helper: where the OpenTelemetry semantic-convention model used as test data lives. In CI
// the repository sits beside `shared/`, so the model is ${source}/../shared/semconv/model; a
// checkout elsewhere points STROBE_SHARED_DIR at its `shared/` folder. Tests must be compiled
// with STROBE_SOURCE_DIR defined. Test code only; never used by the product, which reads the
// registry the user configures.
//
// Thread class: pure function.

#include <cstdlib>
#include <filesystem>
#include <string>

namespace strobed::semconv {

// The model directory, or "" when it cannot be found (the caller fails under CI=true and skips
// otherwise: CI must never skip).
inline std::string SharedModelDirForTest() {
  std::string candidates[2];
  if (const char* env = std::getenv("STROBE_SHARED_DIR"); env != nullptr && *env != '\0') {
    candidates[0] = std::string(env) + "/semconv/model";
  }
  candidates[1] = std::string(STROBE_SOURCE_DIR) + "/../shared/semconv/model";
  for (const std::string& c : candidates) {
    std::error_code ec;
    if (!c.empty() && std::filesystem::is_directory(c, ec)) return c;
  }
  return "";
}

inline bool RunningInCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

}  // namespace strobed::semconv
