#include "strobed/pipeline/plugin_registry.h"

#include <utility>

namespace strobed::pipeline {

namespace {

template <typename Map, typename Plugin>
strobe::Status Add(Map& map, Plugin plugin, std::string_view kind) {
  auto id = ComponentId::Parse(plugin.type);
  if (!id.ok() || !id->name.empty()) {
    return strobe::InvalidArgument(std::string(kind) + " type '" + plugin.type + "' is invalid");
  }
  for (const OptionSpec& o : plugin.options) {
    // A bound or default that does not parse is the plugin's bug: refuse it at registration.
    if (strobe::Status s = base::ValidateSpec(o); !s.ok()) {
      return strobe::InvalidArgument(std::string(kind) + " '" + plugin.type + "': " + s.message());
    }
  }
  if (map.count(plugin.type) != 0) {
    return strobe::AlreadyExists(std::string(kind) + " type '" + plugin.type +
                                 "' registered twice");
  }
  std::string key = plugin.type;
  map.emplace(std::move(key), std::move(plugin));
  return strobe::OkStatus();
}

template <typename Map>
auto Find(const Map& map, std::string_view type) -> decltype(&map.begin()->second) {
  auto it = map.find(type);
  return it == map.end() ? nullptr : &it->second;
}

template <typename Map>
std::vector<std::string> Keys(const Map& map) {
  std::vector<std::string> out;
  for (const auto& kv : map) out.push_back(kv.first);
  return out;
}

std::string Signals(uint8_t s) {
  std::string out;
  if ((s & event::kSignalTraces) != 0) out += "traces ";
  if ((s & event::kSignalMetrics) != 0) out += "metrics ";
  if ((s & event::kSignalLogs) != 0) out += "logs ";
  if (!out.empty()) out.pop_back();
  return out;
}

template <typename Plugin>
void DescribeOne(std::string& out, const Plugin& p) {
  out += "### `" + p.type + "`\n\n" + p.description + "\n\nSignals: " + Signals(p.signals) + "\n\n";
  if (p.options.empty()) {
    out += "No options.\n\n";
    return;
  }
  out += "| option | type | default | allowed | description |\n| --- | --- | --- | --- | --- |\n";
  for (const OptionSpec& o : p.options) {
    const std::string bounds = base::BoundsText(o);
    out += "| `" + o.key + "` | " + std::string(OptionTypeName(o.type)) + " | " +
           (o.default_value.empty() ? "" : "`" + o.default_value + "`") + " | " +
           (bounds.empty() ? "" : "`" + bounds + "`") + " | " + o.description + " |\n";
  }
  out += "\n";
}

}  // namespace

strobe::Status PluginRegistry::AddReceiver(ReceiverPlugin plugin) {
  return Add(receivers_, std::move(plugin), "receiver");
}
strobe::Status PluginRegistry::AddProcessor(ProcessorPlugin plugin) {
  return Add(processors_, std::move(plugin), "processor");
}
strobe::Status PluginRegistry::AddExporter(ExporterPlugin plugin) {
  return Add(exporters_, std::move(plugin), "exporter");
}

const ReceiverPlugin* PluginRegistry::FindReceiver(std::string_view type) const {
  return Find(receivers_, type);
}
const ProcessorPlugin* PluginRegistry::FindProcessor(std::string_view type) const {
  return Find(processors_, type);
}
const ExporterPlugin* PluginRegistry::FindExporter(std::string_view type) const {
  return Find(exporters_, type);
}

std::vector<std::string> PluginRegistry::ReceiverTypes() const { return Keys(receivers_); }
std::vector<std::string> PluginRegistry::ProcessorTypes() const { return Keys(processors_); }
std::vector<std::string> PluginRegistry::ExporterTypes() const { return Keys(exporters_); }

std::string PluginRegistry::Describe() const {
  std::string out = "## Receivers\n\n";
  for (const auto& kv : receivers_) DescribeOne(out, kv.second);
  out += "## Processors\n\n";
  for (const auto& kv : processors_) DescribeOne(out, kv.second);
  out += "## Exporters\n\n";
  for (const auto& kv : exporters_) DescribeOne(out, kv.second);
  return out;
}

}  // namespace strobed::pipeline
