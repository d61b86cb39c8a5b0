#pragma once

// gzip/deflate bodies of HTTP requests and responses (zlib): the OTLP/HTTP receiver, the HTTP
// client (base/http_client.h) and `strobe bench`. Decompression is bounded: a body that
// inflates beyond `max_output_bytes` is refused (decompression bombs), which the receiver
// answers with 413. The output can be charged to a ByteBudget (the daemon's ingress budget) as
// it grows; a refusal is Unavailable, which the receiver answers with 503 + Retry-After.
//
// Thread class: thread-safe (no shared state).

#include <cstdint>
#include <string>
#include <string_view>

#include "strobe/base/status.h"
#include "strobed/base/byte_budget.h"

namespace strobed::base {

// Content-Encoding values strobe understands.
enum class ContentEncoding : uint8_t { kIdentity = 0, kGzip, kDeflate, kUnknown };
ContentEncoding ParseContentEncoding(std::string_view header);

// Inflates gzip (or zlib/deflate) data: every member of a multi-member gzip body (RFC 1952
// 2.2), concatenated into one output under one limit. ResourceExhausted when the output would
// exceed `max_output_bytes`; InvalidArgument for corrupt or truncated data, or bytes after the
// last member that do not start another. With a `lease`, every growth of the output buffer is
// charged to it before it is allocated, and Unavailable (nothing kept) when its budget refuses;
// on success the lease holds the returned string's capacity, so keep it as long as the string.
// kIdentity copies `in` (charged the same way).
strobe::Result<std::string> Decompress(ContentEncoding encoding, std::string_view in,
                                       uint64_t max_output_bytes, ByteLease* lease = nullptr);

// gzip-compresses `in` (level 1..9; 6 is zlib's default).
std::string GzipCompress(std::string_view in, int level = 6);

}  // namespace strobed::base
