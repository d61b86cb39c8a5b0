// exposer_bench_server [series]: registers `series` (default 10,000) counter series
// (bench_requests_total{id="0".."N-1"}, each incremented i+1 times) in a registry of its own,
// serves it with strobe::metrics::Exposer on 127.0.0.1 (a free port), prints
// `listening on 127.0.0.1:<port>` and serves until stdin closes. Used by exposer_wrk.sh.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "strobe/metrics/exposer.h"
#include "strobe/metrics/registry.h"

int main(int argc, char** argv) {
  namespace m = strobe::metrics;
  const long series = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 10'000;
  m::Registry registry;
  auto family = registry.AddCounterFamily({"bench_requests_total", "Requests", ""}, {"id"},
                                          {.max_series = static_cast<size_t>(series)});
  if (!family.ok()) return 1;
  for (long i = 0; i < series; ++i) {
    (*family)->With({{"id", std::to_string(i)}}).Add(static_cast<uint64_t>(i + 1));
  }
  auto exposer = m::Exposer::Start(registry, {.port = 0, .max_connections = 64});
  if (!exposer.ok()) {
    std::fprintf(stderr, "%s\n", exposer.status().ToString().c_str());
    return 1;
  }
  std::printf("listening on 127.0.0.1:%u\n", (*exposer)->port());
  std::fflush(stdout);
  while (std::getchar() != EOF) {
  }
  return 0;
}
