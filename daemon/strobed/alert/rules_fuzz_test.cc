// Fuzzes the user-facing rule languages: the input is YAML holding `stream:` and `alerts:`
// sections (windows, predicates, CEP rules, detectors, alert expressions, templates), and the
// same text as a Prometheus rule file (groups of PromQL rules). Any input must give rules or
// file:line errors — never a crash, hang or sanitizer report.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "strobed/alert/expr.h"
#include "strobed/alert/rules.h"
#include "strobed/base/clock.h"
#include "strobed/event/attribute.h"
#include "strobed/stream/engine.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The raw text as one alert expression and one template.
  (void)strobed::alert::AlertExpr::Parse(text, nullptr);
  (void)strobed::alert::CheckTemplate(text);
  strobed::alert::RuleFiles rule_file;
  strobed::alert::ParseRuleFileText(text, "fuzz.yml", rule_file);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return 0;  // not YAML: the daemon's config loader reports it
  }
  if (!root.IsMap()) return 0;
  try {
    static strobed::event::KeyTable keys(4096);
    strobed::base::ManualWallClock clock(1'700'000'000'000'000'000);
    auto engine = strobed::stream::StreamEngine::Create(root["stream"], "fuzz.yaml", keys, clock);
    engine->Tick();
    // rule_files would read (and glob) the fuzzing machine's files: the text itself was parsed
    // as a rule file above.
    YAML::Node alerts = root["alerts"];
    if (alerts.IsMap()) alerts.remove("rule_files");
    strobed::alert::AlertConfig c = strobed::alert::AlertConfig::Parse(alerts, "fuzz.yaml");
    for (const auto& r : c.rules) {
      strobed::alert::TemplateContext ctx{&r, 1.5, nullptr};
      for (const auto& [k, v] : r.annotations) (void)strobed::alert::ExpandTemplate(v, ctx);
    }
  } catch (const YAML::Exception&) {
    // yaml-cpp throws on conversions of malformed nodes (as<std::string> of a map key that is
    // itself a map); the daemon's config loader catches these at its boundary.
  }
  return 0;
}
