#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "strobed/pipeline/config.h"
#include "strobed/service/builtin_plugins.h"

namespace strobed::pipeline {
namespace {

using ::testing::HasSubstr;

strobe::Result<PipelineConfig> Parse(const std::string& yaml) {
  return ParsePipelineConfigText(yaml, "test.yaml", service::BuiltinPlugins());
}

std::string Error(const std::string& yaml) {
  auto r = Parse(yaml);
  EXPECT_FALSE(r.ok()) << "expected an error for:\n" << yaml;
  return r.ok() ? "" : r.status().message();
}

TEST(PipelineConfigTest, ParsesACollectorStyleConfig) {
  auto cfg = Parse(R"(
receivers:
  memory: {}
  memory/2:
processors:
  memory_limiter: {soft_limit: 1MiB, hard_limit: 2MiB}
  batch: {send_batch_size: 500, timeout: 50ms}
exporters:
  debug: {verbosity: normal}
  memory:
service:
  pipelines:
    traces:
      receivers: [memory, memory/2]
      processors: [memory_limiter, batch]
      exporters: [debug, memory]
      queue: {policy: drop_oldest, max_batches: 64, max_events: 5000, max_bytes: 8MiB}
      retry: {max_attempts: 3, initial_backoff: 1ms}
    metrics:
      receivers: [memory]
      exporters: [memory]
)");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_EQ(cfg->pipelines.size(), 2u);
  const PipelineSpec* traces = nullptr;
  for (const auto& p : cfg->pipelines) {
    if (p.name == "traces") traces = &p;
  }
  ASSERT_NE(traces, nullptr);
  EXPECT_EQ(traces->signals, event::kSignalTraces);
  EXPECT_TRUE(traces->has_memory_limiter);
  ASSERT_EQ(traces->processors.size(), 1u);  // memory_limiter moved to the entry
  EXPECT_EQ(traces->processors[0].type, "batch");
  EXPECT_EQ(traces->queue.policy, BackPressurePolicy::kDropOldest);
  EXPECT_EQ(traces->queue.max_batches, 64u);
  EXPECT_EQ(traces->queue.max_bytes, 8u << 20);
  EXPECT_EQ(traces->retry.max_attempts, 3);
  EXPECT_EQ(traces->retry.initial_backoff, std::chrono::milliseconds(1));
  EXPECT_EQ(traces->line, 13);
  const ComponentConfig* batch = cfg->Find(ComponentKind::kProcessor, *ComponentId::Parse("batch"));
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->options.GetInt("send_batch_size"), 500);
  EXPECT_EQ(batch->options.Where("timeout"), "test.yaml:7");
}

TEST(PipelineConfigTest, TopLevelPipelinesAndEmptyConfigAreAccepted) {
  auto cfg = Parse(
      "receivers: {memory: {}}\nexporters: {memory: {}}\n"
      "pipelines: {logs: {receivers: [memory], exporters: [memory]}}\n");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->pipelines[0].signals, event::kSignalLogs);
  EXPECT_TRUE(Parse("").ok());
  EXPECT_TRUE(Parse("http: 127.0.0.1:9800\n").ok());  // daemon keys are not ours
}

TEST(PipelineConfigTest, UnknownComponentTypeNamesFileLineAndKnownTypes) {
  std::string e = Error("receivers:\n  memory: {}\n  otlp_carrier_pigeon: {}\n");
  EXPECT_THAT(e, HasSubstr("test.yaml:3: unknown receiver type 'otlp_carrier_pigeon'"));
  EXPECT_THAT(e, HasSubstr("known: memory"));
  EXPECT_THAT(Error("processors:\n  tail_sampling: {}\n"),
              HasSubstr("test.yaml:2: unknown processor type 'tail_sampling'"));
}

TEST(PipelineConfigTest, UnknownOrMistypedOptionNamesTheLine) {
  EXPECT_THAT(Error("processors:\n  batch:\n    sendbatch_size: 5\n"),
              HasSubstr("test.yaml:3: processors.batch: unknown option 'sendbatch_size' (known: "
                        "send_batch_size, timeout)"));
  EXPECT_THAT(Error("processors:\n  batch:\n    timeout: soon\n"),
              HasSubstr("test.yaml:3: processors.batch.timeout: 'soon' is not a duration"));
}

TEST(PipelineConfigTest, UndefinedComponentInAPipeline) {
  EXPECT_THAT(Error(R"(receivers: {memory: {}}
exporters: {memory: {}}
service:
  pipelines:
    traces:
      receivers: [memory]
      processors: [batch]
      exporters: [memory]
)"),
              HasSubstr("test.yaml:7: pipeline 'traces' uses processor 'batch' which is not "
                        "defined under processors:"));
  EXPECT_THAT(Error(R"(receivers: {memory: {}}
exporters: {memory: {}}
pipelines:
  traces:
    receivers: [memory]
    exporters: [memory, debug]
)"),
              HasSubstr("test.yaml:6: pipeline 'traces' uses exporter 'debug'"));
}

TEST(PipelineConfigTest, CycleThroughConnectorsIsAnError) {
  std::string e = Error(R"(receivers: {memory: {}}
exporters: {memory: {}}
connectors:
  forward/a: {}
  forward/b: {}
pipelines:
  traces/in:
    receivers: [memory]
    exporters: [forward/a]
  traces/one:
    receivers: [forward/a, forward/b]
    exporters: [forward/b, memory]
)");
  EXPECT_THAT(e, HasSubstr("pipelines form a cycle: traces/one -> traces/one"));
  EXPECT_THAT(e, HasSubstr("test.yaml:10"));

  std::string e2 = Error(R"(receivers: {memory: {}}
exporters: {memory: {}}
connectors: {forward/a: {}, forward/b: {}}
pipelines:
  traces/x:
    receivers: [memory, forward/b]
    exporters: [forward/a]
  traces/y:
    receivers: [forward/a]
    exporters: [forward/b, memory]
)");
  EXPECT_THAT(e2, HasSubstr("pipelines form a cycle: traces/x -> traces/y -> traces/x"));
}

