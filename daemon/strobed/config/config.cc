#include "strobed/config/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <set>
#include <variant>

#include "strobed/config/defaults.h"

namespace strobed::config {
namespace {

constexpr std::string_view kLogLevels = "trace|debug|info|warn|error|off";

// The daemon's keys. Keep docs/configuration.md in step (config_test checks every key is
// documented there).
constexpr KeySpec K(std::string_view path, KeyKind kind, std::string_view env, bool reloadable,
                    bool secret, std::string_view description, std::string_view choices = "",
                    int64_t min = 0, int64_t max = 0) {
  return KeySpec{path, kind, env, reloadable, secret, description, choices, min, max};
}

constexpr KeySpec kKeys[] = {
    K("listen.http", KeyKind::kListen, "STROBE_HTTP", false, false,
      "HTTP API, dashboard and /metrics listener (HOST:PORT, :0 for a free port, or off)"),
    K("listen.otlp_http", KeyKind::kListen, "STROBE_OTLP_HTTP", false, false,
      "OTLP/HTTP receiver listener"),
    K("listen.otlp_grpc", KeyKind::kListen, "STROBE_OTLP_GRPC", false, false,
      "OTLP/gRPC receiver listener"),
    K("listen.wire", KeyKind::kListen, "STROBE_WIRE", false, false,
      "strobe wire protocol (TCP) listener"),
    K("shm.name", KeyKind::kString, "STROBE_SHM", false, false,
      "shared-memory ring name (segments <shm.dir>/strobe-<name>-<pid>), or off"),
    K("shm.dir", KeyKind::kString, "STROBE_SHM_DIR", false, false,
      "directory of the shared-memory segments (a tmpfs)"),
    K("shm.snapshot_interval", KeyKind::kDuration, "STROBE_SHM_SNAPSHOT_INTERVAL", false, false,
      "how often the read-only results snapshot <shm.dir>/strobe-<name>.snapshot is "
      "rewritten (0: no snapshot)"),
    K("data_dir", KeyKind::kString, "STROBE_DATA_DIR", false, false,
      "directory for durable queues and state"),
    K("log.level", KeyKind::kEnum, "STROBE_LOG_LEVEL", true, false, "log verbosity", kLogLevels),
    K("auth.token", KeyKind::kString, "STROBE_TOKEN", true, true,
      "bearer token required on every HTTP endpoint except /healthz (empty: no auth)"),
    K("shutdown.grace_period", KeyKind::kDuration, "STROBE_SHUTDOWN_GRACE_PERIOD", true, false,
      "how long SIGTERM/SIGINT waits for in-flight work to drain before exiting"),
    K("server.threads", KeyKind::kInt, "STROBE_SERVER_THREADS", false, false,
      "I/O threads of the HTTP API server", "", 1, 64),
    K("server.max_body_bytes", KeyKind::kBytes, "STROBE_SERVER_MAX_BODY_BYTES", false, false,
      "largest request body of the API routes that set no limit of their own (413 above)"),
    K("server.max_header_bytes", KeyKind::kBytes, "STROBE_SERVER_MAX_HEADER_BYTES", false, false,
      "largest request head (request line + headers; 431 above)"),
    K("server.read_header_timeout", KeyKind::kDuration, "STROBE_SERVER_READ_HEADER_TIMEOUT", false,
      false, "a request head must arrive completely within this (slowloris defence; > 0)"),
    K("server.body_timeout", KeyKind::kDuration, "STROBE_SERVER_BODY_TIMEOUT", false, false,
      "a request body must arrive within this (> 0)"),
    K("server.idle_timeout", KeyKind::kDuration, "STROBE_SERVER_IDLE_TIMEOUT", false, false,
      "idle keep-alive connections are closed after this (> 0)"),
    K("server.write_timeout", KeyKind::kDuration, "STROBE_SERVER_WRITE_TIMEOUT", false, false,
      "a response must be written within this (> 0)"),
    K("server.max_connections", KeyKind::kInt, "STROBE_SERVER_MAX_CONNECTIONS", false, false,
      "open connections at most; when full, the connection waiting longest for a request head is "
      "evicted (counted)",
      "", 1, 1'000'000),
    K("server.reserved_connections", KeyKind::kInt, "STROBE_SERVER_RESERVED_CONNECTIONS", false,
      false,
      "of max_connections, kept for /healthz, /readyz and /metrics when the rest are busy "
      "(less than max_connections)",
      "", 0, 1'000'000),
    K("server.max_connections_per_client", KeyKind::kInt,
      "STROBE_SERVER_MAX_CONNECTIONS_PER_CLIENT", false, false,
      "open connections of one client address at most (0: no limit)", "", 0, 1'000'000),
    K("host.enabled", KeyKind::kBool, "STROBE_HOST_ENABLED", false, false,
      "collect host and process metrics from /proc and /sys"),
    K("host.interval", KeyKind::kDuration, "STROBE_HOST_INTERVAL", true, false,
      "how often host and process metrics are read"),
    K("host.proc_root", KeyKind::kString, "STROBE_HOST_PROC_ROOT", false, false,
      "procfs mount point (a container may mount the host's elsewhere)"),
    K("host.sys_root", KeyKind::kString, "STROBE_HOST_SYS_ROOT", false, false, "sysfs mount point"),
    K("demo.enabled", KeyKind::kBool, "STROBE_DEMO", false, false,
      "run the built-in synthetic workload (strobe serve --demo)"),
    K("demo.rate", KeyKind::kDouble, "STROBE_DEMO_RATE", true, false,
      "synthetic requests per second across all demo services"),
    K("demo.seed", KeyKind::kInt, "STROBE_DEMO_SEED", false, false,
      "random seed of the demo workload", "", 0, std::numeric_limits<int64_t>::max()),
    K("demo.extra_series", KeyKind::kInt, "STROBE_DEMO_EXTRA_SERIES", false, false,
      "load testing: the demo adds this many counter series (demo_load_series_total)", "", 0,
      1'000'000),
};

// Sections owned by other modules, kept raw (Config::Section). The pipeline reads
// receivers/processors/exporters/connectors/pipelines/service, the stream component
// stream/alerts.
constexpr std::string_view kModuleSections[] = {"receivers",  "processors", "exporters",
                                                "connectors", "pipelines",  "service",
                                                "stream",     "alerts"};

using FieldPtr = std::variant<std::string*, bool*, int*, uint32_t*, uint64_t*, double*,
                              std::chrono::milliseconds*, ListenAddress*>;

FieldPtr Field(Config& c, std::string_view path) {
  if (path == "listen.http") return &c.http;
  if (path == "listen.otlp_http") return &c.otlp_http;
  if (path == "listen.otlp_grpc") return &c.otlp_grpc;
  if (path == "listen.wire") return &c.wire;
  if (path == "shm.name") return &c.shm_name;
  if (path == "shm.dir") return &c.shm_dir;
  if (path == "shm.snapshot_interval") return &c.shm_snapshot_interval;
  if (path == "data_dir") return &c.data_dir;
  if (path == "log.level") return &c.log_level;
  if (path == "auth.token") return &c.auth_token;
  if (path == "shutdown.grace_period") return &c.grace_period;
  if (path == "server.threads") return &c.server.threads;
  if (path == "server.max_body_bytes") return &c.server.max_body_bytes;
  if (path == "server.max_header_bytes") return &c.server.max_header_bytes;
  if (path == "server.read_header_timeout") return &c.server.read_header_timeout;
  if (path == "server.body_timeout") return &c.server.body_timeout;
  if (path == "server.idle_timeout") return &c.server.idle_timeout;
  if (path == "server.write_timeout") return &c.server.write_timeout;
  if (path == "server.max_connections") return &c.server.max_connections;
  if (path == "server.reserved_connections") return &c.server.reserved_connections;
  if (path == "server.max_connections_per_client") return &c.server.max_connections_per_client;
  if (path == "host.enabled") return &c.host.enabled;
  if (path == "host.interval") return &c.host.interval;
  if (path == "host.proc_root") return &c.host.proc_root;
  if (path == "host.sys_root") return &c.host.sys_root;
  if (path == "demo.enabled") return &c.demo.enabled;
  if (path == "demo.rate") return &c.demo.rate;
  if (path == "demo.seed") return &c.demo.seed;
  if (path == "demo.extra_series") return &c.demo.extra_series;
  std::abort();  // every kKeys entry is mapped above (config_test covers all keys)
}

const KeySpec* FindKey(std::string_view path) {
  for (const auto& k : kKeys) {
    if (k.path == path) return &k;
  }
  return nullptr;
}

// True when some key lives under `prefix.`.
bool IsGroup(std::string_view prefix) {
  for (const auto& k : kKeys) {
    if (k.path.size() > prefix.size() && k.path.substr(0, prefix.size()) == prefix &&
        k.path[prefix.size()] == '.') {
      return true;
    }
  }
  return false;
}

std::string KnownUnder(std::string_view prefix) {
  std::set<std::string> names;
  for (const auto& k : kKeys) {
    std::string_view rest = k.path;
    if (!prefix.empty()) {
      if (rest.size() <= prefix.size() || rest.substr(0, prefix.size()) != prefix ||
          rest[prefix.size()] != '.') {
        continue;
      }
      rest = rest.substr(prefix.size() + 1);
    }
    names.insert(std::string(rest.substr(0, rest.find('.'))));
  }
  if (prefix.empty()) {
    for (auto s : kModuleSections) names.insert(std::string(s));
  }
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

strobe::Result<int64_t> ParseInt(std::string_view text) {
  std::string t = Trim(text);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size() || t.empty()) {
    return strobe::InvalidArgument("'" + t + "' is not an integer");
  }
  return v;
}

strobe::Result<double> ParseDouble(std::string_view text) {
  std::string t = Trim(text);
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v)) {
    return strobe::InvalidArgument("'" + t + "' is not a number");
  }
  return v;
}

