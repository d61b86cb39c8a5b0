#pragma once

// gzip/deflate bodies of HTTP requests and responses (zlib): the OTLP/HTTP receiver, the HTTP
// client (base/http_client.h) and `strobe bench`. Decompression is bounded: a body that
// inflates beyond `max_output_bytes` is refused (decompression bombs), which the receiver
// answers with 413.
//
// Thread class: thread-safe (no shared state).

#include <cstdint>
#include <string>
#include <string_view>

#include "strobe/base/status.h"

namespace strobed::base {

// Content-Encoding values strobe understands.
enum class ContentEncoding : uint8_t { kIdentity = 0, kGzip, kDeflate, kUnknown };
ContentEncoding ParseContentEncoding(std::string_view header);

// Inflates gzip (or zlib/deflate) data. ResourceExhausted when the output would exceed
// `max_output_bytes`; InvalidArgument for corrupt or truncated data.
strobe::Result<std::string> Decompress(ContentEncoding encoding, std::string_view in,
                                       uint64_t max_output_bytes);

// gzip-compresses `in` (level 1..9; 6 is zlib's default).
std::string GzipCompress(std::string_view in, int level = 6);

}  // namespace strobed::base
