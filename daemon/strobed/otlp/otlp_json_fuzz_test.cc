// Fuzzes the OTLP/JSON decoder for all three signals (the first byte picks the signal).
#include <cstdint>
#include <string_view>

#include "strobed/otlp/otlp_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto signal = static_cast<strobed::otlp::Signal>(data[0] % 3);
  strobed::event::Batch batch(nullptr, 4096, 1 << 20);
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto r = strobed::otlp::Decode(signal, strobed::otlp::Encoding::kJson, body, batch);
  (void)r;
  return 0;
}