strobe::Result<bool> ParseBool(std::string_view text) {
  std::string t = Lower(Trim(text));
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  return strobe::InvalidArgument("'" + t + "' is not a boolean (true/false)");
}

// Parses `text` for `key` and stores it into `config`.
strobe::Status SetValue(Config& config, const KeySpec& key, std::string_view text) {
  FieldPtr field = Field(config, key.path);
  switch (key.kind) {
    case KeyKind::kString:
      *std::get<std::string*>(field) = std::string(text);
      return strobe::OkStatus();
    case KeyKind::kEnum: {
      std::string v = Lower(Trim(text));
      std::string_view choices = key.choices;
      while (!choices.empty()) {
        size_t bar = choices.find('|');
        if (choices.substr(0, bar) == v) {
          *std::get<std::string*>(field) = v;
          return strobe::OkStatus();
        }
        choices = bar == std::string_view::npos ? std::string_view() : choices.substr(bar + 1);
      }
      return strobe::InvalidArgument("'" + v + "' is not one of " + std::string(key.choices));
    }
    case KeyKind::kBool: {
      STROBE_ASSIGN_OR_RETURN(bool v, ParseBool(text));
      *std::get<bool*>(field) = v;
      return strobe::OkStatus();
    }
    case KeyKind::kInt: {
      STROBE_ASSIGN_OR_RETURN(int64_t v, ParseInt(text));
      if (v < key.min || v > key.max) {
        return strobe::InvalidArgument(std::to_string(v) + " is out of range [" +
                                       std::to_string(key.min) + ", " + std::to_string(key.max) +
                                       "]");
      }
      if (auto* p = std::get_if<int*>(&field)) {
        **p = static_cast<int>(v);
      } else if (auto* u = std::get_if<uint32_t*>(&field)) {
        **u = static_cast<uint32_t>(v);
      } else {
        *std::get<uint64_t*>(field) = static_cast<uint64_t>(v);
      }
      return strobe::OkStatus();
    }
    case KeyKind::kDouble: {
      STROBE_ASSIGN_OR_RETURN(double v, ParseDouble(text));
      if (v < 0) return strobe::InvalidArgument("must not be negative");
      *std::get<double*>(field) = v;
      return strobe::OkStatus();
    }
    case KeyKind::kDuration: {
      STROBE_ASSIGN_OR_RETURN(auto v, ParseDuration(text));
      // The HTTP server's timeouts: zero would cut off every request (issue 14). A plain check
      // until the key table carries typed bounds.
      if (v.count() <= 0 && key.path.starts_with("server.") && key.path.ends_with("_timeout")) {
        return strobe::InvalidArgument("'" + std::string(text) +
                                       "' must be greater than 0 (a zero timeout would cut off "
                                       "every request)");
      }
      *std::get<std::chrono::milliseconds*>(field) = v;
      return strobe::OkStatus();
    }
    case KeyKind::kBytes: {
      STROBE_ASSIGN_OR_RETURN(uint64_t v, ParseBytes(text));
      if (v == 0) return strobe::InvalidArgument("must be greater than 0");
      *std::get<uint64_t*>(field) = v;
      return strobe::OkStatus();
    }
    case KeyKind::kListen: {
      STROBE_ASSIGN_OR_RETURN(ListenAddress v, ListenAddress::Parse(text));
      *std::get<ListenAddress*>(field) = v;
      return strobe::OkStatus();
    }
  }
  return strobe::Internal("unhandled key kind");
}

