#include "strobed/base/compression.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>

namespace strobed::base {

ContentEncoding ParseContentEncoding(std::string_view h) {
  while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.remove_prefix(1);
  while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.remove_suffix(1);
  std::string v(h);
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v.empty() || v == "identity") return ContentEncoding::kIdentity;
  if (v == "gzip" || v == "x-gzip") return ContentEncoding::kGzip;
  if (v == "deflate") return ContentEncoding::kDeflate;
  return ContentEncoding::kUnknown;
}

strobe::Result<std::string> Decompress(ContentEncoding encoding, std::string_view in,
                                       uint64_t max_output_bytes, ByteLease* lease) {
  ByteLease unbounded;
  ByteLease& charge = lease != nullptr ? *lease : unbounded;
  const uint64_t held_before = charge.bytes();
  std::string out;
  // On failure: free the output, then give its charge back.
  auto discard = [&] {
    std::string().swap(out);
    charge.Release(charge.bytes() - held_before);
  };
  // Every growth of `out` is charged before it is allocated.
  auto grow = [&](size_t size) {
    if (!GrowStringCharged(charge, out, size)) return false;
    out.resize(size);
    return true;
  };
  auto refused = [&] {
    discard();
    const ByteBudget* b = charge.budget();
    return strobe::Unavailable("ingress memory budget exhausted (" +
                               std::to_string(b->used_bytes()) + " of " +
                               std::to_string(b->limit_bytes()) + " bytes in use); retry later");
  };
  if (encoding == ContentEncoding::kIdentity) {
    if (!grow(in.size())) return refused();
    out.assign(in);
    return out;
  }
  if (encoding == ContentEncoding::kUnknown) {
    return strobe::InvalidArgument("unsupported content encoding");
  }
  z_stream zs{};
  // 16 + MAX_WBITS: gzip only; 32 + MAX_WBITS: auto-detect zlib or gzip (deflate bodies are
  // zlib-wrapped per RFC 9110).
  int window = encoding == ContentEncoding::kGzip ? 16 + MAX_WBITS : 32 + MAX_WBITS;
  if (inflateInit2(&zs, window) != Z_OK) return strobe::Internal("inflateInit2 failed");
  auto fail = [&](strobe::Status status) {
    inflateEnd(&zs);
    discard();
    return status;
  };
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  if (!grow(std::min<uint64_t>(max_output_bytes, std::max<size_t>(in.size() * 4, 4096)))) {
    return fail(refused());
  }
  size_t produced = 0;
  while (true) {
    if (produced == out.size()) {
      if (out.size() >= max_output_bytes) {
        return fail(strobe::ResourceExhausted("decompressed body larger than " +
                                              std::to_string(max_output_bytes) + " bytes"));
      }
      if (!grow(std::min<uint64_t>(max_output_bytes, out.size() * 2))) return fail(refused());
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // RFC 1952 2.2: a gzip file is a series of members; decode the next one into the same
      // output, under the same limit. Anything else after the stream is refused, not ignored.
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        if (inflateReset(&zs) != Z_OK) return fail(strobe::Internal("inflateReset failed"));
        continue;
      }
      return fail(strobe::InvalidArgument(std::to_string(zs.avail_in) +
                                          " bytes of trailing data after the compressed body"));
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      return fail(strobe::InvalidArgument("truncated compressed body"));
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return fail(strobe::InvalidArgument(std::string("corrupt compressed body: ") +
                                          (zs.msg != nullptr ? zs.msg : "inflate error")));
    }
  }
  inflateEnd(&zs);
  out.resize(produced);
  return out;
}

std::string GzipCompress(std::string_view in, int level) {
  z_stream zs{};
  deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace strobed::base
