#include "strobed/event/span.h"

namespace strobed::event {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <std::size_t N>
std::string ToHexBytes(const std::array<uint8_t, N>& bytes) {
  std::string out(N * 2, '0');
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 15];
  }
  return out;
}

template <std::size_t N>
bool FromHexBytes(std::string_view hex, std::array<uint8_t, N>& out) {
  if (hex.size() != N * 2) return false;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

uint64_t LoadBigEndian(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

void StoreBigEndian(uint64_t v, uint8_t* p) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

}  // namespace

bool TraceId::IsValid() const { return High() != 0 || Low() != 0; }
uint64_t TraceId::High() const { return LoadBigEndian(bytes.data()); }
uint64_t TraceId::Low() const { return LoadBigEndian(bytes.data() + 8); }
std::string TraceId::ToHex() const { return ToHexBytes(bytes); }

std::optional<TraceId> TraceId::FromHex(std::string_view hex) {
  TraceId id;
  if (!FromHexBytes(hex, id.bytes)) return std::nullopt;
  return id;
}

TraceId TraceId::FromHalves(uint64_t high, uint64_t low) {
  TraceId id;
  StoreBigEndian(high, id.bytes.data());
  StoreBigEndian(low, id.bytes.data() + 8);
  return id;
}

bool SpanId::IsValid() const { return Value() != 0; }
uint64_t SpanId::Value() const { return LoadBigEndian(bytes.data()); }
std::string SpanId::ToHex() const { return ToHexBytes(bytes); }

std::optional<SpanId> SpanId::FromHex(std::string_view hex) {
  SpanId id;
  if (!FromHexBytes(hex, id.bytes)) return std::nullopt;
  return id;
}

SpanId SpanId::FromValue(uint64_t v) {
  SpanId id;
  StoreBigEndian(v, id.bytes.data());
  return id;
}

}  // namespace strobed::event
