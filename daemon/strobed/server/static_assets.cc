#include "strobed/server/static_assets.h"

#include <charconv>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "strobed/base/compression.h"

namespace strobed::server {
namespace {

// One asset ready to serve: the embedded gzip bytes and their inflated copy.
struct Served {
  const StaticAsset* asset;
  std::string identity;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether an If-None-Match value lists `etag` (or is "*"). Weak validators (W/"x") compare
// weakly, which RFC 9110 13.1.2 prescribes for If-None-Match.
bool EtagMatches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = Trim(header.substr(0, comma));
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == "*" || item == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

const char kHtmlPolicy[] =
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' "
    "'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

}  // namespace

bool AcceptsGzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    size_t comma = accept_encoding.find(',');
    std::string_view item = Trim(accept_encoding.substr(0, comma));
    size_t semi = item.find(';');
    std::string_view coding = Trim(item.substr(0, semi));
    if (EqualsIgnoreCase(coding, "gzip") || EqualsIgnoreCase(coding, "x-gzip") || coding == "*") {
      bool zero = false;
      if (semi != std::string_view::npos) {
        std::string_view param = Trim(item.substr(semi + 1));
        if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
          double q = 1;
          std::string_view v = param.substr(2);
          auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), q);
          zero = ec == std::errc() && q <= 0;
        }
      }
      if (!zero) return true;
    }
    if (comma == std::string_view::npos) break;
    accept_encoding.remove_prefix(comma + 1);
  }
  return false;
}

strobe::Status MountStaticAssets(Router& router, std::span<const StaticAsset> assets) {
  // path → asset; shared by the routes, read-only once built.
  auto table = std::make_shared<std::map<std::string, Served, std::less<>>>();
  for (const StaticAsset& a : assets) {
    auto inflated = base::Decompress(base::ContentEncoding::kGzip, a.gzip, a.size + 1);
    if (!inflated.ok() || inflated->size() != a.size) {
      return strobe::InvalidArgument("embedded asset " + std::string(a.path) +
                                     " does not inflate to its recorded size");
    }
    table->emplace(std::string(a.path), Served{&a, std::move(*inflated)});
  }
  Handler serve = [table](const Request& r) {
    auto it = table->find(r.path);
    if (it == table->end()) return Response::Error(404, "no asset " + r.path);
    const StaticAsset& a = *it->second.asset;
    Response res;
    res.headers.Set("ETag", std::string(a.etag));
    res.headers.Set("Cache-Control", "no-cache");
    res.headers.Set("Vary", "Accept-Encoding");
    res.headers.Set("X-Content-Type-Options", "nosniff");
    if (auto inm = r.headers.Get("If-None-Match"); inm && EtagMatches(*inm, a.etag)) {
      res.status = 304;
      return res;
    }
    res.headers.Set("Content-Type", std::string(a.content_type));
    if (a.content_type.starts_with("text/html")) {
      res.headers.Set("Content-Security-Policy", kHtmlPolicy);
      res.headers.Set("Referrer-Policy", "no-referrer");
    }
    auto ae = r.headers.Get("Accept-Encoding");
    if (ae && AcceptsGzip(*ae)) {
      res.headers.Set("Content-Encoding", "gzip");
      res.body.assign(a.gzip);
    } else {
      res.body = it->second.identity;
    }
    return res;
  };
  std::set<std::string> patterns;  // one prefix route per folder ("/assets/*")
  for (const StaticAsset& a : assets) {
    size_t slash = a.path.rfind('/');
    patterns.insert(slash == 0 ? std::string(a.path) : std::string(a.path.substr(0, slash)) + "/*");
  }
  for (const std::string& p : patterns) router.Handle("GET", p, serve, {.require_auth = false});
  return strobe::OkStatus();
}

}  // namespace strobed::server
