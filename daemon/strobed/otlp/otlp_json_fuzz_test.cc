// Fuzzes the OTLP/JSON decoder for all three signals (the first byte picks the signal): any
// input must decode or fail with a Status, and what decodes must survive encode (protobuf) →
// decode unchanged (roundtrip_fuzz.h).
#include <cstdint>
#include <string_view>

#include "strobed/otlp/otlp_decode.h"
#include "strobed/otlp/roundtrip_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static strobed::event::KeyTable* keys = new strobed::event::KeyTable(1 << 16);
  auto signal = static_cast<strobed::otlp::Signal>(data[0] % 3);
  strobed::event::Batch batch(nullptr, 4096, 1 << 20, keys);
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  strobed::otlp::DecodeOptions o;
  o.keys = keys;
  auto r = strobed::otlp::Decode(signal, strobed::otlp::Encoding::kJson, body, batch, o);
  if (r.ok()) strobed::otlp::fuzz::CheckRoundTrip(signal, batch, *r, *keys);
  return 0;
}
