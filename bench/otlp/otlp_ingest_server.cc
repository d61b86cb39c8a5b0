// otlp_ingest_server: the OTLP ingest path of the daemon, standing alone — the otlp_http
// receiver feeding a real PipelineService (queue, processors, exporters) built from a YAML
// pipeline configuration, plus an API listener serving the trace API (/api/v1/traces/{id},
// /api/v1/service-graph) and /metrics (the strobe::metrics registry: receiver and exporter
// self-metrics; and the trace store's metrics).
//
// Used by the OTLP ingest benchmark (bench/otlp/run.sh) and the OTLP integration tests as the
// ingest path without the rest of the daemon; `strobe serve` wires the same plugins (the same
// classes) and the integration tests and run.sh (SERVE=1) run against it too.
//
//   otlp_ingest_server --config pipeline.yaml [--api 127.0.0.1:0]
//
// Prints one line "ready otlp_http=HOST:PORT [otlp_grpc=HOST:PORT] api=HOST:PORT" on stdout
// (the OTLP receivers the configuration has) when listening, runs
// until SIGTERM/SIGINT, then shuts down (receivers first, pipelines drained) and exits 0.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/byte_budget.h"
#include "strobed/base/json.h"
#include "strobed/exporters/memory/memory.h"
#include "strobed/exporters/otlp_http/otlp_http.h"
#include "strobed/pipeline/config.h"
#include "strobed/pipeline/service.h"
#include "strobed/receivers/otlp_http/otlp_http.h"
#include "strobed/server/http_server.h"
#include "strobed/service/builtin_plugins.h"
#include "strobed/service/trace_api.h"
#include "strobed/trace/trace_metrics.h"
#include "strobed/trace/trace_store.h"