TEST(PipelineConfigTest, ConnectorsOrderPipelinesUpstreamFirst) {
  auto cfg = Parse(R"(receivers: {memory: {}}
exporters: {memory: {}}
connectors: {forward: {}}
pipelines:
  traces/late:
    receivers: [forward]
    exporters: [memory]
  traces/early:
    receivers: [memory]
    exporters: [forward]
)");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->pipelines[0].name, "traces/early");
  EXPECT_EQ(cfg->pipelines[1].name, "traces/late");
}

TEST(PipelineConfigTest, StructuralErrors) {
  EXPECT_THAT(Error("receivers: {memory: {}}\nexporters: {memory: {}}\n"
                    "pipelines: {traces: {receivers: [memory]}}\n"),
              HasSubstr("test.yaml:3: pipeline 'traces' has no exporters"));
  EXPECT_THAT(Error(R"(receivers: {memory: {}}
exporters: {memory: {}}
processors: {batch: {}, memory_limiter: {}}
pipelines:
  traces:
    receivers: [memory]
    processors: [batch, memory_limiter]
    exporters: [memory]
)"),
              HasSubstr("test.yaml:7: pipeline 'traces': memory_limiter must be the first"));
  EXPECT_THAT(Error(R"(receivers: {memory: {}}
exporters: {memory: {}}
pipelines:
  traces:
    receivers: [memory]
    exporters: [memory]
    queue: {policy: drop_random}
)"),
              HasSubstr("test.yaml:7: pipeline 'traces' queue.policy: 'drop_random' is not one of "
                        "block, drop_newest, drop_oldest, sample"));
  EXPECT_THAT(Error(R"(receivers: {memory: {}}
exporters: {memory: {}}
connectors: {forward: {}}
pipelines:
  traces:
    receivers: [memory]
    exporters: [forward]
)"),
              HasSubstr("connector 'forward' is used as an exporter but no pipeline uses it as a "
                        "receiver"));
  EXPECT_THAT(Error("receivers: {memory: {}}\nexporters: {memory: {}}\n"
                    "pipelines: {traces: {receivers: [memory], exporters: [memory], "
                    "procesors: []}}\n"),
              HasSubstr("unknown key 'procesors'"));
  EXPECT_THAT(Error("receivers: [memory\n"), HasSubstr("test.yaml:"));
}

// Ranges are declared in the option tables and checked before a factory runs; the error
// names file:line, component and key.
TEST(PipelineConfigTest, OptionBoundsAreCheckedWithFileAndLine) {
  EXPECT_THAT(Error("processors:\n  batch:\n    send_batch_size: 0\n"),
              HasSubstr("test.yaml:3: processors.batch.send_batch_size: 0 is out of range "
                        "(must be >= 1)"));
  EXPECT_THAT(
      Error("processors:\n  batch:\n    timeout: 0s\n"),
      HasSubstr("test.yaml:3: processors.batch.timeout: 0s is out of range (must be > 0ms)"));
  EXPECT_THAT(Error("processors:\n  head_sampler:\n    ratio: 1.5\n"),
              HasSubstr("test.yaml:3: processors.head_sampler.ratio: 1.5 is out of range [0, 1]"));
  EXPECT_THAT(Error("processors:\n  head_sampler:\n    sampler: sometimes\n"),
              HasSubstr("test.yaml:3: processors.head_sampler.sampler: 'sometimes' is not one of "
                        "always_on, always_off, trace_id_ratio, probabilistic"));
  EXPECT_THAT(Error("exporters:\n  memory:\n    max_retained_events: -1\n"),
              HasSubstr("test.yaml:3: exporters.memory.max_retained_events: -1 is out of range"));
}

TEST(PipelineConfigTest, EveryBuiltinOptionTableIsValid) {
  // PluginRegistry::Add* refuses a table whose bounds or defaults do not parse; the built-in
  // registry exists, so every table passed. Check the bounds show in the reference.
  const std::string docs = service::BuiltinPlugins().Describe();
  EXPECT_THAT(docs, HasSubstr("| `send_batch_size` | integer | `1000` | `>= 1` |"));
  EXPECT_THAT(docs, HasSubstr("| `ratio` | number | `1.0` | `[0, 1]` |"));
  PluginRegistry r;
  EXPECT_FALSE(r.AddProcessor({.type = "bad",
                               .description = "",
                               .options = {{"n", OptionType::kInt, "0", "", {.min = "1"}}},
                               .create = nullptr})
                   .ok());
}

}  // namespace
}  // namespace strobed::pipeline

namespace strobed::pipeline {
namespace {

TEST(OptionsTest, UnsetOptionalOptionsReadAsEmpty) {
  std::vector<OptionSpec> spec = {{"token", OptionType::kString, "", "optional"},
                                  {"n", OptionType::kInt, "", "optional"},
                                  {"list", OptionType::kStringList, "", "optional"},
                                  {"wait", OptionType::kDuration, "", "optional"}};
  auto o = Options::Parse(YAML::Load("{}"), spec, "x.yaml", "c");
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->Has("token"));
  EXPECT_EQ(o->GetString("token"), "");
  EXPECT_EQ(o->GetInt("n"), 0);
  EXPECT_TRUE(o->GetStringList("list").empty());
  EXPECT_EQ(o->GetDuration("wait").count(), 0);
  auto set = Options::Parse(YAML::Load("{list: a}"), spec, "x.yaml", "c");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->GetStringList("list"), std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace strobed::pipeline
