// `strobe serve`: the telemetry daemon. Flags map onto configuration keys (docs/
// configuration.md); what runs is wired in daemon/strobed/service/serve.h, how it runs in the
// Daemon (daemon/strobed/daemon/daemon.h).
// Exit codes: 0 after a clean shutdown, 1 when the daemon cannot start (port in use, ...),
// 2 for an invalid configuration (including a module section such as `pipelines` that its
// component rejects at start) or usage.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "strobed/config/config.h"
#include "strobed/config/print.h"
#include "strobed/daemon/daemon.h"
#include "strobed/service/builtin_plugins.h"
#include "strobed/service/serve.h"

namespace strobe::cli {
namespace {

struct ServeFlags {
  std::string config;
  std::string http, otlp_http, otlp_grpc, wire, shm, data_dir, log_level, grace_period;
  std::vector<std::string> set;
  bool demo = false;
  bool print_config = false;
  bool help_plugins = false;
};

void SetUpLogging() {
  auto logger = spdlog::stderr_logger_mt("strobe");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
}

int RunServe(const ServeFlags& f) {
  if (f.help_plugins) {
    std::fputs(strobed::service::BuiltinPlugins().Describe().c_str(), stdout);
    return kExitOk;
  }
  strobed::config::LoadOptions load;
  load.file = f.config;
  if (load.file.empty()) {
    if (const char* env = std::getenv("STROBE_CONFIG"); env != nullptr) load.file = env;
  }
  auto add = [&](const std::string& value, const char* key, const char* flag) {
    if (!value.empty()) load.overrides.push_back({key, value, flag});
  };
  add(f.http, "listen.http", "--http");
  add(f.otlp_http, "listen.otlp_http", "--otlp-http");
  add(f.otlp_grpc, "listen.otlp_grpc", "--otlp-grpc");
  add(f.wire, "listen.wire", "--wire");
  add(f.shm, "shm.name", "--shm");
  add(f.data_dir, "data_dir", "--data-dir");
  add(f.log_level, "log.level", "--log-level");
  add(f.grace_period, "shutdown.grace_period", "--grace-period");
  if (f.demo) load.overrides.push_back({"demo.enabled", "true", "--demo"});
  for (const auto& kv : f.set) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "strobe: --set %s: expected KEY=VALUE\n", kv.c_str());
      return kExitUsage;
    }
    load.overrides.push_back({kv.substr(0, eq), kv.substr(eq + 1), ""});
  }
  // With no pipeline in the file, run the built-in one (config/defaults.h).
  const strobed::pipeline::PluginRegistry& plugins = strobed::service::BuiltinPlugins();
  load.builtin.enabled = true;
  load.builtin.shm_receiver = plugins.FindReceiver("shm") != nullptr;
  load.builtin.otlp_grpc_receiver = plugins.FindReceiver("otlp_grpc") != nullptr;
  load.builtin.prometheus_exporter = plugins.FindExporter("prometheus") != nullptr;
  auto config = strobed::config::Load(load);
  if (!config.ok()) {
    std::fprintf(stderr, "strobe: %s\n", config.status().message().c_str());
    return kExitUsage;
  }
  if (f.print_config) {
    std::fputs(strobed::config::Print(*config).c_str(), stdout);
    return kExitOk;
  }

  strobed::daemon::Daemon::BlockSignals();  // before any thread exists
  SetUpLogging();
  // The composition root outlives the daemon: the daemon's components refer to what it owns.
  strobed::service::Serve serve;
  strobed::daemon::DaemonOptions options;
  options.config = *config;
  options.load = load;
  strobed::daemon::Daemon daemon(std::move(options));
  serve.AddComponents(daemon, *config);
  if (strobe::Status s = daemon.Start(); !s.ok()) {
    spdlog::error("cannot start: {}", s.message());
    std::fprintf(stderr, "strobe: %s\n", s.message().c_str());
    // Module sections (pipelines, ...) are validated when their component starts: a bad one
    // is still an invalid configuration (InvalidArgument, with file:line), not a start failure.
    return s.code() == strobe::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  if (config->demo.enabled && !daemon.HttpAddress().empty()) {
    spdlog::info("demo workload running: try http://{}/metrics and http://{}/api/v1/metrics",
                 daemon.HttpAddress(), daemon.HttpAddress());
  }
  return daemon.Run();
}

}  // namespace

Command AddServeCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("serve",
                                     "run the telemetry daemon (HTTP API, /metrics, "
                                     "receivers, pipelines)");
  auto f = std::make_shared<ServeFlags>();
  cmd->add_option("--config", f->config, "YAML configuration file (also STROBE_CONFIG)");
  cmd->add_option("--http", f->http, "HTTP API listener HOST:PORT, :0 or off (127.0.0.1:9800)");
  cmd->add_option("--otlp-http", f->otlp_http, "OTLP/HTTP listener (127.0.0.1:4318)");
  cmd->add_option("--otlp-grpc", f->otlp_grpc, "OTLP/gRPC listener (127.0.0.1:4317)");
  cmd->add_option("--wire", f->wire,
                  "strobe wire protocol listener (reserved: not served in this build yet)");
  cmd->add_option("--shm", f->shm, "shared-memory ring name (strobe)");
  cmd->add_option("--data-dir", f->data_dir,
                  "durable queue directory (reserved: queues are in memory in this build)");
  cmd->add_option("--log-level", f->log_level, "trace, debug, info, warn, error or off");
  cmd->add_option("--grace-period", f->grace_period, "drain time at SIGTERM/SIGINT (10s)");
  cmd->add_option("--set", f->set, "set any configuration key: --set host.interval=2s");
  cmd->add_flag("--demo", f->demo, "run a built-in synthetic workload");
  cmd->add_flag("--print-config", f->print_config,
                "print the effective configuration (token redacted) and exit");
  cmd->add_flag("--help-plugins", f->help_plugins,
                "print every receiver, processor and exporter with its options (markdown)");
  return Command{cmd, [f] { return RunServe(*f); }};
}

}  // namespace strobe::cli
