#include "strobed/base/yaml_util.h"

#include "strobed/base/parse.h"

namespace strobed::base {

std::string YamlWhere(std::string_view file, const YAML::Node& node) {
  std::string out(file);
  if (node.IsDefined() && node.Mark().line >= 0) {
    out += ":" + std::to_string(node.Mark().line + 1);
  }
  return out;
}

strobe::Status YamlError(std::string_view file, const YAML::Node& node, std::string_view message) {
  return strobe::InvalidArgument(YamlWhere(file, node) + ": " + std::string(message));
}

strobe::Result<uint64_t> ParseDurationNode(const YAML::Node& node, std::string_view file,
                                           std::string_view what) {
  if (!node.IsScalar()) return YamlError(file, node, std::string(what) + ": expected a duration");
  auto d = ParseDuration(node.Scalar());
  if (!d.ok()) return YamlError(file, node, std::string(what) + ": " + d.status().message());
  return static_cast<uint64_t>(d->count());  // ParseDuration never returns a negative value
}

}  // namespace strobed::base
