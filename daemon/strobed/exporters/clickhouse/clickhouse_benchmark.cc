// Benchmarks of the ClickHouse exporter's row encoders. Meaningful numbers need an otherwise
// idle machine (other builds running on the 2 vCPUs inflate every figure).
//
//   clickhouse_encode_spans/0      RowBinary rows of a 1,000-span batch decoded from the
//                                  synthetic OTLP feed (`strobe bench otlp`'s: 10-span traces,
//                                  3 services, 6 attributes per span)
//   clickhouse_encode_spans/1      the same batch as JSONEachRow
//   otlp_encode_spans_baseline     baseline, same run: the otlp_http exporter's protobuf
//                                  encoding of the same batch (otlp::EncodeTraces)
// items_per_second is spans (rows) per second on one core; bytes_per_second the output size.

#include <benchmark/benchmark.h>

#include <string>

#include "strobed/event/batch.h"
#include "strobed/exporters/clickhouse/row_encoder.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/otlp/otlp_encode.h"
#include "strobed/otlp/synthetic.h"

namespace strobed::exporters::clickhouse {
namespace {

event::BatchPtr SyntheticBatch(event::BatchPool& pool) {
  otlp::SyntheticTraces gen(42, {.spans = 1000, .attributes = 6, .spans_per_trace = 10});
  event::BatchPtr b = pool.Acquire();
  auto r = otlp::Decode(otlp::Signal::kTraces, otlp::Encoding::kProtobuf, gen.Next(), *b);
  if (!r.ok() || b->spans().size() != 1000) std::abort();
  return b;
}

void clickhouse_encode_spans(benchmark::State& state) {
  const Format format = state.range(0) == 0 ? Format::kRowBinary : Format::kJsonEachRow;
  event::BatchPool pool;
  event::BatchPtr b = SyntheticBatch(pool);
  RowEncoder enc(event::KeyTable::Global());
  std::string out;
  for (auto _ : state) {
    out.clear();
    enc.Spans(format, b->spans(), out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(b->spans().size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(out.size()));
  state.SetLabel(std::string(FormatName(format)));
}
BENCHMARK(clickhouse_encode_spans)->Arg(0)->Arg(1);

void otlp_encode_spans_baseline(benchmark::State& state) {
  event::BatchPool pool;
  event::BatchPtr b = SyntheticBatch(pool);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string out = otlp::EncodeTraces(b->spans(), event::KeyTable::Global());
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(b->spans().size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}
BENCHMARK(otlp_encode_spans_baseline);

}  // namespace
}  // namespace strobed::exporters::clickhouse