std::string Where(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return file;
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

strobe::Status WalkMap(Config& config, const YAML::Node& node, const std::string& prefix,
                       const std::string& file) {
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const YAML::Node& k = kv.first;
    const YAML::Node& v = kv.second;
    if (!k.IsScalar()) {
      return strobe::InvalidArgument(Where(file, k.Mark()) + ": keys must be plain names");
    }
    std::string name = k.Scalar();
    std::string path = prefix.empty() ? name : prefix + "." + name;
    if (!seen.insert(name).second) {
      return strobe::InvalidArgument(Where(file, k.Mark()) + ": duplicate key '" + path + "'");
    }
    if (prefix.empty()) {
      auto module = std::find(std::begin(kModuleSections), std::end(kModuleSections), name);
      if (module != std::end(kModuleSections)) {
        config.sections[name] = RawSection{v, file};  // shares the parsed document: marks kept
        continue;
      }
    }
    if (const KeySpec* key = FindKey(path)) {
      if (!v.IsScalar() && !v.IsNull()) {
        return strobe::InvalidArgument(Where(file, v.Mark()) + ": '" + path +
                                       "' must be a single value, not a list or map");
      }
      std::string text = v.IsNull() ? "" : v.Scalar();
      if (v.IsNull() && key->kind != KeyKind::kString) {
        return strobe::InvalidArgument(Where(file, v.Mark()) + ": '" + path + "' has no value");
      }
      if (strobe::Status s = SetValue(config, *key, text); !s.ok()) {
        return strobe::InvalidArgument(Where(file, v.Mark()) + ": " + path + ": " + s.message());
      }
      continue;
    }
    if (IsGroup(path)) {
      if (v.IsNull()) continue;  // "host:" with nothing under it
      if (!v.IsMap()) {
        return strobe::InvalidArgument(Where(file, v.Mark()) + ": '" + path +
                                       "' must be a map of keys (" + KnownUnder(path) + ")");
      }
      STROBE_RETURN_IF_ERROR(WalkMap(config, v, path, file));
      continue;
    }
    return strobe::InvalidArgument(Where(file, k.Mark()) + ": unknown key '" + path + "' (known" +
                                   (prefix.empty() ? "" : " in " + prefix) + ": " +
                                   KnownUnder(prefix) + ")");
  }
  return strobe::OkStatus();
}

