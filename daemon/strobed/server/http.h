#pragma once

// Plain HTTP request/response types every daemon module uses to serve HTTP without including
// Boost.Beast (Beast stays inside server/*.cc).
//
//   Request   what a handler receives: method, raw target, path, query, headers (case-
//             insensitive lookup), body (already de-chunked; compressed bodies are NOT
//             decoded — a handler that accepts gzip checks Content-Encoding itself).
//   Response  what a handler returns: status, headers, body. Helpers build JSON, text and
//             the daemon's uniform JSON error shape:
//               {"error":{"code":404,"status":"Not Found","message":"no route for /x"}}
//
// Thread class: value types, thread-compatible.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strobed::server {

// HTTP header fields in arrival order. Lookups ignore ASCII case, as RFC 9110 requires.
class Headers {
 public:
  // Appends a field (repeated names are kept).
  void Add(std::string name, std::string value);
  // Replaces every field called `name` with one field.
  void Set(std::string name, std::string value);
  // The first value of `name`, or nullopt.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// True when `a` and `b` are equal ignoring ASCII case.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

struct Request {
  std::string method;  // upper case as sent: "GET", "POST", ...
  std::string target;  // raw request target, "/api/v1/metrics?name=x"
  std::string path;    // target up to '?', not percent-decoded
  std::string query;   // after '?', not decoded ("" when absent)
  Headers headers;
  std::string body;            // de-chunked body, at most the route's max_body_bytes
  std::string remote_address;  // "127.0.0.1:53211"
  std::string route;           // the pattern that matched ("/api/v1/status", "/debug/*")

  // The percent-decoded value of query parameter `key` ('+' is a space), or nullopt.
  std::optional<std::string> QueryParam(std::string_view key) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  // `body` must be valid JSON; sets Content-Type: application/json.
  static Response Json(int status, std::string body);
  // Sets Content-Type to `content_type`.
  static Response Text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  // The uniform JSON error body shown in the header comment.
  static Response Error(int status, std::string_view message);
};

// "Not Found" for 404, "" for codes it does not know.
std::string_view StatusReason(int status);

// Percent-decodes `s` ('+' becomes a space). Malformed escapes are kept literally.
std::string PercentDecode(std::string_view s);

// The name=value pairs of an application/x-www-form-urlencoded string (a URL query or a POST
// form body), percent-decoded, in order; names may repeat ("match[]=a&match[]=b").
std::vector<std::pair<std::string, std::string>> ParseForm(std::string_view encoded);

}  // namespace strobed::server
