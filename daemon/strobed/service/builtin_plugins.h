#pragma once

// The one list of built-in pipeline plugins (STYLE.md section 7): every receiver, processor
// and exporter `strobe serve` knows. A new plugin adds its Register<Name>() call to
// builtin_plugins.cc and its library to `strobed_service_plugins` in service/CMakeLists.txt;
// nothing else in the daemon names plugins (docs/design/plugins.md).
//
// Thread class: BuiltinPlugins() is built once on first use, then read-only (thread-safe).

#include "strobed/pipeline/plugin_registry.h"

namespace strobed::service {

// The registry with every built-in plugin. Built once, never destroyed.
const pipeline::PluginRegistry& BuiltinPlugins();
// Registers the built-in plugins into `registry` (for tests and tools that extend it).
void RegisterBuiltinPlugins(pipeline::PluginRegistry& registry);

}  // namespace strobed::service
