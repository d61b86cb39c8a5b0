#pragma once

// The property the configuration fuzz targets assert on every configuration that loads: what
// --print-config shows loads back to the same configuration (Print → Load → Print is the
// identity, secrets redacted alike). Aborts with both texts, which libFuzzer reports with the
// input.
//
// Thread class: fuzz harness only.

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "strobed/config/config.h"
#include "strobed/config/print.h"

namespace strobed::config::fuzz {

inline void CheckPrintReload(const Config& config) {
  const std::string printed = Print(config);
  LoadOptions again;
  again.file = "printed.yaml";
  again.text = printed;
  again.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  auto reloaded = Load(again);
  if (!reloaded.ok()) {
    std::fprintf(stderr, "config: the printed configuration does not load: %s\n%s\n",
                 reloaded.status().ToString().c_str(), printed.c_str());
    std::abort();
  }
  const std::string reprinted = Print(*reloaded);
  if (reprinted != printed) {
    std::fprintf(stderr, "config: print -> reload -> print differs:\n%s\n----\n%s\n",
                 printed.c_str(), reprinted.c_str());
    std::abort();
  }
}

}  // namespace strobed::config::fuzz