int main(int argc, char** argv) {
  CLI::App app{"OTLP ingest path of strobe (receiver → pipeline → exporters) with the trace API"};
  std::string config_file;
  std::string api = "127.0.0.1:0";
  app.add_option("--config", config_file, "YAML pipeline configuration")->required();
  app.add_option("--api", api, "API listener host:port (trace API, /metrics)");
  CLI11_PARSE(app, argc, argv);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread: sigwait below

  YAML::Node root;
  try {
    root = YAML::LoadFile(config_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "otlp_ingest_server: %s: %s\n", config_file.c_str(), e.what());
    return 2;
  }
  const strobed::pipeline::PluginRegistry& plugins = strobed::service::BuiltinPlugins();
  auto cfg = strobed::pipeline::ParsePipelineConfig(root, config_file, plugins);
  if (!cfg.ok()) {
    std::fprintf(stderr, "otlp_ingest_server: %s\n", cfg.status().ToString().c_str());
    return 2;
  }
  // What `strobe serve` shares with its plugins, owned here: the metrics registry behind
  // /metrics, the API router and the trace store the trace API reads.
  strobe::metrics::Registry metrics;
  strobed::server::Router router;
  strobed::trace::TraceStore traces;
  strobed::base::MonotonicClock& clock = strobed::base::MonotonicClock::Steady();
  if (auto s = strobed::trace::RegisterTraceMetrics(metrics, traces, clock); !s.ok()) {
    std::fprintf(stderr, "otlp_ingest_server: %s\n", s.ToString().c_str());
    return 1;
  }
  // The ingress budget, sized like strobe serve's default server.max_inflight_body_bytes, so the
  // benchmark measures request bodies and inflation charged to it as in the product.
  strobed::base::ByteBudget ingress_budget(uint64_t{256} << 20);
  (void)strobed::base::ReturnLargeBlocksToSystem();  // as strobe serve does
  strobed::pipeline::ServiceOptions so;
  so.plugins = &plugins;
  so.services.metrics = &metrics;
  so.services.ingress_budget = &ingress_budget;
  so.services.router = &router;
  so.services.trace_store = &traces;
  auto svc = strobed::pipeline::PipelineService::Create(*cfg, so);
  if (!svc.ok()) {
    std::fprintf(stderr, "otlp_ingest_server: %s\n", svc.status().ToString().c_str());
    return 2;
  }
  strobed::service::MountTraceApi(router, traces, clock);
  router.Handle("GET", "/metrics", [&metrics](const strobed::server::Request&) {
    std::string text =
        strobe::metrics::RenderText(metrics, strobe::metrics::Format::kPrometheusText);
    return strobed::server::Response::Text(
        200, std::move(text), std::string(strobe::metrics::kPrometheusTextContentType));
  });
  // Metric points kept by a `memory` exporter (max_retained_events > 0), latest value per
  // series, for tests: GET /api/v1/received-metrics.
  auto* mem = dynamic_cast<strobed::exporters::MemoryExporter*>((*svc)->exporter("memory"));
  auto points = std::make_shared<std::map<std::string, std::string>>();
  auto points_mu = std::make_shared<std::mutex>();
  router.Handle("GET", "/api/v1/received-metrics",
                [mem, points, points_mu](const strobed::server::Request&) {
                  std::lock_guard<std::mutex> lock(*points_mu);
                  if (mem != nullptr) {
                    for (auto& b : mem->TakeRetained()) {
                      for (const auto& p : b->metrics()) {
                        std::string labels;
                        strobed::base::JsonWriter w;
                        w.BeginObject();
                        w.Key("name");
                        w.String(p.name);
                        w.Key("type");
                        w.Int(static_cast<int>(p.type));
                        w.Key("temporality");
                        w.Int(static_cast<int>(p.temporality));
                        w.Key("labels");
                        w.BeginObject();
                        for (const auto& a : p.labels) {
                          std::string_view k = strobed::event::KeyTable::Global().Name(a.key);
                          w.Key(k);
                          w.String(a.value.type() == strobed::event::ValueType::kString
                                       ? std::string(a.value.AsString())
                                       : a.value.ToString());
                          labels += std::string(k) + "=" + a.value.ToString() + ",";
                        }
                        w.EndObject();
                        if (p.histogram != nullptr) {
                          w.Key("count");
                          w.Uint(p.histogram->count);
                          w.Key("sum");
                          w.Double(p.histogram->sum);
                        } else if (p.exp_histogram != nullptr) {
                          w.Key("count");
                          w.Uint(p.exp_histogram->count);
                          w.Key("sum");
                          w.Double(p.exp_histogram->sum);
                        } else if (p.summary != nullptr) {
                          w.Key("count");
                          w.Uint(p.summary->count);
                          w.Key("sum");
                          w.Double(p.summary->sum);
                        } else {
                          w.Key("value");
                          w.Double(p.Number());
                        }
                        w.EndObject();
                        (*points)[std::string(p.name) + "{" + labels + "}"] = std::move(w).Take();
                      }
                    }
                  }
                  std::string body = "[";
                  for (const auto& [k, v] : *points) body += (body.size() > 1 ? "," : "") + v;
                  body += "]";
                  return strobed::server::Response::Json(200, std::move(body));
                });
  strobed::server::ServerOptions apio;
  apio.name = "api";
  size_t colon = api.rfind(':');
  apio.host = colon == 0 ? "127.0.0.1" : api.substr(0, colon);
  apio.port = static_cast<uint16_t>(std::stoi(api.substr(colon + 1)));
  strobed::server::HttpServer http(apio, router);
  if (auto s = http.Start(); !s.ok()) {
    std::fprintf(stderr, "otlp_ingest_server: %s\n", s.ToString().c_str());
    return 1;
  }
  if (auto s = (*svc)->Start(); !s.ok()) {
    std::fprintf(stderr, "otlp_ingest_server: %s\n", s.ToString().c_str());
    return 1;
  }
  // The first receiver of each OTLP type: "otlp_http=HOST:PORT otlp_grpc=HOST:PORT".
  std::map<std::string, std::string> otlp_addrs;
  for (const auto& c : cfg->components) {
    if (c.kind != strobed::pipeline::ComponentKind::kReceiver ||
        (c.id.type != "otlp_http" && c.id.type != "otlp_grpc")) {
      continue;
    }
    strobed::pipeline::Receiver* r = (*svc)->receiver(c.id.ToString());
    if (r != nullptr) otlp_addrs.emplace(c.id.type, r->Endpoint());
  }
  std::string ready = "ready";
  for (const auto& [type, addr] : otlp_addrs) ready += " " + type + "=" + addr;
  std::printf("%s api=%s\n", ready.c_str(), http.BoundAddress().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  auto st = (*svc)->Shutdown(std::chrono::seconds(10));
  (void)http.Shutdown(std::chrono::seconds(2));
  traces.FlushAll(clock.NowNs());
  if (!st.ok()) std::fprintf(stderr, "otlp_ingest_server: shutdown: %s\n", st.ToString().c_str());
  if (mem != nullptr) {
    // What reached the end of the pipeline, after the drain: run.sh compares it with what the
    // load generator had acknowledged.
    std::printf("exported spans=%llu metric_points=%llu log_records=%llu batches=%llu\n",
                static_cast<unsigned long long>(mem->spans()),
                static_cast<unsigned long long>(mem->metrics()),
                static_cast<unsigned long long>(mem->logs()),
                static_cast<unsigned long long>(mem->batches()));
  }
  return 0;
}
