#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/exporters/memory/memory.h"
#include "strobed/pipeline/service.h"
#include "strobed/pipeline/testing.h"
#include "strobed/receivers/memory/memory.h"
#include "strobed/service/builtin_plugins.h"

namespace strobed::pipeline {
namespace {

using ::testing::HasSubstr;

using service::BuiltinPlugins;

struct Running {
  explicit Running(const std::string& yaml, strobe::metrics::Registry* metrics = nullptr) {
    auto cfg = ParsePipelineConfigText(yaml, "svc.yaml", BuiltinPlugins());
    EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
    ServiceOptions o;
    o.plugins = &BuiltinPlugins();
    o.services.metrics = metrics;
    o.pool = &pool;
    auto s = PipelineService::Create(*cfg, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    svc = std::move(s).value();
    EXPECT_TRUE(svc->Start().ok());
  }
  receivers::MemoryReceiver& In(const std::string& id) {
    return *dynamic_cast<receivers::MemoryReceiver*>(svc->receiver(id));
  }
  exporters::MemoryExporter& Out(const std::string& id) {
    return *dynamic_cast<exporters::MemoryExporter*>(svc->exporter(id));
  }
  void ExpectBalanced() {
    for (const auto& p : svc->Snapshot().pipelines) {
      for (const auto& st : p.stages) {
        EXPECT_TRUE(st.Balanced())
            << p.name << " " << st.stage << " received=" << st.received
            << " forwarded=" << st.forwarded << " dropped=" << st.DroppedTotal();
      }
    }
  }
  event::BatchPool pool;
  std::unique_ptr<PipelineService> svc;
};

TEST(PipelineServiceTest, ReceiverThroughBatchToExporter) {
  Running r(R"(
receivers: {memory: {}}
processors: {batch: {send_batch_size: 1000, timeout: 1h}}
exporters: {memory: {max_retained_events: 10}}
service:
  pipelines:
    metrics:
      receivers: [memory]
      processors: [batch]
      exporters: [memory]
)");
  for (int i = 0; i < 25; ++i) {
    ASSERT_EQ(r.In("memory").Push(testing::MetricBatch(r.pool, 100)).status, PushStatus::kAccepted);
  }
  ASSERT_TRUE(r.svc->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(r.Out("memory").metrics(), 2500u);
  // The batch timeout (1 h) never fires, however slow the machine: only size and shutdown
  // flush, so the count is exact.
  EXPECT_EQ(r.Out("memory").batches(), 3u);  // 1000 + 1000 + flushed 500
  auto kept = r.Out("memory").TakeRetained();
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept[0]->metrics()[0].name, "m");
  r.ExpectBalanced();
}

TEST(PipelineServiceTest, ReceiverFansOutBySignal) {
  Running r(R"(
receivers: {memory: {}}
exporters: {memory/t: {}, memory/m: {}}
service:
  pipelines:
    traces: {receivers: [memory], exporters: [memory/t]}
    metrics: {receivers: [memory], exporters: [memory/m]}
)");
  event::BatchPtr b = r.pool.Acquire();
  testing::SpanSpec spec;
  spec.trace_id = event::TraceId::FromHalves(1, 1);
  testing::AddSpan(*b, spec);
  testing::AddSpan(*b, spec);
  testing::AddGauge(*b, "g", 1);
  testing::AddLog(*b, "nobody wants logs");
  ASSERT_TRUE(r.In("memory").Push(std::move(b)).accepted());
  ASSERT_TRUE(r.svc->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(r.Out("memory/t").spans(), 2u);
  EXPECT_EQ(r.Out("memory/t").metrics(), 0u);
  EXPECT_EQ(r.Out("memory/m").metrics(), 1u);
  EXPECT_EQ(r.Out("memory/m").spans(), 0u);
  EXPECT_EQ(r.svc->Snapshot().unrouted_events.at("memory"), 1u);
  r.ExpectBalanced();
}

TEST(PipelineServiceTest, ForwardConnectorAndSharedExporter) {
  Running r(R"(
receivers: {memory: {}}
exporters: {memory: {}}
connectors: {forward: {}}
service:
  pipelines:
    traces/in: {receivers: [memory], exporters: [forward, memory]}
    traces/out: {receivers: [forward], exporters: [memory]}
)");
  event::BatchPtr b = r.pool.Acquire();
  testing::SpanSpec spec;
  spec.trace_id = event::TraceId::FromHalves(3, 4);
  testing::AddSpan(*b, spec);
  ASSERT_TRUE(r.In("memory").Push(std::move(b)).accepted());
  ASSERT_TRUE(r.svc->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(r.Out("memory").spans(), 2u);  // once directly, once through the connector
  r.ExpectBalanced();
}

TEST(PipelineServiceTest, MemoryLimiterFromConfigThrottles) {
  Running r(R"(
receivers: {memory: {}}
processors: {memory_limiter: {soft_limit: 1B, hard_limit: 1MiB, retry_after: 2s}}
exporters: {memory: {}}
service:
  pipelines:
    metrics: {receivers: [memory], processors: [memory_limiter], exporters: [memory]}
)");
  Pipeline* p = r.svc->pipeline("metrics");
  ASSERT_NE(p, nullptr);
  // The first push is admitted (usage 0 < soft); while it is held, the next is throttled
  // unless the worker already exported it. Push until one is throttled.
  bool throttled = false;
  for (int i = 0; i < 1000 && !throttled; ++i) {
    PushResult res = r.In("memory").Push(testing::MetricBatch(r.pool, 50));
    if (res.status == PushStatus::kThrottled) {
      throttled = true;
      EXPECT_EQ(res.retry_after, std::chrono::seconds(2));
    }
  }
  EXPECT_TRUE(throttled);
  ASSERT_TRUE(r.svc->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(r.svc->Snapshot().memory_used_bytes.at("memory_limiter"), 0u);
  std::string text =
      strobe::metrics::RenderText(r.svc->metrics(), strobe::metrics::Format::kPrometheusText);
  EXPECT_THAT(text, HasSubstr("strobe_pipeline_refused_events_total{pipeline=\"metrics\","
                              "reason=\"memory_soft_limit\"}"));
  EXPECT_THAT(text, HasSubstr("strobe_pipeline_dropped_events_total{pipeline=\"metrics\","
                              "stage=\"queue\",reason=\"queue_full\"} 0"));
  r.ExpectBalanced();
}

TEST(PipelineServiceTest, StatisticsAreBoundToTheMetricsRegistry) {
  strobe::metrics::Registry registry;
  {
    Running r(R"(
receivers: {memory: {}}
processors:
  head_sampler: {sampler: always_off}
  tail_sampler: {policies: [{name: errors, type: status_code}]}
exporters: {memory: {}}
service:
  pipelines:
    traces: {receivers: [memory], processors: [head_sampler], exporters: [memory]}
    traces/tail: {receivers: [memory], processors: [tail_sampler], exporters: [memory]}
)",
              &registry);
    event::BatchPtr b = r.pool.Acquire();
    testing::AddSpan(*b, {.trace_id = event::TraceId::FromHalves(1, 2)});
    ASSERT_TRUE(r.In("memory").Push(std::move(b)).accepted());
    ASSERT_TRUE(r.svc->Shutdown(std::chrono::seconds(10)).ok());
    std::string text =
        strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
    EXPECT_THAT(text, HasSubstr("strobe_pipeline_dropped_events_total{pipeline=\"traces\","
                                "stage=\"processor/head_sampler\",reason=\"sampled\"} 1"));
    EXPECT_THAT(text, HasSubstr("strobe_pipeline_received_events_total{pipeline=\"traces\","
                                "stage=\"queue\"} 1"));
    // The queue's bounds (the defaults: 256 MiB, 1e6 events), for its fill on dashboards.
    EXPECT_THAT(text, HasSubstr("strobe_pipeline_queue_limit_bytes{pipeline=\"traces\"} "
                                "268435456\n"));
    EXPECT_THAT(text, HasSubstr("strobe_pipeline_queue_limit_events{pipeline=\"traces/tail\"} "
                                "1000000\n"));
    EXPECT_THAT(text, HasSubstr("strobe_processor_sampler_effective_ratio{pipeline=\"traces\","
                                "processor=\"head_sampler\"} 0"));
    EXPECT_THAT(text, HasSubstr("strobe_processor_tail_policy_decisions_total{pipeline=\"traces/"
                                "tail\",processor=\"tail_sampler\",policy=\"none\"} 1"));
  }
  // The service is gone: its families were removed.
  std::string text =
      strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_EQ(text.find("strobe_pipeline_"), std::string::npos);
}

// Exporters are owned by the service and shared by the pipelines that name them; their Start
// (the clickhouse exporter creates its tables there) runs once, before any export, and a
// failing Start fails the service's.
class StartCountingExporter final : public Exporter {
 public:
  explicit StartCountingExporter(bool fail) : fail_(fail) {}
  strobe::Status Start() override {
    ++starts;
    return fail_ ? strobe::FailedPrecondition("no tables") : strobe::OkStatus();
  }
  ExportResult Export(const event::Batch&) noexcept override { return ExportResult::kOk; }
  strobe::Status Shutdown(std::chrono::milliseconds) override { return strobe::OkStatus(); }
  static inline int starts = 0;

 private:
  bool fail_;
};

TEST(PipelineServiceTest, StartsEachSharedExporterOnce) {
  PluginRegistry registry;
  service::RegisterBuiltinPlugins(registry);
  ASSERT_TRUE(registry
                  .AddExporter({.type = "starting",
                                .description = "test",
                                .options = {{"fail", OptionType::kBool, "false", "fail Start"}},
                                .create = [](const ComponentContext& ctx)
                                    -> strobe::Result<std::unique_ptr<Exporter>> {
                                  return std::unique_ptr<Exporter>(
                                      new StartCountingExporter(ctx.options.GetBool("fail")));
                                }})
                  .ok());
  auto start = [&](const std::string& fail) {
    auto cfg =
        ParsePipelineConfigText("receivers: {memory: {}}\nexporters: {starting: {fail: " + fail +
                                    "}}\n"
                                    "pipelines:\n"
                                    "  logs: {receivers: [memory], exporters: [starting]}\n"
                                    "  traces: {receivers: [memory], exporters: [starting]}\n",
                                "svc.yaml", registry);
    EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
    auto s = PipelineService::Create(*cfg, {.plugins = &registry});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return (*s)->Start();
  };
  StartCountingExporter::starts = 0;
  EXPECT_TRUE(start("false").ok());
  EXPECT_EQ(StartCountingExporter::starts, 1);
  StartCountingExporter::starts = 0;
  strobe::Status failed = start("true");
  EXPECT_EQ(StartCountingExporter::starts, 1);
  EXPECT_THAT(failed.message(), HasSubstr("exporter 'starting'"));
  EXPECT_THAT(failed.message(), HasSubstr("no tables"));
}

TEST(PipelineServiceTest, RequiresAPluginRegistry) {
  auto cfg = ParsePipelineConfigText(
      "receivers: {memory: {}}\nexporters: {memory: {}}\n"
      "pipelines: {logs: {receivers: [memory], exporters: [memory]}}\n",
      "svc.yaml", BuiltinPlugins());
  ASSERT_TRUE(cfg.ok());
  auto s = PipelineService::Create(*cfg, {});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("no plugin registry"));
}

TEST(PipelineServiceTest, FactoryErrorsNameTheComponent) {
  auto cfg = ParsePipelineConfigText(R"(
receivers: {memory: {}}
exporters: {debug: {output: /nonexistent-dir/x.log}}
pipelines: {logs: {receivers: [memory], exporters: [debug]}}
)",
                                     "svc.yaml", BuiltinPlugins());
  ASSERT_TRUE(cfg.ok());
  auto s = PipelineService::Create(*cfg, {.plugins = &BuiltinPlugins()});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("svc.yaml:3: exporter 'debug'"));
  EXPECT_THAT(s.status().message(), HasSubstr("cannot open '/nonexistent-dir/x.log'"));
}

// Issue 14, item 8: a receiver-level token was what a SIGHUP rotation of auth.token missed.
// The option is refused with an error that points at the daemon's keys; an empty one (the old
// way to say "no token") still loads.
TEST(PipelineServiceTest, OtlpHttpRefusesAReceiverLevelToken) {
  strobe::metrics::Registry registry;
  auto create = [&](const std::string& token_line) {
    auto cfg = ParsePipelineConfigText(
        "receivers:\n  otlp_http:\n    endpoint: 127.0.0.1:0\n" + token_line +
            "exporters: {memory: {}}\n"
            "pipelines: {traces: {receivers: [otlp_http], exporters: [memory]}}\n",
        "svc.yaml", BuiltinPlugins());
    EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
    ServiceOptions o;
    o.plugins = &BuiltinPlugins();
    o.services.metrics = &registry;
    return PipelineService::Create(*cfg, o);
  };
  auto refused = create("    auth_token: s3cret\n");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("svc.yaml:4"));
  EXPECT_THAT(refused.status().message(), HasSubstr("set auth.token or auth.token_file"));
  EXPECT_THAT(refused.status().message(), ::testing::Not(HasSubstr("s3cret")));
  EXPECT_TRUE(create("    auth_token: \"\"\n").ok());
}

}  // namespace
}  // namespace strobed::pipeline
