#pragma once

// Synthetic OTLP trace requests: valid, varied ExportTraceServiceRequest bodies used by the
// `strobe bench otlp` load generator, the decoder benchmark and tests. Each request holds
// `spans` spans in traces of `spans_per_trace` (a root SERVER span and CLIENT/INTERNAL
// children across 3 services), each span with `attributes` attributes (strings and ints whose
// values vary with the seed), random full-width ids and ~1% error spans.
//
// Thread class: thread-compatible (one generator per thread).

#include <cstdint>
#include <string>

namespace strobed::otlp {

struct SyntheticOptions {
  int spans = 1000;
  int attributes = 6;
  int spans_per_trace = 10;
};

class SyntheticTraces {
 public:
  explicit SyntheticTraces(uint64_t seed, SyntheticOptions options = {});
  // A new serialized request (new ids and timestamps each call).
  std::string Next();

 private:
  uint64_t NextRandom();
  uint64_t state_;
  SyntheticOptions options_;
  uint64_t counter_ = 0;
};

}  // namespace strobed::otlp