strobe::Status LoadFile(Config& config, const std::string& file,
                        const std::optional<std::string>& text) {
  std::error_code ec;
  if (!text && !std::filesystem::exists(file, ec)) {
    return strobe::NotFound(file + ": configuration file not found");
  }
  YAML::Node root;
  try {
    root = text ? YAML::Load(*text) : YAML::LoadFile(file);
  } catch (const YAML::ParserException& e) {
    return strobe::InvalidArgument(Where(file, e.mark) + ": invalid YAML: " + e.msg);
  } catch (const YAML::BadFile& e) {
    return strobe::InvalidArgument(file + ": cannot read: " + e.what());
  } catch (const YAML::Exception& e) {
    return strobe::InvalidArgument(Where(file, e.mark) + ": " + e.msg);
  }
  config.file = file;
  if (!root.IsDefined() || root.IsNull()) return strobe::OkStatus();  // empty file
  if (!root.IsMap()) {
    return strobe::InvalidArgument(Where(file, root.Mark()) +
                                   ": the configuration must be a map of sections (" +
                                   KnownUnder("") + ")");
  }
  try {
    return WalkMap(config, root, "", file);
  } catch (const YAML::Exception& e) {
    return strobe::InvalidArgument(Where(file, e.mark) + ": " + e.msg);
  }
}

