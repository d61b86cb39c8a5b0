#pragma once

// Built-in module sections: what `strobe serve` runs when the configuration file does not say.
//
// Pipelines. When a configuration declares none of `receivers`, `processors`, `exporters`,
// `connectors`, `pipelines` or `service`, the daemon runs one pipeline named `default` built
// from the listener keys, so `strobe serve` with no file accepts OTLP and analyses it:
//
//   receivers:  otlp_http {endpoint: <listen.otlp_http>} (auth: the daemon's auth.token or
//               auth.token_file, shared by every listener and reloaded on SIGHUP)
//               otlp_grpc {endpoint: <listen.otlp_grpc>} (when the otlp_grpc receiver
//               plugin is registered; the same auth)
//               shm {name: <shm.name>} (when the shm receiver plugin is registered)
//               memory/demo           (with demo.enabled: the demo workload's spans)
//   processors: memory_limiter, batch
//   exporters:  trace_analysis, prometheus (when registered), stream (when a `stream`
//               section exists)
//
// A listener set to `off` drops its receiver; with no receiver left there is no pipeline.
// Declaring any pipeline section replaces all of this: the file is then the whole truth.
//
// Demo rules. With demo.enabled and no `stream` / `alerts` section, windows over the demo's
// spans (per service and route: count, rate, error rate, p50/p99) and two alert rules
// (HighLatencyP99, HighErrorRate) are added so a new user sees window results (after the
// first 10 s window closes) and alerts (when an error burst or a latency spike lasts their
// `for:`; docs/daemon.md "Demo workload" gives the schedule).
//
// Sections added here name the file "<built-in defaults>" in messages and appear in
// `--print-config`. Thread class: pure functions.

#include <string>
#include <string_view>

#include "strobe/base/status.h"
#include "strobed/config/config.h"

namespace strobed::config {

inline constexpr std::string_view kBuiltinDefaultsFile = "<built-in defaults>";

// Adds the default pipeline and the demo stream/alert sections to `config` where the file
// left them out (see above); `builtin` says which optional plugins exist. Idempotent.
strobe::Status ApplyBuiltinSections(Config& config, const BuiltinSections& builtin);

// The YAML text ApplyBuiltinSections would add for the pipeline sections ("" when it adds
// none); for tests and docs.
std::string DefaultPipelineYaml(const Config& config, const BuiltinSections& builtin);

}  // namespace strobed::config
