#include "strobed/pipeline/config.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "strobed/pipeline/memory_limiter.h"

namespace strobed::pipeline {

namespace {

constexpr std::string_view kMemoryLimiter = "memory_limiter";
constexpr std::string_view kForward = "forward";

std::string At(std::string_view file, const YAML::Node& node) {
  std::string out(file);
  if (node.IsDefined() && node.Mark().line >= 0) {
    out += ":" + std::to_string(node.Mark().line + 1);
  }
  return out;
}

int LineOf(const YAML::Node& node) { return node.Mark().line + 1; }

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

const std::vector<OptionSpec>& QueueSpecs() {
  static const auto* specs = new std::vector<OptionSpec>{
      {"policy",
       OptionType::kString,
       "block",
       "back-pressure policy",
       {.choices = {"block", "drop_newest", "drop_oldest", "sample"}}},
      {"max_batches",
       OptionType::kInt,
       "1024",
       "queue slots (rounded up to a power of two)",
       {.min = "2", .max = "16777216"}},
      {"max_events", OptionType::kInt, "1000000", "events queued at most", {.min = "1"}},
      {"max_bytes", OptionType::kBytes, "256MiB", "memory of queued batches at most", {.min = "1"}},
      {"block_timeout", OptionType::kDuration, "5s",
       "block policy: how long a push waits for space before it is refused"},
      {"single_producer", OptionType::kBool, "false",
       "exactly one receiver thread pushes: use the cheaper SPSC ring"},
      {"sample_start_fill",
       OptionType::kDouble,
       "0.5",
       "sample policy: queue fill fraction where shedding starts",
       {.min = "0", .max = "1", .max_exclusive = true}},
      {"sample_min_rate",
       OptionType::kDouble,
       "0.01",
       "sample policy: keep probability when the queue is full",
       {.min = "0", .max = "1", .min_exclusive = true}},
  };
  return *specs;
}

const std::vector<OptionSpec>& RetrySpecs() {
  static const auto* specs = new std::vector<OptionSpec>{
      {"max_attempts",
       OptionType::kInt,
       "10",
       "export calls per event and exporter, including the first",
       {.min = "1", .max = "1000"}},
      {"initial_backoff",
       OptionType::kDuration,
       "100ms",
       "wait before the first retry (doubles per retry, with jitter)",
       {.min = "1ms"}},
      {"max_backoff", OptionType::kDuration, "10s", "cap of the doubling backoff", {.min = "1ms"}},
      {"max_retry_after",
       OptionType::kDuration,
       "5m",
       "cap on a backend's requested delay (Retry-After)",
       {.min = "0ms"}},
      {"max_parked_events",
       OptionType::kInt,
       "1000000",
       "events waiting for a retry, across the pipeline's exporters",
       {.min = "0"}},
      {"max_parked_bytes", OptionType::kBytes, "64MiB", "memory of events waiting for a retry"},
  };
  return *specs;
}

strobe::Result<QueueOptions> QueueFrom(const Options& o) {
  QueueOptions q;
  auto policy = ParseBackPressurePolicy(o.GetString("policy"));
  if (!policy.ok()) return policy.status().WithContext(o.Where("policy"));
  q.policy = *policy;
  // Ranges are checked by Options::Parse against the bounds in QueueSpecs().
  q.max_batches = static_cast<std::size_t>(o.GetInt("max_batches"));
  q.max_events = static_cast<std::size_t>(o.GetInt("max_events"));
  q.max_bytes = static_cast<std::size_t>(o.GetBytes("max_bytes"));
  q.block_timeout = o.GetDuration("block_timeout");
  q.single_producer = o.GetBool("single_producer");
  q.sample_start_fill = o.GetDouble("sample_start_fill");
  q.sample_min_rate = o.GetDouble("sample_min_rate");
  return q;
}

strobe::Result<RetryOptions> RetryFrom(const Options& o) {
  RetryOptions r;
  // Ranges are checked by Options::Parse against the bounds in RetrySpecs().
  r.max_attempts = static_cast<int>(o.GetInt("max_attempts"));
  r.initial_backoff = o.GetDuration("initial_backoff");
  r.max_backoff = o.GetDuration("max_backoff");
  r.max_retry_after = o.GetDuration("max_retry_after");
  r.max_parked_events = static_cast<std::size_t>(o.GetInt("max_parked_events"));
  r.max_parked_bytes = static_cast<std::size_t>(o.GetBytes("max_parked_bytes"));
  return r;
}

const std::vector<OptionSpec>* SpecFor(ComponentKind kind, const std::string& type,
                                       const PluginRegistry& registry) {
  static const std::vector<OptionSpec>* limiter = new std::vector<OptionSpec>(
      MemoryLimiterOptionSpecs().begin(), MemoryLimiterOptionSpecs().end());
  static const std::vector<OptionSpec>* none = new std::vector<OptionSpec>();
  switch (kind) {
    case ComponentKind::kReceiver:
      if (auto* p = registry.FindReceiver(type)) return &p->options;
      return nullptr;
    case ComponentKind::kProcessor:
      if (type == kMemoryLimiter) return limiter;
      if (auto* p = registry.FindProcessor(type)) return &p->options;
      return nullptr;
    case ComponentKind::kExporter:
      if (auto* p = registry.FindExporter(type)) return &p->options;
      return nullptr;
    case ComponentKind::kConnector:
      if (type == kForward) return none;
      return nullptr;
  }
  return nullptr;
}

std::vector<std::string> KnownTypes(ComponentKind kind, const PluginRegistry& registry) {
  switch (kind) {
    case ComponentKind::kReceiver:
      return registry.ReceiverTypes();
    case ComponentKind::kProcessor: {
      auto t = registry.ProcessorTypes();
      t.emplace_back(kMemoryLimiter);
      std::sort(t.begin(), t.end());
      return t;
    }
    case ComponentKind::kExporter:
      return registry.ExporterTypes();
    case ComponentKind::kConnector:
      return {std::string(kForward)};
  }
  return {};
}

strobe::Status ParseSection(const YAML::Node& root, const char* key, ComponentKind kind,
                            std::string_view file, const PluginRegistry& registry,
                            PipelineConfig& out) {
  YAML::Node section = root[key];
  if (!section.IsDefined() || section.IsNull()) return strobe::OkStatus();
  if (!section.IsMap()) {
    return strobe::InvalidArgument(At(file, section) + ": '" + key + "' must be a map of " +
                                   std::string(ComponentKindName(kind)) + "s");
  }
  for (const auto& kv : section) {
    std::string text = kv.first.Scalar();
    auto id = ComponentId::Parse(text);
    if (!id.ok()) return id.status().WithContext(At(file, kv.first));
    const std::vector<OptionSpec>* spec = SpecFor(kind, id->type, registry);
    if (spec == nullptr) {
      return strobe::InvalidArgument(At(file, kv.first) + ": unknown " +
                                     std::string(ComponentKindName(kind)) + " type '" + id->type +
                                     "' (known: " + Join(KnownTypes(kind, registry)) + ")");
    }
    auto options = Options::Parse(kv.second, *spec, file, std::string(key) + "." + text);
    if (!options.ok()) return options.status();
    out.components.push_back(
        ComponentConfig{kind, std::move(id).value(), std::move(options).value(), LineOf(kv.first)});
  }
  return strobe::OkStatus();
}

strobe::Result<std::vector<ComponentId>> IdList(const YAML::Node& node, std::string_view file,
                                                const std::string& what) {
  std::vector<ComponentId> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsSequence()) {
    return strobe::InvalidArgument(At(file, node) + ": " + what + " must be a list");
  }
  for (const auto& item : node) {
    if (!item.IsScalar()) {
      return strobe::InvalidArgument(At(file, item) + ": " + what + " entries must be ids");
    }
    auto id = ComponentId::Parse(item.Scalar());
    if (!id.ok()) return id.status().WithContext(At(file, item));
    if (std::find(out.begin(), out.end(), *id) != out.end()) {
      return strobe::InvalidArgument(At(file, item) + ": " + what + " lists '" + item.Scalar() +
                                     "' twice");
    }
    out.push_back(std::move(id).value());
  }
  return out;
}

uint8_t SignalsOf(const std::string& pipeline_name) {
  std::string type = pipeline_name.substr(0, pipeline_name.find('/'));
  if (type == "traces") return event::kSignalTraces;
  if (type == "metrics") return event::kSignalMetrics;
  if (type == "logs") return event::kSignalLogs;
  return event::kSignalAll;
}

}  // namespace

