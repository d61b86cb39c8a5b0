// Fuzzes the configuration that does not come from the file: STROBE_* environment variables and
// `--set KEY=VALUE` flags (and the listener flags, which are --set with a flag name), applied
// over a fixed configuration file. Any values must give a configuration or an error naming the
// variable or flag — never a crash or an exception — and a configuration that loads must print
// and reload to the same text (roundtrip_fuzz.h).
//
// Input: lines. The first byte of a line picks what it sets: a key of the table (byte % number
// of keys), through its environment variable (bit 7 clear) or --set (bit 7 set); the rest of
// the line is the value. A line whose first byte is '!' is a raw `--set` argument
// "KEY=VALUE" (unknown and malformed keys). Seeds: corpus_overrides.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "strobed/config/config.h"
#include "strobed/config/keys.h"
#include "strobed/config/roundtrip_fuzz.h"

namespace {

constexpr std::string_view kFile =
    "listen:\n  http: 127.0.0.1:0\nserver:\n  threads: 2\nalerts:\n  - name: x\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto keys = strobed::config::KeySpecs();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string, std::less<>> env;
  strobed::config::LoadOptions o;
  o.file = "fuzz.yaml";
  o.text = std::string(kFile);
  while (!in.empty() && o.overrides.size() < 64) {
    const size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (line.empty()) continue;
    const auto pick = static_cast<uint8_t>(line[0]);
    std::string value(line.substr(1));
    if (pick == '!') {
      const size_t eq = value.find('=');
      strobed::config::LoadOptions::Override& set = o.overrides.emplace_back();
      set.key = value.substr(0, eq);
      if (eq != std::string::npos) set.value = value.substr(eq + 1);
      continue;
    }
    const strobed::config::KeySpec& key = keys[(pick & 0x7f) % keys.size()];
    if ((pick & 0x80) != 0) {
      strobed::config::LoadOptions::Override& set = o.overrides.emplace_back();
      set.key = key.path();
      set.value = value;
    } else if (!key.env.empty()) {
      env[key.env] = value;
    }
  }
  o.env = [&env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  auto c = strobed::config::Load(o);
  if (!c.ok()) {
    // Errors name their source: the file, an environment variable or a flag.
    const std::string m = c.status().message();
    if (m.rfind("fuzz.yaml", 0) != 0 && m.rfind("environment STROBE_", 0) != 0 &&
        m.rfind("flag ", 0) != 0 && m.find("must be less than") == std::string::npos &&
        m.find("are both set") == std::string::npos) {
      std::fprintf(stderr, "config error names no source: %s\n", m.c_str());
      std::abort();
    }
    return 0;
  }
  strobed::config::fuzz::CheckPrintReload(*c);
  return 0;
}
