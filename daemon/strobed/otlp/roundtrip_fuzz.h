#pragma once

// The property the OTLP fuzz targets assert on every request that decodes: what strobe's
// decoder accepted, strobe's encoder writes, and the decoder reads back as the same events.
//
//   decode(body) = B1 → encode(B1) = E1 → decode(E1) = B2 (must succeed, same item count,
//   nothing refused or dropped) → encode(B2) = E2, and E1 == E2 byte for byte.
//
// Encoding is deterministic, so E1 == E2 means B1 and B2 hold the same events as far as OTLP
// can carry them (ids, names, times, attributes, values, resources, scopes). A difference is
// a decoder or encoder bug: a field lost or invented on one side. Aborts with the two sizes
// and the first differing offset, which libFuzzer reports with the input.
//
// Thread class: fuzz harness only (single-threaded).

#include <cstdio>
#include <cstdlib>
#include <string>

#include "strobed/event/batch.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/otlp/otlp_encode.h"

namespace strobed::otlp::fuzz {

inline std::string EncodeBatch(Signal signal, const event::Batch& batch,
                               const event::KeyTable& keys) {
  switch (signal) {
    case Signal::kTraces:
      return EncodeTraces(batch.spans(), keys);
    case Signal::kMetrics:
      return EncodeMetrics(batch.metrics(), keys);
    case Signal::kLogs:
      return EncodeLogs(batch.logs(), keys);
  }
  return {};
}

inline void RoundTripFail(const char* what, const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  std::fprintf(stderr, "OTLP round trip: %s (sizes %zu and %zu, first difference at %zu)\n", what,
               a.size(), b.size(), i);
  std::abort();
}

// `first` holds what Decode(signal, ..., options.keys) appended for one request.
inline void CheckRoundTrip(Signal signal, const event::Batch& first, const DecodeStats& stats,
                           event::KeyTable& keys) {
  const std::string e1 = EncodeBatch(signal, first, keys);
  event::Batch second(nullptr, 4096, 1 << 20, &keys);
  DecodeOptions o;
  o.keys = &keys;
  auto r = Decode(signal, Encoding::kProtobuf, e1, second, o);
  if (!r.ok()) {
    std::fprintf(stderr, "OTLP round trip: the encoder's output does not decode: %s\n",
                 r.status().ToString().c_str());
    std::abort();
  }
  if (r->items != stats.items || r->refused_items != 0 || r->dropped_attributes != 0 ||
      r->invalid_utf8 != 0) {
    std::fprintf(stderr,
                 "OTLP round trip: %llu items decoded first, %llu again (refused %llu, dropped "
                 "attributes %llu, invalid UTF-8 %llu)\n",
                 static_cast<unsigned long long>(stats.items),
                 static_cast<unsigned long long>(r->items),
                 static_cast<unsigned long long>(r->refused_items),
                 static_cast<unsigned long long>(r->dropped_attributes),
                 static_cast<unsigned long long>(r->invalid_utf8));
    std::abort();
  }
  const std::string e2 = EncodeBatch(signal, second, keys);
  if (e1 != e2) RoundTripFail("re-encoding the decoded request differs", e1, e2);
}

}  // namespace strobed::otlp::fuzz
