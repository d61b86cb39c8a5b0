#pragma once

// Resource (who emitted: service.name, host, ...) and InstrumentationScope (which library),
// shared by many events of one Batch. Events hold `const Resource*` / `const
// InstrumentationScope*` into the same batch's arena (or static storage); nullptr means
// "none". Plain values; thread-compatible.

#include <cstdint>
#include <span>
#include <string_view>

#include "strobed/event/attribute.h"

namespace strobed::event {

struct Resource {
  std::span<const Attribute> attributes;
  std::string_view schema_url;
  uint32_t dropped_attributes_count = 0;
};

struct InstrumentationScope {
  std::string_view name;
  std::string_view version;
  std::span<const Attribute> attributes;
  std::string_view schema_url;
};

}  // namespace strobed::event
