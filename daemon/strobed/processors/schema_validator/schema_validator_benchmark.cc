// schema_validator throughput against a pass-through processor, same input, same run.
// Conditions: release build, an otherwise idle machine; numbers on a shared 2-vCPU VM are noisy.
// Needs the semantic-convention model (../shared/semconv/model or $STROBE_SHARED_DIR).
//
// Input: batches of 1,000 HTTP server spans of 10 attributes each (the attributes the JS SDK's
// HTTP instrumentation sets, varied values), through Processor::Process (virtual call, as the
// pipeline worker makes it). items_per_second = spans/s on one core.
//   schema_passthrough_http_server_spans   a processor that emits the batch unchanged
//   schema_validator_http_server_spans     current attribute names: no violation
//   schema_validator_http_server_spans_deprecated  the same spans with the deprecated names
//                                          (http.method, http.status_code, ...): every span
//                                          violates, so the statistics path is measured too
//   schema_registry_load                   loading and compiling the whole model

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "strobed/base/clock.h"
#include "strobed/pipeline/testing.h"
#include "strobed/processors/schema_validator/schema_validator.h"
#include "strobed/semconv/testing.h"

namespace strobed::processors {
namespace {

constexpr int kSpansPerBatch = 1000;

// Emits into a slot the loop takes the batch back from (no allocation per iteration).
class LoopContext final : public pipeline::ProcessContext {
 public:
  void Emit(event::BatchPtr&& batch) noexcept override { out = std::move(batch); }
  void Drop(pipeline::DropReason, uint64_t) noexcept override {}
  uint64_t NowNs() const noexcept override { return 1; }
  event::BatchPtr out;
};

class PassThrough final : public pipeline::Processor {
 public:
  void Process(event::BatchPtr&& batch, pipeline::ProcessContext& ctx) noexcept override {
    ctx.Emit(std::move(batch));
  }
};

event::BatchPtr HttpServerSpans(event::BatchPool& pool, bool deprecated_names) {
  event::KeyTable& keys = event::KeyTable::Global();
  auto k = [&](const char* name) { return *keys.Intern(name); };
  const char* methods[] = {"GET", "POST", "PUT", "DELETE"};
  event::BatchPtr b = pool.Acquire();
  for (int i = 0; i < kSpansPerBatch; ++i) {
    pipeline::testing::SpanSpec spec;
    spec.span_id = static_cast<uint64_t>(i + 1);
    spec.name = "GET /api/items/:id";
    event::Span& s = pipeline::testing::AddSpan(*b, spec);
    s.kind = event::SpanKind::kServer;
    event::Arena& a = b->arena();
    auto* attrs = a.AllocateArray<event::Attribute>(10);
    std::string path = "/api/items/" + std::to_string(i);
    using event::Value;
    attrs[0] = {k(deprecated_names ? "http.method" : "http.request.method"),
                Value::String(methods[i % 4])};
    attrs[1] = {k(deprecated_names ? "http.target" : "url.path"),
                Value::String(a.CopyString(path))};
    attrs[2] = {k(deprecated_names ? "http.scheme" : "url.scheme"), Value::String("https")};
    attrs[3] = {k("http.route"), Value::String("/api/items/:id")};
    attrs[4] = {k(deprecated_names ? "http.status_code" : "http.response.status_code"),
                Value::Int(i % 10 == 0 ? 500 : 200)};
    attrs[5] = {k("server.address"), Value::String("api.example.com")};
    attrs[6] = {k("server.port"), Value::Int(443)};
    attrs[7] = {k("network.protocol.version"), Value::String("1.1")};
    attrs[8] = {k("client.address"), Value::String("10.0.0.7")};
    attrs[9] = {k("user_agent.original"), Value::String("Mozilla/5.0")};
    s.attributes = {attrs, 10};
  }
  return b;
}

const semconv::Registry* Model() {
  static const semconv::Registry* reg = [] {
    std::string dir = semconv::SharedModelDirForTest();
    auto r = semconv::LoadRegistry(dir);
    return r.ok() ? new semconv::Registry(std::move(r).value()) : nullptr;
  }();
  return reg;
}

void Run(benchmark::State& state, pipeline::Processor& p, bool deprecated_names) {
  event::BatchPool pool;
  LoopContext ctx;
  ctx.out = HttpServerSpans(pool, deprecated_names);
  for (auto _ : state) {
    p.Process(std::move(ctx.out), ctx);
    benchmark::DoNotOptimize(ctx.out.get());
  }
  state.SetItemsProcessed(state.iterations() * kSpansPerBatch);
}

void schema_passthrough_http_server_spans(benchmark::State& state) {
  PassThrough p;
  Run(state, p, false);
}
BENCHMARK(schema_passthrough_http_server_spans);

void schema_validator_http_server_spans(benchmark::State& state) {
  if (Model() == nullptr) return state.SkipWithError("semconv model not found");
  base::ManualWallClock wall;
  SchemaValidator v(*Model(), event::KeyTable::Global(), {}, &wall);
  Run(state, v, false);
  if (v.violations(SchemaRule::kMissingRequired) != 0) state.SkipWithError("spans not clean");
}
BENCHMARK(schema_validator_http_server_spans);

void schema_validator_http_server_spans_deprecated(benchmark::State& state) {
  if (Model() == nullptr) return state.SkipWithError("semconv model not found");
  base::ManualWallClock wall;
  SchemaValidator v(*Model(), event::KeyTable::Global(), {}, &wall);
  Run(state, v, true);
}
BENCHMARK(schema_validator_http_server_spans_deprecated);

void schema_registry_load(benchmark::State& state) {
  std::string dir = semconv::SharedModelDirForTest();
  if (dir.empty()) return state.SkipWithError("semconv model not found");
  base::ManualWallClock wall;
  for (auto _ : state) {
    auto reg = semconv::LoadRegistry(dir);
    SchemaValidator v(*reg, event::KeyTable::Global(), {}, &wall);
    benchmark::DoNotOptimize(&v);
  }
}
BENCHMARK(schema_registry_load)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace strobed::processors
