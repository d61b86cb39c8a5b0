// Fuzzes the OTLP protobuf traces decoder (request bodies come from the network): any input
// must either decode or fail with a Status — never crash, hang or read out of bounds.
#include <cstdint>
#include <string_view>

#include "strobed/otlp/otlp_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strobed::event::Batch batch(nullptr, 4096, 1 << 20);
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = strobed::otlp::Decode(strobed::otlp::Signal::kTraces, strobed::otlp::Encoding::kProtobuf,
                                 body, batch);
  (void)r;
  return 0;
}
