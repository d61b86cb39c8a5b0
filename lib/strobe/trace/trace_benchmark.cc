// Machine conditions: release preset (-O2), an otherwise idle machine; figures are medians of
// --benchmark_repetitions. The target: span_start_end_4attrs <= 100 ns into the
// in-process pipeline sink (SpanBuffer). Baselines in the same run:
//   span_baseline_two_clock_reads — the floor every recording span pays (start + end time);
//   span_start_end_unsampled      — a span that propagates context but records nothing.
// The buffer is drained outside the timed region every 2048 spans, so the figure is the
// producer's cost (the consumer runs on another thread in the daemon).
#include <benchmark/benchmark.h>

#include "strobe/trace/span_buffer.h"
#include "strobe/trace/tracer.h"

namespace {

using strobe::trace::Span;
using strobe::trace::SpanBuffer;
using strobe::trace::SpanRecord;
using strobe::trace::Tracer;

constexpr int kDrainEvery = 2048;

void DrainIfDue(benchmark::State& state, SpanBuffer& buf, int& n) {
  if (++n < kDrainEvery) return;
  n = 0;
  state.PauseTiming();
  buf.Drain([](const SpanRecord& r) { benchmark::DoNotOptimize(r.attr_count); });
  state.ResumeTiming();
}

void span_start_end_4attrs(benchmark::State& state) {
  SpanBuffer buf(4096);
  Tracer tracer(buf);
  int n = 0;
  int64_t i = 0;
  for (auto _ : state) {
    {
      Span s(tracer, "GET /api/items", strobe::trace::SpanKind::kServer);
      s.SetAttribute("http.method", "GET");
      s.SetAttribute("http.status_code", 200);
      s.SetAttribute("net.peer.port", ++i);
      s.SetAttribute("cache.hit", true);
    }
    DrainIfDue(state, buf, n);
  }
  state.counters["dropped"] = static_cast<double>(buf.dropped());
}
BENCHMARK(span_start_end_4attrs);

void span_start_end_unsampled(benchmark::State& state) {
  SpanBuffer buf(16);
  strobe::trace::TracerOptions options;
  options.sample_ratio = 0.0;
  Tracer tracer(buf, options);
  for (auto _ : state) {
    Span s(tracer, "GET /api/items", strobe::trace::SpanKind::kServer);
    s.SetAttribute("http.method", "GET");
    s.SetAttribute("http.status_code", 200);
    s.SetAttribute("net.peer.port", 1234);
    s.SetAttribute("cache.hit", true);
    benchmark::DoNotOptimize(s.context());
  }
}
BENCHMARK(span_start_end_unsampled);

void span_baseline_two_clock_reads(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(strobe::trace::SystemNowUnixNs());
    benchmark::DoNotOptimize(strobe::trace::SystemNowUnixNs());
  }
}
BENCHMARK(span_baseline_two_clock_reads);

void span_fast_clock_two_reads(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(strobe::FastWallNowNs());
    benchmark::DoNotOptimize(strobe::FastWallNowNs());
  }
}
BENCHMARK(span_fast_clock_two_reads);

void span_start_end_4attrs_contended(benchmark::State& state) {
  static SpanBuffer* buf = new SpanBuffer(1 << 14);  // shared by the benchmark's threads
  static Tracer* tracer = new Tracer(*buf);
  int n = 0;
  for (auto _ : state) {
    {
      Span s(*tracer, "GET /api/items", strobe::trace::SpanKind::kServer);
      s.SetAttribute("http.method", "GET");
      s.SetAttribute("http.status_code", 200);
      s.SetAttribute("net.peer.port", 1234);
      s.SetAttribute("cache.hit", true);
    }
    if (state.thread_index() == 0) {
      DrainIfDue(state, *buf, n);
    }
  }
}
BENCHMARK(span_start_end_4attrs_contended)->Threads(2);

}  // namespace
