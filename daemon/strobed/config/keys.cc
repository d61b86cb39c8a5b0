#include "strobed/config/keys.h"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <set>
#include <variant>
#include <vector>

#include "strobed/base/parse.h"

namespace strobed::config {
namespace {

using base::OptionBounds;
using base::OptionType;

KeySpec K(std::string path, OptionType type, std::string env, bool reloadable, bool secret,
          std::string description, OptionBounds bounds = {}) {
  KeySpec k;
  k.option = base::OptionSpec{std::move(path), type, "", std::move(description), std::move(bounds)};
  k.env = std::move(env);
  k.reloadable = reloadable;
  k.secret = secret;
  return k;
}

KeySpec Listen(std::string path, std::string env, std::string description) {
  KeySpec k =
      K(std::move(path), OptionType::kString, std::move(env), false, false, std::move(description));
  k.listen = true;
  return k;
}

// The daemon's keys. Defaults live in the Config struct (config.h); the table says how a value
// is read and what it may be. Keep docs/configuration.md in step.
const std::vector<KeySpec>& Keys() {
  static const auto* keys = new std::vector<KeySpec>{
      Listen("listen.http", "STROBE_HTTP",
             "HTTP API and /metrics listener (HOST:PORT, :0 for a free port, or off)"),
      Listen("listen.otlp_http", "STROBE_OTLP_HTTP", "OTLP/HTTP receiver listener"),
      Listen("listen.otlp_grpc", "STROBE_OTLP_GRPC", "OTLP/gRPC receiver listener"),
      Listen("listen.wire", "STROBE_WIRE", "strobe wire protocol (TCP) listener"),
      K("shm.name", OptionType::kString, "STROBE_SHM", false, false,
        "shared-memory ring name (segments <shm.dir>/strobe-<name>-<pid>), or off"),
      K("shm.dir", OptionType::kString, "STROBE_SHM_DIR", false, false,
        "directory of the shared-memory segments (a tmpfs)"),
      K("shm.allowed_users", OptionType::kString, "STROBE_SHM_ALLOWED_USERS", false, false,
        "users (names or uids, comma-separated; * for anyone) whose shared-memory rings the "
        "daemon reads; empty, with shm.allowed_groups empty: the daemon's own user and group"),
      K("shm.allowed_groups", OptionType::kString, "STROBE_SHM_ALLOWED_GROUPS", false, false,
        "groups (names or gids, comma-separated) whose members' shared-memory rings the daemon "
        "reads"),
      K("shm.snapshot_interval", OptionType::kDuration, "STROBE_SHM_SNAPSHOT_INTERVAL", false,
        false,
        "how often the read-only results snapshot <shm.dir>/strobe-<name>.snapshot is "
        "rewritten (0: no snapshot)"),
      K("data_dir", OptionType::kString, "STROBE_DATA_DIR", false, false,
        "directory for durable queues and state"),
      K("log.level", OptionType::kString, "STROBE_LOG_LEVEL", true, false, "log verbosity",
        {.choices = {"trace", "debug", "info", "warn", "error", "off"}}),
      K("auth.token", OptionType::kString, "STROBE_TOKEN", true, true,
        "bearer token required on every HTTP listener (API and OTLP/HTTP receivers) except "
        "/healthz (empty: no auth); SIGHUP applies a change to every listener at once"),
      K("auth.token_file", OptionType::kString, "STROBE_TOKEN_FILE", true, false,
        "file holding the bearer token(s), one per line (instead of auth.token); mode 0600 or "
        "stricter, owned by the daemon's user or root; re-read on SIGHUP"),
      K("debug.pprof", OptionType::kString, "STROBE_DEBUG_PPROF", false, false,
        "the /debug/pprof endpoints (CPU profile of the daemon) on the API listener, behind "
        "auth.token: auto (only when listen.http is a loopback address), on, or off",
        {.choices = {"auto", "on", "off"}}),
      K("shutdown.grace_period", OptionType::kDuration, "STROBE_SHUTDOWN_GRACE_PERIOD", true, false,
        "how long SIGTERM/SIGINT waits for in-flight work to drain before exiting"),
      K("server.threads", OptionType::kInt, "STROBE_SERVER_THREADS", false, false,
        "I/O threads of the HTTP API server", {.min = "1", .max = "64"}),
      K("server.max_body_bytes", OptionType::kBytes, "STROBE_SERVER_MAX_BODY_BYTES", false, false,
        "largest request body of the API routes that set no limit of their own (413 above)",
        {.min = "1"}),
      K("server.max_header_bytes", OptionType::kBytes, "STROBE_SERVER_MAX_HEADER_BYTES", false,
        false, "largest request head (request line + headers; 431 above)", {.min = "1"}),
      K("server.read_header_timeout", OptionType::kDuration, "STROBE_SERVER_READ_HEADER_TIMEOUT",
        false, false, "a request head must arrive completely within this (slowloris defence)",
        {.min = "1ms"}),
      K("server.body_timeout", OptionType::kDuration, "STROBE_SERVER_BODY_TIMEOUT", false, false,
        "a request body must arrive within this", {.min = "1ms"}),
      K("server.idle_timeout", OptionType::kDuration, "STROBE_SERVER_IDLE_TIMEOUT", false, false,
        "idle keep-alive connections are closed after this", {.min = "1ms"}),
      K("server.write_timeout", OptionType::kDuration, "STROBE_SERVER_WRITE_TIMEOUT", false, false,
        "a response must be written within this", {.min = "1ms"}),
      K("server.max_connections", OptionType::kInt, "STROBE_SERVER_MAX_CONNECTIONS", false, false,
        "open connections at most; when full, the connection waiting longest for a request head "
        "is evicted (counted)",
        {.min = "1", .max = "1000000"}),
      K("server.reserved_connections", OptionType::kInt, "STROBE_SERVER_RESERVED_CONNECTIONS",
        false, false,
        "of max_connections, kept for /healthz, /readyz and /metrics when the rest are busy "
        "(less than max_connections)",
        {.min = "0", .max = "1000000"}),
      K("server.max_connections_per_client", OptionType::kInt,
        "STROBE_SERVER_MAX_CONNECTIONS_PER_CLIENT", false, false,
        "open connections of one client address at most (0: no limit)",
        {.min = "0", .max = "1000000"}),
      K("server.max_inflight_body_bytes", OptionType::kBytes,
        "STROBE_SERVER_MAX_INFLIGHT_BODY_BYTES", false, false,
        "request bodies being read by every HTTP listener (API and OTLP/HTTP receivers) and "
        "their decompressed output, in total; a body that would grow past it gets 503 with "
        "Retry-After (counted)",
        {.min = "64KiB"}),
      K("host.enabled", OptionType::kBool, "STROBE_HOST_ENABLED", false, false,
        "collect host and process metrics from /proc and /sys"),
      K("host.interval", OptionType::kDuration, "STROBE_HOST_INTERVAL", true, false,
        "how often host and process metrics are read"),
      K("host.proc_root", OptionType::kString, "STROBE_HOST_PROC_ROOT", false, false,
        "procfs mount point (a container may mount the host's elsewhere)"),
      K("host.sys_root", OptionType::kString, "STROBE_HOST_SYS_ROOT", false, false,
        "sysfs mount point"),
      K("host.network_filesystems", OptionType::kBool, "STROBE_HOST_NETWORK_FILESYSTEMS", false,
        false,
        "also report node_filesystem_* for network file systems (nfs, cifs, ceph, sshfs, ...); "
        "off by default because statvfs on them blocks while their server is unreachable"),
      K("key_table.sweep_interval", OptionType::kDuration, "STROBE_KEY_TABLE_SWEEP_INTERVAL", false,
        false,
        "how often the attribute key table reclaims keys of untrusted input nothing holds any "
        "more (0: only above key_table.high_water)"),
      K("key_table.high_water", OptionType::kDouble, "STROBE_KEY_TABLE_HIGH_WATER", false, false,
        "fraction of the key table's capacity above which it is swept every 100 ms (1: never by "
        "size)",
        {.min = "0", .max = "1"}),
      K("wal.sync", OptionType::kString, "STROBE_WAL_SYNC", false, false,
        "write-ahead-log durability: interval (an acknowledged batch survives a process crash; "
        "a power loss loses at most the last wal.sync_interval) or always (fdatasync before "
        "every acknowledgement: survives a power loss)",
        {.choices = {"interval", "always"}}),
      K("wal.sync_interval", OptionType::kDuration, "STROBE_WAL_SYNC_INTERVAL", false, false,
        "wal.sync interval: how often the write-ahead log is fdatasync'ed",
        {.min = "1ms", .max = "1m"}),
      K("wal.segment_bytes", OptionType::kBytes, "STROBE_WAL_SEGMENT_BYTES", false, false,
        "write-ahead-log segment size: a segment is closed (and synced) before it would grow "
        "past this",
        {.min = "64KiB", .max = "1GiB"}),
      K("demo.enabled", OptionType::kBool, "STROBE_DEMO", false, false,
        "run the built-in synthetic workload (strobe serve --demo)"),
      K("demo.rate", OptionType::kDouble, "STROBE_DEMO_RATE", true, false,
        "synthetic requests per second across all demo services", {.min = "0"}),
      K("demo.seed", OptionType::kInt, "STROBE_DEMO_SEED", false, false,
        "random seed of the demo workload", {.min = "0"}),
      K("demo.extra_series", OptionType::kInt, "STROBE_DEMO_EXTRA_SERIES", false, false,
        "load testing: the demo adds this many counter series (demo_load_series_total)",
        {.min = "0", .max = "1000000"}),
  };
  return *keys;
}

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
  if (path == "shm.allowed_users") return &c.shm_allowed_users;
  if (path == "shm.allowed_groups") return &c.shm_allowed_groups;
  if (path == "shm.snapshot_interval") return &c.shm_snapshot_interval;
  if (path == "data_dir") return &c.data_dir;
  if (path == "log.level") return &c.log_level;
  if (path == "auth.token") return &c.auth_token;
  if (path == "auth.token_file") return &c.auth_token_file;
  if (path == "shutdown.grace_period") return &c.grace_period;
  if (path == "debug.pprof") return &c.debug_pprof;
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
  if (path == "server.max_inflight_body_bytes") return &c.server.max_inflight_body_bytes;
  if (path == "host.enabled") return &c.host.enabled;
  if (path == "host.interval") return &c.host.interval;
  if (path == "host.proc_root") return &c.host.proc_root;
  if (path == "host.sys_root") return &c.host.sys_root;
  if (path == "host.network_filesystems") return &c.host.network_filesystems;
  if (path == "key_table.sweep_interval") return &c.key_table.sweep_interval;
  if (path == "key_table.high_water") return &c.key_table.high_water;
  if (path == "wal.sync") return &c.wal.sync;
  if (path == "wal.sync_interval") return &c.wal.sync_interval;
  if (path == "wal.segment_bytes") return &c.wal.segment_bytes;
  if (path == "demo.enabled") return &c.demo.enabled;
  if (path == "demo.rate") return &c.demo.rate;
  if (path == "demo.seed") return &c.demo.seed;
  if (path == "demo.extra_series") return &c.demo.extra_series;
  std::abort();  // every Keys() entry is mapped above (config_test covers all keys)
}

bool Under(std::string_view path, std::string_view prefix) {
  return path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix &&
         path[prefix.size()] == '.';
}

}  // namespace

