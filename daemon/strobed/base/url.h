#pragma once

// strobed::base::Url: the one URL parser of the daemon and the `strobe` CLI, for the http://
// (and, once the HTTP client gains TLS, https://) endpoints users configure: OTLP exporter
// endpoints, webhook and Alertmanager URLs, `strobe bench --url`.
//
//   ParseUrl("http://collector:4318/base")  -> {http, "collector", 4318, "/base"}
//   ParseUrl("http://[::1]:9093")           -> {http, "::1", 9093, "/"}, ipv6 = true
//
// Accepted: scheme "http" or "https" (case-insensitive), a host name, IPv4 address or a
// bracketed IPv6 literal, an optional port 1..65535 (default 80 / 443), an optional path and
// query. Refused (InvalidArgument, with the URL in the message): other schemes, user-info
// ("user:pass@" — put credentials in a header instead), fragments, empty hosts, bad ports,
// spaces or control characters anywhere.
//
// Thread class: thread-safe (pure functions and a value type).

#include <cstdint>
#include <string>
#include <string_view>

#include "strobe/base/status.h"

namespace strobed::base {

enum class UrlScheme : uint8_t { kHttp = 0, kHttps };

struct Url {
  UrlScheme scheme = UrlScheme::kHttp;
  std::string host;          // without brackets for IPv6 literals
  uint16_t port = 0;         // explicit or the scheme's default
  std::string target = "/";  // path (and "?query"); always starts with '/'
  bool ipv6 = false;         // host is an IPv6 literal

  // "http" or "https".
  std::string_view scheme_name() const noexcept;
  // host[:port] as sent in the Host header: the port is left out when it is the default,
  // IPv6 literals are bracketed.
  std::string HostHeader() const;
  // The port as text, for resolvers.
  std::string PortString() const { return std::to_string(port); }
  // The path with trailing slashes removed ("" for "/"): the base to which a caller appends
  // its own path (e.g. "/v1/traces").
  std::string_view BasePath() const noexcept;
  // The URL back as text: scheme://HostHeader()target.
  std::string ToString() const;

  friend bool operator==(const Url&, const Url&) = default;
};

// Parses `text` as described above. InvalidArgument on anything else.
strobe::Result<Url> ParseUrl(std::string_view text);

}  // namespace strobed::base
