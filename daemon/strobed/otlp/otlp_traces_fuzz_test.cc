// Fuzzes the OTLP protobuf traces decoder (request bodies come from the network): any input
// must either decode or fail with a Status — never crash, hang or read out of bounds — and what
// decodes must survive encode → decode unchanged (roundtrip_fuzz.h).
#include <cstdint>
#include <string_view>

#include "strobed/otlp/otlp_decode.h"
#include "strobed/otlp/roundtrip_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Its own key table: a fuzzing run interns many keys; when it is full, refused keys are
  // dropped consistently by both decodes of the round trip.
  static strobed::event::KeyTable* keys = new strobed::event::KeyTable(1 << 16);
  strobed::event::Batch batch(nullptr, 4096, 1 << 20, keys);
  std::string_view body(reinterpret_cast<const char*>(data), size);
  strobed::otlp::DecodeOptions o;
  o.keys = keys;
  auto r = strobed::otlp::Decode(strobed::otlp::Signal::kTraces, strobed::otlp::Encoding::kProtobuf,
                                 body, batch, o);
  if (r.ok()) strobed::otlp::fuzz::CheckRoundTrip(strobed::otlp::Signal::kTraces, batch, *r, *keys);
  return 0;
}
