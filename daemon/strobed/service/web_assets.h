#pragma once

// The dashboard (web/), compiled into the binary: web/build.mjs bundles web/src with esbuild at
// build time and generates the definitions below (build tree: service/web_assets_data.cc), so
// `strobe serve` serves the page with no files beside it. Mounted by DashboardComponent
// (dashboard_component.h) with server::MountStaticAssets.
//
// Thread class: thread-safe (constant data).

#include <cstddef>
#include <span>

#include "strobed/server/static_assets.h"

namespace strobed::service {

// "/" (index.html), "/assets/app.js", "/assets/app.css": static storage.
std::span<const server::StaticAsset> WebAssets();

// The page weight: the sum of the assets' gzip sizes (a browser test keeps it ≤ 300 KB).
size_t WebAssetsGzipBytes();

}  // namespace strobed::service
