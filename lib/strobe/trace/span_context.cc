#include "strobe/trace/span_context.h"

namespace strobe::trace {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c, bool lowercase_only) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (!lowercase_only && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& a) noexcept {
  for (uint8_t b : a) {
    if (b != 0) return false;
  }
  return true;
}

}  // namespace

bool DecodeHex(std::string_view hex, uint8_t* out, size_t out_len, bool lowercase_only) noexcept {
  if (hex.size() != out_len * 2) return false;
  for (size_t i = 0; i < out_len; ++i) {
    int hi = HexValue(hex[2 * i], lowercase_only);
    int lo = HexValue(hex[2 * i + 1], lowercase_only);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return true;
}

void EncodeHex(const uint8_t* in, size_t len, char* out) noexcept {
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kHexDigits[in[i] >> 4];
    out[2 * i + 1] = kHexDigits[in[i] & 0xf];
  }
}

bool TraceId::valid() const noexcept { return !AllZero(bytes); }
bool SpanId::valid() const noexcept { return !AllZero(bytes); }

void TraceId::ToHex(char* out) const noexcept { EncodeHex(bytes.data(), bytes.size(), out); }
void SpanId::ToHex(char* out) const noexcept { EncodeHex(bytes.data(), bytes.size(), out); }

std::string TraceId::ToHex() const {
  std::string s(32, '0');
  ToHex(s.data());
  return s;
}

std::string SpanId::ToHex() const {
  std::string s(16, '0');
  ToHex(s.data());
  return s;
}

std::optional<TraceId> TraceId::FromHex(std::string_view hex) noexcept {
  TraceId id;
  if (!DecodeHex(hex, id.bytes.data(), id.bytes.size(), true) || !id.valid()) return std::nullopt;
  return id;
}

std::optional<SpanId> SpanId::FromHex(std::string_view hex) noexcept {
  SpanId id;
  if (!DecodeHex(hex, id.bytes.data(), id.bytes.size(), true) || !id.valid()) return std::nullopt;
  return id;
}

}  // namespace strobe::trace
