#include "strobed/base/url.h"

#include <algorithm>
#include <charconv>

namespace strobed::base {
namespace {

strobe::Status Bad(std::string_view text, std::string_view why) {
  return strobe::InvalidArgument("bad URL '" + std::string(text) + "': " + std::string(why));
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

bool HostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

std::string_view Url::scheme_name() const noexcept {
  return scheme == UrlScheme::kHttps ? "https" : "http";
}

std::string Url::HostHeader() const {
  std::string h = ipv6 ? "[" + host + "]" : host;
  const uint16_t default_port = scheme == UrlScheme::kHttps ? 443 : 80;
  if (port != default_port) h += ":" + std::to_string(port);
  return h;
}

std::string_view Url::BasePath() const noexcept {
  std::string_view p = target;
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  return p;
}

std::string Url::ToString() const {
  return std::string(scheme_name()) + "://" + HostHeader() + target;
}

strobe::Result<Url> ParseUrl(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Bad(text, "spaces and control characters are not allowed");
    }
  }
  Url url;
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos) return Bad(text, "expected scheme://host[:port][/path]");
  std::string_view scheme = text.substr(0, sep);
  if (EqualsIgnoreCase(scheme, "http")) {
    url.scheme = UrlScheme::kHttp;
    url.port = 80;
  } else if (EqualsIgnoreCase(scheme, "https")) {
    url.scheme = UrlScheme::kHttps;
    url.port = 443;
  } else {
    return Bad(text, "the scheme must be http or https");
  }
  std::string_view rest = text.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) return Bad(text, "fragments are not allowed");
  const std::size_t path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  if (path_at != std::string_view::npos) {
    url.target = rest[path_at] == '/' ? std::string(rest.substr(path_at))
                                      : "/" + std::string(rest.substr(path_at));
  }
  if (authority.find('@') != std::string_view::npos) {
    return Bad(text, "user info is not allowed (send credentials in a header)");
  }
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Bad(text, "unterminated IPv6 literal");
    std::string_view literal = authority.substr(1, close - 1);
    if (literal.empty() ||
        literal.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos ||
        literal.find(':') == std::string_view::npos) {
      return Bad(text, "bad IPv6 literal");
    }
    url.host = std::string(literal);
    url.ipv6 = true;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Bad(text, "unexpected text after the IPv6 literal");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const std::size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    if (url.host.empty()) return Bad(text, "no host");
    if (!std::all_of(url.host.begin(), url.host.end(), HostChar)) {
      return Bad(text, "the host has characters a host name cannot have");
    }
  }
  if (has_port) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
        value == 0 || value > 65535) {
      return Bad(text, "the port must be a number in [1, 65535]");
    }
    url.port = static_cast<uint16_t>(value);
  }
  return url;
}

}  // namespace strobed::base
