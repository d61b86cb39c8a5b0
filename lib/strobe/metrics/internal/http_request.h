#pragma once

// The HTTP/1.x request-head parser of the Exposer (exposer.h): the one piece of it that reads
// bytes from the network, kept apart so its fuzz target (exposer_request_fuzz_test.cc) drives
// exactly what a remote client can reach. Not installed (a PRIVATE_HDRS header).
//
// It accepts only what a scraper sends: `METHOD SP origin-form-target SP HTTP/1.0|1.1 CRLF`,
// then `name: value CRLF` header lines (token names, visible-ASCII/space/tab values), then CRLF.
// Bare LF, obsolete line folding, NUL and other control bytes, a request line or header
// section longer than `max_bytes`, more than kMaxHeaders headers, a request body
// (Content-Length other than 0, any Transfer-Encoding) are rejected: the exposer answers 400 or
// 431 and closes, so it never has to frame a body (no request smuggling).
//
// Thread class: thread-safe (pure functions).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace strobe::metrics::internal {

inline constexpr size_t kMaxHeaders = 64;

enum class ParseStatus : uint8_t {
  kIncomplete,  // the head has not ended yet and is below max_bytes: read more
  kOk,
  kBadRequest,  // malformed: answer 400 and close
  kTooLarge,    // the head exceeds max_bytes or kMaxHeaders: answer 431 and close
};

// Views into the parsed buffer; valid while it is.
struct RequestHead {
  std::string_view method;
  std::string_view path;    // the target without its query string
  std::string_view accept;  // the Accept header value (last one wins), empty when absent
  bool http11 = false;
  bool keep_alive = false;  // HTTP/1.1 without `Connection: close`, or 1.0 with keep-alive
  size_t head_bytes = 0;    // bytes of the head including the final CRLF CRLF
};

// Parses the request head at the start of `buffer`. kOk fills *head; the other results leave
// it unspecified. Never reads past buffer.size() and never allocates.
ParseStatus ParseRequestHead(std::string_view buffer, size_t max_bytes, RequestHead* head);

}  // namespace strobe::metrics::internal
