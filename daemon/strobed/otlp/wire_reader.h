#pragma once

// A bounds-checked reader of the protobuf wire format (varint, fixed32/64, length-delimited),
// used by strobe's own OTLP decoder (otlp_decode.h). Every read checks the remaining length;
// a malformed input makes the read return false, never read past the end.
//
// Thread class: thread-compatible value type over borrowed bytes.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace strobed::otlp::internal {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

class WireReader {
 public:
  explicit WireReader(std::string_view bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}

  bool done() const { return p_ >= end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

  bool ReadVarint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) return false;
      uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;  // more than 10 bytes
  }

  // Reads a tag; field numbers of 0 are invalid.
  bool ReadTag(uint32_t& field, uint32_t& wire_type) {
    uint64_t tag;
    if (!ReadVarint(tag) || tag > 0xffffffffULL) return false;
    field = static_cast<uint32_t>(tag >> 3);
    wire_type = static_cast<uint32_t>(tag & 7);
    return field != 0;
  }

  bool ReadFixed64(uint64_t& v) {
    if (remaining() < 8) return false;
    std::memcpy(&v, p_, 8);  // little endian on every platform strobe builds for
    p_ += 8;
    return true;
  }

  bool ReadFixed32(uint32_t& v) {
    if (remaining() < 4) return false;
    std::memcpy(&v, p_, 4);
    p_ += 4;
    return true;
  }

  bool ReadDouble(double& d) {
    uint64_t v = 0;
    if (!ReadFixed64(v)) return false;
    std::memcpy(&d, &v, 8);
    return true;
  }

  bool ReadBytes(std::string_view& out) {
    uint64_t len;
    if (!ReadVarint(len) || len > remaining()) return false;
    out = {reinterpret_cast<const char*>(p_), static_cast<size_t>(len)};
    p_ += len;
    return true;
  }

  // Skips one field of `wire_type`. Groups (deprecated, unused by OTLP) are malformed here.
  bool Skip(uint32_t wire_type) {
    uint64_t v = 0;
    uint32_t f = 0;
    std::string_view s;
    switch (wire_type) {
      case kVarint:
        return ReadVarint(v);
      case kFixed64:
        return ReadFixed64(v);
      case kLengthDelimited:
        return ReadBytes(s);
      case kFixed32:
        return ReadFixed32(f);
      default:
        return false;
    }
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace strobed::otlp::internal