std::span<const KeySpec> KeySpecs() { return Keys(); }
std::span<const std::string_view> ModuleSections() { return kModuleSections; }

bool ReloadableSection(std::string_view name) { return name == "alerts"; }

std::span<const std::string_view> RestartSubKeys(std::string_view section) {
  static constexpr std::string_view kAlerts[] = {"notifiers"};
  if (section == "alerts") return kAlerts;
  return {};
}

const KeySpec* FindKey(std::string_view path) {
  for (const KeySpec& k : Keys()) {
    if (k.path() == path) return &k;
  }
  return nullptr;
}

bool IsKeyGroup(std::string_view prefix) {
  for (const KeySpec& k : Keys()) {
    if (Under(k.path(), prefix)) return true;
  }
  return false;
}

std::string KnownKeysUnder(std::string_view prefix) {
  std::set<std::string> names;
  for (const KeySpec& k : Keys()) {
    std::string_view rest = k.path();
    if (!prefix.empty()) {
      if (!Under(rest, prefix)) continue;
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

strobe::Status SetValue(Config& config, const KeySpec& key, std::string_view text) {
  FieldPtr field = Field(config, key.path());
  if (key.listen) {
    STROBE_ASSIGN_OR_RETURN(ListenAddress v, ListenAddress::Parse(text));
    *std::get<ListenAddress*>(field) = v;
    return strobe::OkStatus();
  }
  STROBE_ASSIGN_OR_RETURN(base::OptionValue value, base::ParseOptionValue(key.option, text));
  switch (key.option.type) {
    case OptionType::kString:
      *std::get<std::string*>(field) = std::get<std::string>(value);
      break;
    case OptionType::kBool:
      *std::get<bool*>(field) = std::get<bool>(value);
      break;
    case OptionType::kInt: {
      // The bounds in the table keep the value inside the field's type.
      const int64_t v = std::get<int64_t>(value);
      if (auto* p = std::get_if<int*>(&field)) {
        **p = static_cast<int>(v);
      } else if (auto* u = std::get_if<uint32_t*>(&field)) {
        **u = static_cast<uint32_t>(v);
      } else {
        *std::get<uint64_t*>(field) = static_cast<uint64_t>(v);
      }
      break;
    }
    case OptionType::kDouble:
      *std::get<double*>(field) = std::get<double>(value);
      break;
    case OptionType::kDuration:
      // Daemon durations are whole milliseconds; finer values round to the nearest one.
      *std::get<std::chrono::milliseconds*>(field) =
          std::chrono::round<std::chrono::milliseconds>(std::get<std::chrono::nanoseconds>(value));
      break;
    case OptionType::kBytes:
      *std::get<uint64_t*>(field) = std::get<uint64_t>(value);
      break;
    case OptionType::kStringList:
    case OptionType::kNode:
      return strobe::Internal("key '" + key.path() + "' has a non-scalar type");
  }
  return strobe::OkStatus();
}

std::string ValueText(const Config& config, const KeySpec& key) {
  FieldPtr field = Field(const_cast<Config&>(config), key.path());  // read only
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
          return base::DurationText(*p);
        } else if constexpr (std::is_same_v<T, ListenAddress>) {
          return p->ToString();
        } else {
          return std::to_string(*p);
        }
      },
      field);
}

}  // namespace strobed::config
