// Fuzzes what a remote client can send the Exposer (exposer.h): the request-head parser and
// the Accept negotiation it feeds. Input: the first byte picks max_bytes (64..319), the rest
// is the bytes received. Checks the parser's promises: views stay inside the buffer, the head
// fits max_bytes, an accepted head ends in CRLF CRLF.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "strobe/base/check.h"
#include "strobe/metrics/exposition.h"
#include "strobe/metrics/internal/http_request.h"

namespace {

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t max_bytes = 64 + data[0];
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  strobe::metrics::internal::RequestHead h;
  const auto status = strobe::metrics::internal::ParseRequestHead(in, max_bytes, &h);
  if (status == strobe::metrics::internal::ParseStatus::kOk) {
    STROBE_CHECK(h.head_bytes >= 4 && h.head_bytes <= in.size() && h.head_bytes <= max_bytes);
    STROBE_CHECK(in.substr(h.head_bytes - 4, 4) == "\r\n\r\n");
    STROBE_CHECK(Inside(h.method, in) && Inside(h.path, in) && Inside(h.accept, in));
    STROBE_CHECK(!h.path.empty() && h.path.front() == '/');
    const auto n = strobe::metrics::NegotiateFormat(h.accept);
    STROBE_CHECK(n.content_type == strobe::metrics::ContentType(n.format));
  } else if (status == strobe::metrics::internal::ParseStatus::kIncomplete) {
    STROBE_CHECK(in.size() < max_bytes);
  }
  return 0;
}
