// strobe_consumer: the smallest real user of an installed libstrobe. It records a counter,
// a histogram and a span, serves the metrics with strobe::metrics::Exposer on 127.0.0.1 (a
// free port), prints `listening on 127.0.0.1:<port>` and serves until its stdin closes.
//
// Builds with CMake (find_package(strobe), CMakeLists.txt here) or with pkg-config:
//   g++ -std=c++20 main.cc $(pkg-config --cflags --libs strobe) -o strobe_consumer

#include <cstdio>
#include <string>

#include "strobe/base/version.h"
#include "strobe/metrics/exposer.h"
#include "strobe/metrics/registry.h"
#include "strobe/trace/span_buffer.h"
#include "strobe/trace/tracer.h"

int main() {
  namespace m = strobe::metrics;
  m::Registry registry;
  auto jobs = registry.AddCounter({"consumer_jobs_total", "Jobs done", ""});
  auto sizes =
      registry.AddHistogram({"consumer_job_bytes", "Job sizes", "bytes"}, {.bounds = {100, 1000}});
  if (!jobs.ok() || !sizes.ok()) {
    std::fprintf(stderr, "register: %s\n", jobs.status().ToString().c_str());
    return 1;
  }
  strobe::trace::SpanBuffer spans;
  strobe::trace::Tracer tracer(spans);
  for (int i = 0; i < 3; ++i) {
    strobe::trace::Span span(tracer, "job");
    (*jobs)->Inc();
    (*sizes)->Record(static_cast<uint64_t>(50 + 500 * i));  // 50, 550, 1050
  }
  const size_t ended = spans.Drain([](const strobe::trace::SpanRecord&) {});
  auto spans_ended = registry.AddGauge({"consumer_spans_ended", "Spans drained", ""});
  (*spans_ended)->Set(static_cast<double>(ended));

  auto exposer = m::Exposer::Start(registry, {.port = 0});
  if (!exposer.ok()) {
    std::fprintf(stderr, "exposer: %s\n", exposer.status().ToString().c_str());
    return 1;
  }
  std::printf("strobe %s\nlistening on 127.0.0.1:%u\n", strobe::kVersion, (*exposer)->port());
  std::fflush(stdout);
  while (std::getchar() != EOF) {
  }
  return 0;
}
