#pragma once

// strobed::server static assets: serves files compiled into the binary (the dashboard, web/)
// from a Router, so the daemon needs no files beside it and no CDN.
//
//   server::MountStaticAssets(router, service::WebAssets());   // "/" and "/assets/*"
//
// Each asset is stored gzip-compressed. A GET or HEAD of its path answers
//   - 304 Not Modified (no body) when If-None-Match names its ETag (or is "*");
//   - 200 with the gzip bytes and Content-Encoding: gzip when Accept-Encoding accepts gzip
//     (a "gzip" token whose q is not 0);
//   - 200 with the uncompressed bytes otherwise (inflated once, at mount time).
// Every answer carries the ETag, Vary: Accept-Encoding, Cache-Control: no-cache (revalidate
// each time: the names are stable, the content changes with the binary, a 304 is cheap) and
// X-Content-Type-Options: nosniff; HTML also gets a Content-Security-Policy that allows only
// this origin (scripts, styles, connections: the page needs no CDN or other host). Routes
// need no bearer token: the page is public, the data it fetches is not.
//
// Thread class: MountStaticAssets on the control thread; the handlers are thread-safe
// (read-only data).

#include <cstddef>
#include <span>
#include <string_view>

#include "strobe/base/status.h"
#include "strobed/server/router.h"

namespace strobed::server {

struct StaticAsset {
  std::string_view path;          // "/" or "/assets/app.js": the URL path it is served at
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view gzip;          // the content, gzip-compressed
  std::string_view etag;          // strong ETag with its quotes: "\"3f2a...\""
  size_t size = 0;                // uncompressed bytes
};

// Registers a GET route for every asset path; paths under a folder ("/assets/x.js") are served
// by one prefix route ("/assets/*") that answers 404 for names it does not hold. The assets'
// bytes must outlive `router` (static storage). InvalidArgument when an asset does not
// inflate to `size` bytes (a corrupt build).
strobe::Status MountStaticAssets(Router& router, std::span<const StaticAsset> assets);

// Whether an Accept-Encoding header value accepts gzip ("gzip", "x-gzip" or "*" with q > 0).
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace strobed::server
