#include "strobed/pipeline/component.h"

namespace strobed::pipeline {

namespace {

bool IsTypeChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

}  // namespace

strobe::Result<ComponentId> ComponentId::Parse(std::string_view text) {
  ComponentId id;
  auto slash = text.find('/');
  id.type = std::string(text.substr(0, slash));
  if (slash != std::string_view::npos) {
    id.name = std::string(text.substr(slash + 1));
    if (id.name.empty()) {
      return strobe::InvalidArgument("component id '" + std::string(text) +
                                     "' has an empty name after '/'");
    }
  }
  if (id.type.empty()) {
    return strobe::InvalidArgument("component id '" + std::string(text) + "' has an empty type");
  }
  for (char c : id.type) {
    if (!IsTypeChar(c)) {
      return strobe::InvalidArgument("component type '" + id.type +
                                     "' may only contain a-z, 0-9 and _");
    }
  }
  return id;
}

}  // namespace strobed::pipeline