std::string_view ComponentKindName(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::kReceiver:
      return "receiver";
    case ComponentKind::kProcessor:
      return "processor";
    case ComponentKind::kExporter:
      return "exporter";
    case ComponentKind::kConnector:
      return "connector";
  }
  return "?";
}

const ComponentConfig* PipelineConfig::Find(ComponentKind kind, const ComponentId& id) const {
  for (const ComponentConfig& c : components) {
    if (c.kind == kind && c.id == id) return &c;
  }
  return nullptr;
}

strobe::Result<PipelineConfig> ParsePipelineConfig(const YAML::Node& root, std::string_view file,
                                                   const PluginRegistry& registry) {
  PipelineConfig cfg;
  cfg.file = std::string(file);
  if (!root.IsDefined() || root.IsNull()) return cfg;
  if (!root.IsMap()) {
    return strobe::InvalidArgument(At(file, root) + ": the configuration must be a map");
  }
  STROBE_RETURN_IF_ERROR(
      ParseSection(root, "receivers", ComponentKind::kReceiver, file, registry, cfg));
  STROBE_RETURN_IF_ERROR(
      ParseSection(root, "processors", ComponentKind::kProcessor, file, registry, cfg));
  STROBE_RETURN_IF_ERROR(
      ParseSection(root, "exporters", ComponentKind::kExporter, file, registry, cfg));
  STROBE_RETURN_IF_ERROR(
      ParseSection(root, "connectors", ComponentKind::kConnector, file, registry, cfg));

  YAML::Node pipelines;
  YAML::Node service = root["service"];
  if (service.IsDefined() && service.IsMap() && service["pipelines"].IsDefined()) {
    pipelines = service["pipelines"];
    if (root["pipelines"].IsDefined()) {
      return strobe::InvalidArgument(At(file, root["pipelines"]) +
                                     ": pipelines are declared both at the top level and under "
                                     "service:; keep one");
    }
  } else if (root["pipelines"].IsDefined()) {
    pipelines = root["pipelines"];
  }
  if (!pipelines.IsDefined() || pipelines.IsNull()) {
    if (!cfg.components.empty()) {
      // Components without pipelines are legal (OTel warns); nothing runs.
    }
    return cfg;
  }
  if (!pipelines.IsMap()) {
    return strobe::InvalidArgument(At(file, pipelines) +
                                   ": pipelines must be a map of name to "
                                   "{receivers, processors, exporters}");
  }

  static const std::set<std::string> kPipelineKeys = {"receivers", "processors", "exporters",
                                                      "queue", "retry"};
  std::vector<PipelineSpec> specs;
  std::map<std::string, std::vector<int>> connector_in;   // connector → pipelines exporting to it
  std::map<std::string, std::vector<int>> connector_out;  // connector → pipelines receiving it
  for (const auto& kv : pipelines) {
    PipelineSpec p;
    p.name = kv.first.Scalar();
    p.line = LineOf(kv.first);
    std::string where = "pipeline '" + p.name + "'";
    auto pid = ComponentId::Parse(p.name);
    if (!pid.ok()) return pid.status().WithContext(At(file, kv.first));
    p.signals = SignalsOf(p.name);
    const YAML::Node& body = kv.second;
    if (!body.IsMap()) {
      return strobe::InvalidArgument(At(file, kv.first) + ": " + where +
                                     " must be a map with receivers, processors and exporters");
    }
    for (const auto& field : body) {
      if (kPipelineKeys.count(field.first.Scalar()) == 0) {
        return strobe::InvalidArgument(At(file, field.first) + ": " + where + ": unknown key '" +
                                       field.first.Scalar() +
                                       "' (known: receivers, processors, exporters, queue, retry)");
      }
    }
    STROBE_ASSIGN_OR_RETURN(p.receivers, IdList(body["receivers"], file, where + " receivers"));
    STROBE_ASSIGN_OR_RETURN(p.processors, IdList(body["processors"], file, where + " processors"));
    STROBE_ASSIGN_OR_RETURN(p.exporters, IdList(body["exporters"], file, where + " exporters"));
    if (p.receivers.empty()) {
      return strobe::InvalidArgument(At(file, kv.first) + ": " + where + " has no receivers");
    }
    if (p.exporters.empty()) {
      return strobe::InvalidArgument(At(file, kv.first) + ": " + where + " has no exporters");
    }
    int index = static_cast<int>(specs.size());
    for (std::size_t i = 0; i < p.receivers.size(); ++i) {
      const ComponentId& id = p.receivers[i];
      if (cfg.Find(ComponentKind::kConnector, id) != nullptr) {
        connector_out[id.ToString()].push_back(index);
      } else if (cfg.Find(ComponentKind::kReceiver, id) == nullptr) {
        return strobe::InvalidArgument(At(file, body["receivers"][i]) + ": " + where +
                                       " uses receiver '" + id.ToString() +
                                       "' which is not defined under receivers: or connectors:");
      }
    }
    for (std::size_t i = 0; i < p.exporters.size(); ++i) {
      const ComponentId& id = p.exporters[i];
      if (cfg.Find(ComponentKind::kConnector, id) != nullptr) {
        connector_in[id.ToString()].push_back(index);
      } else if (cfg.Find(ComponentKind::kExporter, id) == nullptr) {
        return strobe::InvalidArgument(At(file, body["exporters"][i]) + ": " + where +
                                       " uses exporter '" + id.ToString() +
                                       "' which is not defined under exporters: or connectors:");
      }
    }
    std::vector<ComponentId> procs;
    for (std::size_t i = 0; i < p.processors.size(); ++i) {
      const ComponentId& id = p.processors[i];
      if (cfg.Find(ComponentKind::kProcessor, id) == nullptr) {
        return strobe::InvalidArgument(At(file, body["processors"][i]) + ": " + where +
                                       " uses processor '" + id.ToString() +
                                       "' which is not defined under processors:");
      }
      if (id.type == kMemoryLimiter) {
        if (i != 0) {
          return strobe::InvalidArgument(At(file, body["processors"][i]) + ": " + where +
                                         ": memory_limiter must be the first processor (it acts "
                                         "at the pipeline entry, before the queue)");
        }
        p.has_memory_limiter = true;
        p.memory_limiter = id;
        continue;
      }
      procs.push_back(id);
    }
    p.processors = std::move(procs);
    auto queue = Options::Parse(body["queue"], QueueSpecs(), file, where + " queue");
    if (!queue.ok()) return queue.status();
    STROBE_ASSIGN_OR_RETURN(p.queue, QueueFrom(*queue));
    auto retry = Options::Parse(body["retry"], RetrySpecs(), file, where + " retry");
    if (!retry.ok()) return retry.status();
    STROBE_ASSIGN_OR_RETURN(p.retry, RetryFrom(*retry));
    specs.push_back(std::move(p));
  }

  // Connectors must have both ends.
  for (const ComponentConfig& c : cfg.components) {
    if (c.kind != ComponentKind::kConnector) continue;
    std::string id = c.id.ToString();
    bool in = connector_in.count(id) != 0;
    bool out = connector_out.count(id) != 0;
    if (in != out) {
      return strobe::InvalidArgument(cfg.file + ":" + std::to_string(c.line) + ": connector '" +
                                     id + "' is used as " + (in ? "an exporter" : "a receiver") +
                                     " but no pipeline uses it as " +
                                     (in ? "a receiver" : "an exporter"));
    }
  }

  // Pipeline graph: edge a → b when a exports to a connector b receives from. Reject cycles
  // (data would loop forever) and order pipelines upstream first.
  std::size_t n = specs.size();
  std::vector<std::vector<std::pair<int, std::string>>> edges(n);
  for (const auto& [conn, froms] : connector_in) {
    for (int a : froms) {
      for (int b : connector_out[conn]) edges[static_cast<std::size_t>(a)].push_back({b, conn});
    }
  }
  std::vector<int> state(n, 0);  // 0 new, 1 on stack, 2 done
  std::vector<int> order;
  std::vector<int> stack;
  std::string cycle_error;
  std::function<bool(int)> visit = [&](int v) -> bool {
    state[static_cast<std::size_t>(v)] = 1;
    stack.push_back(v);
    for (const auto& [w, conn] : edges[static_cast<std::size_t>(v)]) {
      if (state[static_cast<std::size_t>(w)] == 1) {
        std::string path;
        auto it = std::find(stack.begin(), stack.end(), w);
        for (; it != stack.end(); ++it) path += specs[static_cast<std::size_t>(*it)].name + " -> ";
        path += specs[static_cast<std::size_t>(w)].name;
        cycle_error = cfg.file + ":" + std::to_string(specs[static_cast<std::size_t>(v)].line) +
                      ": pipelines form a cycle: " + path + " (closed by connector '" + conn + "')";
        return false;
      }
      if (state[static_cast<std::size_t>(w)] == 0 && !visit(w)) return false;
    }
    stack.pop_back();
    state[static_cast<std::size_t>(v)] = 2;
    order.push_back(v);
    return true;
  };
  for (std::size_t v = 0; v < n; ++v) {
    if (state[v] == 0 && !visit(static_cast<int>(v))) {
      return strobe::InvalidArgument(cycle_error);
    }
  }
  std::reverse(order.begin(), order.end());  // upstream first
  for (int v : order) cfg.pipelines.push_back(std::move(specs[static_cast<std::size_t>(v)]));
  return cfg;
}

strobe::Result<PipelineConfig> ParsePipelineConfigText(std::string_view yaml, std::string_view file,
                                                       const PluginRegistry& registry) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    return strobe::InvalidArgument(std::string(file) + ":" + std::to_string(e.mark.line + 1) +
                                   ": YAML syntax error: " + e.msg);
  }
  return ParsePipelineConfig(root, file, registry);
}

}  // namespace strobed::pipeline