void EmitValue(YAML::Emitter& out, const Config& c, const KeySpec& key) {
  std::string text = ValueText(c, key);
  if (key.secret && !text.empty()) text = "<redacted>";
  out << text;
}

}  // namespace

std::string ListenAddress::ToString() const {
  if (!enabled) return "off";
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

strobe::Result<ListenAddress> ListenAddress::Parse(std::string_view text) {
  std::string t = Trim(text);
  ListenAddress a;
  if (Lower(t) == "off") {
    a.enabled = false;
    a.host.clear();
    return a;
  }
  std::string host;
  std::string port;
  if (!t.empty() && t[0] == '[') {
    size_t close = t.find(']');
    if (close == std::string::npos || close + 1 >= t.size() || t[close + 1] != ':') {
      return strobe::InvalidArgument("'" + t + "' is not HOST:PORT ([v6]:port, :PORT or off)");
    }
    host = t.substr(1, close - 1);
    port = t.substr(close + 2);
  } else {
    size_t colon = t.rfind(':');
    if (colon == std::string::npos) {
      return strobe::InvalidArgument("'" + t + "' is not HOST:PORT (:PORT or off)");
    }
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return strobe::InvalidArgument("'" + t + "': write IPv6 hosts in brackets, [::1]:9800");
    }
  }
  if (host.empty()) host = "127.0.0.1";
  auto p = ParseInt(port);
  if (!p.ok() || *p < 0 || *p > 65535) {
    return strobe::InvalidArgument("'" + t + "': port must be 0..65535");
  }
  a.host = host;
  a.port = static_cast<uint16_t>(*p);
  return a;
}

const RawSection& Config::Section(std::string_view name) const {
  static const RawSection kEmpty;
  auto it = sections.find(name);
  return it == sections.end() ? kEmpty : it->second;
}

std::span<const KeySpec> KeySpecs() { return kKeys; }
std::span<const std::string_view> ModuleSections() { return kModuleSections; }

strobe::Result<Config> Load(const LoadOptions& options) {
  Config config;
  if (!options.file.empty() || options.text) {
    STROBE_RETURN_IF_ERROR(
        LoadFile(config, options.file.empty() ? "<config>" : options.file, options.text));
  }
  auto env = options.env;
  if (!env) {
    env = [](std::string_view name) -> std::optional<std::string> {
      const char* v = std::getenv(std::string(name).c_str());
      if (v == nullptr) return std::nullopt;
      return std::string(v);
    };
  }
  for (const auto& key : kKeys) {
    std::optional<std::string> v = env(key.env);
    if (!v) continue;
    if (strobe::Status s = SetValue(config, key, *v); !s.ok()) {
      return strobe::InvalidArgument("environment " + std::string(key.env) + ": " + s.message());
    }
  }
  for (const auto& o : options.overrides) {
    std::string source = o.flag.empty() ? "--set " + o.key + "=" + o.value : o.flag;
    const KeySpec* key = FindKey(o.key);
    if (key == nullptr) {
      return strobe::InvalidArgument("flag " + source + ": unknown key '" + o.key + "'");
    }
    if (strobe::Status s = SetValue(config, *key, o.value); !s.ok()) {
      return strobe::InvalidArgument("flag " + source + ": " + s.message());
    }
  }
  if (config.server.reserved_connections >= config.server.max_connections) {
    return strobe::InvalidArgument("server.reserved_connections (" +
                                   std::to_string(config.server.reserved_connections) +
                                   ") must be less than server.max_connections (" +
                                   std::to_string(config.server.max_connections) + ")");
  }
  if (options.builtin.enabled)
    STROBE_RETURN_IF_ERROR(ApplyBuiltinSections(config, options.builtin));
  return config;
}

