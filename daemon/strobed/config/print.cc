#include "strobed/config/print.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <string_view>

#include "strobed/config/keys.h"

namespace strobed::config {
namespace {

void EmitValue(YAML::Emitter& out, const Config& c, const KeySpec& key) {
  std::string text = ValueText(c, key);
  if (key.secret && !text.empty()) text = "<redacted>";
  out << text;
}

// A copy of a module section with the values of secret-looking keys (`*token`, `*password`,
// `*secret`) replaced, so --print-config and the digest never carry credentials.
YAML::Node Redacted(const YAML::Node& node) {
  auto secret = [](const std::string& key) {
    auto ends = [&](std::string_view suffix) {
      return key.size() >= suffix.size() &&
             std::string_view(key).substr(key.size() - suffix.size()) == suffix;
    };
    return ends("token") || ends("password") || ends("secret");
  };
  if (node.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (secret(key) && kv.second.IsScalar() && !kv.second.Scalar().empty()) {
        out[key] = "<redacted>";
      } else {
        out[key] = Redacted(kv.second);
      }
    }
    return out;
  }
  if (node.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : node) out.push_back(Redacted(item));
    return out;
  }
  return YAML::Clone(node);
}
}  // namespace

std::string Print(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  // Group keys by their first path component, in table order.
  std::vector<std::string> groups;
  for (const KeySpec& k : KeySpecs()) {
    std::string g(k.path().substr(0, k.path().find('.')));
    if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
  }
  for (const auto& g : groups) {
    const KeySpec* leaf = FindKey(g);
    out << YAML::Key << g << YAML::Value;
    if (leaf != nullptr) {
      EmitValue(out, config, *leaf);
      continue;
    }
    out << YAML::BeginMap;
    for (const KeySpec& k : KeySpecs()) {
      const std::string& p = k.path();
      if (p.size() > g.size() && p.compare(0, g.size(), g) == 0 && p[g.size()] == '.') {
        out << YAML::Key << p.substr(g.size() + 1) << YAML::Value;
        EmitValue(out, config, k);
      }
    }
    out << YAML::EndMap;
  }
  for (auto name : ModuleSections()) {
    const RawSection& s = config.Section(name);
    if (s.present()) out << YAML::Key << std::string(name) << YAML::Value << Redacted(s.node);
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string Digest(const Config& config) {
  std::string text = Print(config);
  text += config.auth_token.empty() && config.auth_token_file.empty() ? "auth:none" : "auth:set";
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (char ch : text) {
    h ^= static_cast<unsigned char>(ch);
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kHex[h & 0xF];
    h >>= 4;
  }
  return out;
}

std::vector<std::string> RestartRequired(const Config& running, const Config& next) {
  std::vector<std::string> keys;
  for (const KeySpec& k : KeySpecs()) {
    if (!k.reloadable && ValueText(running, k) != ValueText(next, k)) {
      keys.emplace_back(k.path());
    }
  }
  const auto differ = [](const YAML::Node& a, const YAML::Node& b) {
    YAML::Emitter ea;
    YAML::Emitter eb;
    if (a.IsDefined() && !a.IsNull()) ea << a;
    if (b.IsDefined() && !b.IsNull()) eb << b;
    return std::string_view(ea.c_str()) != std::string_view(eb.c_str());
  };
  for (auto name : ModuleSections()) {
    const RawSection& a = running.Section(name);
    const RawSection& b = next.Section(name);
    if (!ReloadableSection(name)) {
      if (differ(a.node, b.node)) keys.emplace_back(name);
      continue;
    }
    for (auto sub : RestartSubKeys(name)) {
      const YAML::Node na = a.node.IsMap() ? a.node[std::string(sub)] : YAML::Node();
      const YAML::Node nb = b.node.IsMap() ? b.node[std::string(sub)] : YAML::Node();
      if (differ(na, nb)) keys.emplace_back(std::string(name) + "." + std::string(sub));
    }
  }
  return keys;
}

}  // namespace strobed::config
