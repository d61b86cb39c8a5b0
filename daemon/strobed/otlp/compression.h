#pragma once

// Forwarding header: gzip/deflate moved to strobed/base/compression.h (one copy for the
// OTLP receiver, the HTTP client and `strobe bench`). New code includes the base header.

#include "strobed/base/compression.h"

namespace strobed::otlp {

using base::ContentEncoding;
using base::Decompress;
using base::GzipCompress;
using base::ParseContentEncoding;

}  // namespace strobed::otlp
