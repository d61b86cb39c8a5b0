#pragma once

// The plugin registry: every receiver, processor and exporter type the daemon knows, with
// its option table and factory. The framework knows no plugin: exactly one file lists the
// built-in ones (service/builtin_plugins.cc, STYLE.md section 7); a plugin contributes one
// Register<Name>(...) function that it calls. docs/design/plugins.md says how to add one.
//
//   // daemon/strobed/exporters/debug/debug.cc
//   void RegisterDebugExporter(pipeline::PluginRegistry& r) {
//     r.AddExporter({.type = "debug", .description = "...", .signals = event::kSignalAll,
//                    .options = {{"verbosity", OptionType::kString, "basic", "..."}},
//                    .create = [](const ComponentContext& ctx)
//                        -> strobe::Result<std::unique_ptr<Exporter>> { ... }});
//   }
//
// Thread class: filled once at startup, then read-only (thread-safe for readers).

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/event/batch.h"
#include "strobed/pipeline/component.h"
#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/processor.h"
#include "strobed/pipeline/receiver.h"

namespace strobed::pipeline {

template <typename T>
using Factory = std::function<strobe::Result<std::unique_ptr<T>>(const ComponentContext&)>;

struct ReceiverPlugin {
  std::string type;
  std::string description;
  uint8_t signals = event::kSignalAll;  // which kinds it produces
  std::vector<OptionSpec> options;
  Factory<Receiver> create;
};

struct ProcessorPlugin {
  std::string type;
  std::string description;
  uint8_t signals = event::kSignalAll;  // which kinds it acts on (others pass through)
  std::vector<OptionSpec> options;
  Factory<Processor> create;
};

struct ExporterPlugin {
  std::string type;
  std::string description;
  uint8_t signals = event::kSignalAll;  // which kinds it accepts
  std::vector<OptionSpec> options;
  Factory<Exporter> create;
};

class PluginRegistry {
 public:
  // Adding a type twice is an error (ALREADY_EXISTS); so is an option table entry that fails
  // base::ValidateSpec (INVALID_ARGUMENT: a bound or default that does not parse).
  strobe::Status AddReceiver(ReceiverPlugin plugin);
  strobe::Status AddProcessor(ProcessorPlugin plugin);
  strobe::Status AddExporter(ExporterPlugin plugin);

  const ReceiverPlugin* FindReceiver(std::string_view type) const;
  const ProcessorPlugin* FindProcessor(std::string_view type) const;
  const ExporterPlugin* FindExporter(std::string_view type) const;

  std::vector<std::string> ReceiverTypes() const;
  std::vector<std::string> ProcessorTypes() const;
  std::vector<std::string> ExporterTypes() const;

  // Markdown reference of every plugin and its options, bounds included (docs and
  // --help-plugins).
  std::string Describe() const;

 private:
  std::map<std::string, ReceiverPlugin, std::less<>> receivers_;
  std::map<std::string, ProcessorPlugin, std::less<>> processors_;
  std::map<std::string, ExporterPlugin, std::less<>> exporters_;
};

}  // namespace strobed::pipeline
