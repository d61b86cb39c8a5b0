// Fuzzes the configuration loader with arbitrary YAML text: it must return a config or an
// error, never crash or throw; a config that loads must print and reload to the same text
// (roundtrip_fuzz.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "strobed/config/config.h"
#include "strobed/config/roundtrip_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strobed::config::LoadOptions o;
  o.file = "fuzz.yaml";
  o.text = std::string(reinterpret_cast<const char*>(data), size);
  o.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  auto c = strobed::config::Load(o);
  if (c.ok()) strobed::config::fuzz::CheckPrintReload(*c);
  return 0;
}
