// Machine conditions: release preset (-O2), an otherwise idle machine; figures are medians of
// --benchmark_repetitions. Decoding of one OTLP/HTTP request of 1,000 spans with 6 attributes
// (what `strobe bench otlp` sends) into strobe's event model. Items/s = spans/s per core.
// Baseline in the same run: otlp_parse_generated_1000x6, protobuf's generated
// ParseFromString of the same body into an arena (no conversion into the event model).
#include <benchmark/benchmark.h>
#include <google/protobuf/arena.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "strobed/event/batch.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/otlp/synthetic.h"

namespace {

void otlp_decode_traces_1000x6(benchmark::State& state) {
  strobed::otlp::SyntheticTraces gen(1);
  std::string body = gen.Next();
  strobed::event::Batch batch(nullptr, 1 << 20, 8 << 20);
  for (auto _ : state) {
    batch.Clear();
    auto r = strobed::otlp::Decode(strobed::otlp::Signal::kTraces,
                                   strobed::otlp::Encoding::kProtobuf, body, batch);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(otlp_decode_traces_1000x6);

void otlp_parse_generated_1000x6(benchmark::State& state) {
  strobed::otlp::SyntheticTraces gen(1);
  std::string body = gen.Next();
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* req = google::protobuf::Arena::CreateMessage<
        opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest>(&arena);
    bool ok = req->ParseFromString(body);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(otlp_parse_generated_1000x6);

}  // namespace
