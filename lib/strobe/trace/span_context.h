#pragma once

// Identifiers of W3C Trace Context: TraceId (16 bytes), SpanId (8 bytes), trace flags and the
// SpanContext that carries them, plus lowercase-hex conversion. All ids are full width; an id of
// all zero bytes is invalid, as W3C and OTLP say.
//
// Thread class: thread-compatible value types; the free functions are thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strobe::trace {

struct TraceId {
  std::array<uint8_t, 16> bytes{};

  bool valid() const noexcept;
  // 32 lowercase hex characters.
  std::string ToHex() const;
  // Writes 32 lowercase hex characters to `out`.
  void ToHex(char* out) const noexcept;
  // Strict: exactly 32 lowercase hex characters, not all zero.
  static std::optional<TraceId> FromHex(std::string_view hex) noexcept;
  friend bool operator==(const TraceId&, const TraceId&) = default;
};

struct SpanId {
  std::array<uint8_t, 8> bytes{};

  bool valid() const noexcept;
  std::string ToHex() const;
  void ToHex(char* out) const noexcept;  // 16 lowercase hex characters
  // Strict: exactly 16 lowercase hex characters, not all zero.
  static std::optional<SpanId> FromHex(std::string_view hex) noexcept;
  friend bool operator==(const SpanId&, const SpanId&) = default;
};

inline constexpr uint8_t kTraceFlagSampled = 0x01;

struct SpanContext {
  TraceId trace_id;
  SpanId span_id;
  uint8_t trace_flags = 0;
  bool remote = false;  // extracted from a carrier rather than created in this process

  bool valid() const noexcept { return trace_id.valid() && span_id.valid(); }
  bool sampled() const noexcept { return (trace_flags & kTraceFlagSampled) != 0; }
  friend bool operator==(const SpanContext&, const SpanContext&) = default;
};

// Decodes hex digit pairs into `out` (out.size() * 2 == hex.size()). Lowercase only when
// `lowercase_only`; otherwise either case. Returns false on any non-hex character.
bool DecodeHex(std::string_view hex, uint8_t* out, size_t out_len, bool lowercase_only) noexcept;
// Writes 2 * len lowercase hex characters.
void EncodeHex(const uint8_t* in, size_t len, char* out) noexcept;

}  // namespace strobe::trace
