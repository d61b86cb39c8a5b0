#include "strobe/metrics/internal/http_request.h"

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace strobe::metrics::internal {
namespace {

// RFC 9110 tchar.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

// Field values: visible ASCII, space, tab and obs-text (bytes >= 0x80, e.g. UTF-8).
bool IsFieldValue(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
  });
}

// origin-form: '/' then visible ASCII only (no space, no control, no bytes >= 0x80 unencoded).
bool IsOriginForm(std::string_view s) {
  if (s.empty() || s.front() != '/') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lx = (x >= 'A' && x <= 'Z') ? static_cast<char>(x - 'A' + 'a') : x;
           const auto ly = (y >= 'A' && y <= 'Z') ? static_cast<char>(y - 'A' + 'a') : y;
           return lx == ly;
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated list `value` holds `token` (case-insensitive).
bool ListHas(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    if (EqualsIgnoreCase(Trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

ParseStatus ParseRequestHead(std::string_view buffer, size_t max_bytes, RequestHead* head) {
  const size_t end = buffer.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    // A bare LF can never become valid: fail early instead of waiting for max_bytes.
    const size_t lf = buffer.find('\n');
    if (lf != std::string_view::npos && (lf == 0 || buffer[lf - 1] != '\r')) {
      return ParseStatus::kBadRequest;
    }
    return buffer.size() >= max_bytes ? ParseStatus::kTooLarge : ParseStatus::kIncomplete;
  }
  if (end + 4 > max_bytes) return ParseStatus::kTooLarge;
  std::string_view rest = buffer.substr(0, end + 2);  // every line ends in CRLF

  auto next_line = [&rest](std::string_view* line) {
    const size_t crlf = rest.find("\r\n");
    *line = rest.substr(0, crlf);
    rest.remove_prefix(crlf + 2);
    // A CR or LF inside a line is a bare one: reject.
    return line->find_first_of("\r\n") == std::string_view::npos;
  };

  RequestHead h;
  std::string_view line;
  if (!next_line(&line)) return ParseStatus::kBadRequest;
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return ParseStatus::kBadRequest;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return ParseStatus::kBadRequest;
  h.method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(h.method) || !IsOriginForm(target)) return ParseStatus::kBadRequest;
  if (version == "HTTP/1.1") {
    h.http11 = true;
  } else if (version != "HTTP/1.0") {
    return ParseStatus::kBadRequest;
  }
  h.path = target.substr(0, target.find('?'));

  bool connection_close = false;
  bool connection_keep_alive = false;
  size_t headers = 0;
  while (!rest.empty()) {
    if (!next_line(&line)) return ParseStatus::kBadRequest;
    if (++headers > kMaxHeaders) return ParseStatus::kTooLarge;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return ParseStatus::kBadRequest;
    const std::string_view name = line.substr(0, colon);  // no space before ':' (RFC 9112)
    const std::string_view value = Trim(line.substr(colon + 1));
    if (!IsToken(name) || !IsFieldValue(value)) return ParseStatus::kBadRequest;
    if (EqualsIgnoreCase(name, "accept")) {
      h.accept = value;
    } else if (EqualsIgnoreCase(name, "connection")) {
      connection_close = connection_close || ListHas(value, "close");
      connection_keep_alive = connection_keep_alive || ListHas(value, "keep-alive");
    } else if (EqualsIgnoreCase(name, "content-length")) {
      if (value != "0") return ParseStatus::kBadRequest;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      return ParseStatus::kBadRequest;
    }
  }
  h.keep_alive = !connection_close && (h.http11 || connection_keep_alive);
  h.head_bytes = end + 4;
  *head = h;
  return ParseStatus::kOk;
}

}  // namespace strobe::metrics::internal
