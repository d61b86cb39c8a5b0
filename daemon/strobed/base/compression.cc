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
                                       uint64_t max_output_bytes) {
  if (encoding == ContentEncoding::kIdentity) return std::string(in);
  if (encoding == ContentEncoding::kUnknown) {
    return strobe::InvalidArgument("unsupported content encoding");
  }
  z_stream zs{};
  // 16 + MAX_WBITS: gzip only; 32 + MAX_WBITS: auto-detect zlib or gzip (deflate bodies are
  // zlib-wrapped per RFC 9110).
  int window = encoding == ContentEncoding::kGzip ? 16 + MAX_WBITS : 32 + MAX_WBITS;
  if (inflateInit2(&zs, window) != Z_OK) return strobe::Internal("inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  out.resize(std::min<uint64_t>(max_output_bytes, std::max<size_t>(in.size() * 4, 4096)));
  size_t produced = 0;
  int rc = Z_OK;
  while (true) {
    if (produced == out.size()) {
      if (out.size() >= max_output_bytes) {
        inflateEnd(&zs);
        return strobe::ResourceExhausted("decompressed body larger than " +
                                         std::to_string(max_output_bytes) + " bytes");
      }
      out.resize(std::min<uint64_t>(max_output_bytes, out.size() * 2));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      inflateEnd(&zs);
      return strobe::InvalidArgument("truncated compressed body");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      inflateEnd(&zs);
      return strobe::InvalidArgument(std::string("corrupt compressed body: ") +
                                     (zs.msg != nullptr ? zs.msg : "inflate error"));
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
