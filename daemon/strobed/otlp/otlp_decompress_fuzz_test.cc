// Fuzzes the bounded gzip/deflate inflater that runs on every compressed OTLP/HTTP request
// body before a decoder sees it (the bytes come from the network): any input must inflate
// within the bound or fail with a Status — never crash, hang, or return more than the bound.
// The first byte picks the encoding (even: gzip, odd: deflate); the rest is the body.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "strobed/base/compression.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  constexpr uint64_t kMaxOutput = 1 << 20;
  const auto encoding = (data[0] & 1) == 0 ? strobed::base::ContentEncoding::kGzip
                                           : strobed::base::ContentEncoding::kDeflate;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto r = strobed::base::Decompress(encoding, body, kMaxOutput);
  if (r.ok() && r->size() > kMaxOutput) std::abort();  // the bound is the contract
  return 0;
}