std::string ValueText(const Config& config, const KeySpec& key) {
  FieldPtr field = Field(const_cast<Config&>(config), key.path);  // read only
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return *p;
        } else if constexpr (std::is_same_v<T, bool>) {
          return *p ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          char buf[32];
          auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), *p);
          return ec == std::errc() ? std::string(buf, end) : "0";
        } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
          return DurationText(*p);
        } else if constexpr (std::is_same_v<T, ListenAddress>) {
          return p->ToString();
        } else {
          return std::to_string(*p);
        }
      },
      field);
}

namespace {
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
  for (const auto& k : kKeys) {
    std::string g(k.path.substr(0, k.path.find('.')));
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
    for (const auto& k : kKeys) {
      if (k.path.size() > g.size() && k.path.substr(0, g.size()) == g && k.path[g.size()] == '.') {
        out << YAML::Key << std::string(k.path.substr(g.size() + 1)) << YAML::Value;
        EmitValue(out, config, k);
      }
    }
    out << YAML::EndMap;
  }
  for (auto name : kModuleSections) {
    const RawSection& s = config.Section(name);
    if (s.present()) out << YAML::Key << std::string(name) << YAML::Value << Redacted(s.node);
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string Digest(const Config& config) {
  std::string text = Print(config);
  text += config.auth_token.empty() ? "auth:none" : "auth:set";
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
  for (const auto& k : kKeys) {
    if (!k.reloadable && ValueText(running, k) != ValueText(next, k)) {
      keys.emplace_back(k.path);
    }
  }
  for (auto name : kModuleSections) {
    const RawSection& a = running.Section(name);
    const RawSection& b = next.Section(name);
    YAML::Emitter ea;
    YAML::Emitter eb;
    if (a.present()) ea << a.node;
    if (b.present()) eb << b.node;
    if (std::string_view(ea.c_str()) != std::string_view(eb.c_str())) {
      keys.emplace_back(name);
    }
  }
  return keys;
}

strobe::Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  std::string t = Lower(Trim(text));
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  std::string number = t.substr(0, i);
  std::string unit = Trim(t.substr(i));
  auto v = ParseDouble(number);
  if (number.empty() || !v.ok()) {
    return strobe::InvalidArgument("'" + t + "' is not a duration (e.g. 500ms, 2s, 1m)");
  }
  double ms = 0;
  if (unit.empty() || unit == "ms") {
    ms = *v;
  } else if (unit == "us") {
    ms = *v / 1000;
  } else if (unit == "s") {
    ms = *v * 1000;
  } else if (unit == "m") {
    ms = *v * 60'000;
  } else if (unit == "h") {
    ms = *v * 3'600'000;
  } else {
    return strobe::InvalidArgument("'" + t + "': unknown duration unit '" + unit +
                                   "' (us, ms, s, m, h)");
  }
  if (ms > 1e12) return strobe::InvalidArgument("'" + t + "' is too long");
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
}

strobe::Result<uint64_t> ParseBytes(std::string_view text) {
  std::string t = Trim(text);
  size_t i = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
  if (i == 0) return strobe::InvalidArgument("'" + t + "' is not a size (e.g. 4096, 64KiB, 1MB)");
  auto n = ParseInt(t.substr(0, i));
  if (!n.ok() || *n < 0) return strobe::InvalidArgument("'" + t + "' is not a size");
  std::string unit = Lower(Trim(t.substr(i)));
  uint64_t mult = 1;
  if (unit.empty() || unit == "b") {
    mult = 1;
  } else if (unit == "kb") {
    mult = 1000;
  } else if (unit == "kib" || unit == "k") {
    mult = 1024;
  } else if (unit == "mb") {
    mult = 1000 * 1000;
  } else if (unit == "mib" || unit == "m") {
    mult = 1024 * 1024;
  } else if (unit == "gb") {
    mult = 1000ull * 1000 * 1000;
  } else if (unit == "gib" || unit == "g") {
    mult = 1024ull * 1024 * 1024;
  } else {
    return strobe::InvalidArgument("'" + t + "': unknown size unit '" + unit +
                                   "' (B, KB, KiB, MB, MiB, GB, GiB)");
  }
  auto value = static_cast<uint64_t>(*n);
  if (value > std::numeric_limits<uint64_t>::max() / mult) {
    return strobe::InvalidArgument("'" + t + "' is too large");
  }
  return value * mult;
}

std::string DurationText(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace strobed::config
