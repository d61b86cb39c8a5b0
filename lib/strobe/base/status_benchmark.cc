// Machine conditions: release preset (-O2), an otherwise idle machine; figures are medians
// of --benchmark_repetitions. Proves the benchmark wiring; OK Status must cost nothing.
#include <benchmark/benchmark.h>

#include "strobe/base/status.h"

namespace {

strobe::Result<int> Parse(int x) {
  if (x < 0) return strobe::InvalidArgument("negative");
  return x;
}

void status_ok_result(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    auto r = Parse(i++ & 0xffff);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(status_ok_result);

void status_error_result(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    auto r = Parse(-1 - (i++ & 0xffff));
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(status_error_result);

}  // namespace
